"""How A/B variations look on the wire: Campaign.ABTest.Get's `ABTest`, Campaign.Get's `Options.ABTesting`."""
from __future__ import annotations

from engine.campaigns.ab_reports import ABReport, VariationReport
from engine.campaigns.reports import ratio


def percent(part: int, whole: int) -> float | int:
    """A rate in percent with one decimal (24.1), whole numbers without one (6, 25), as the spec shows them."""
    if not whole:
        return 0
    value = round(part * 100 / whole, 1)
    return int(value) if value == int(value) else value


def _content_type(v: VariationReport) -> str:
    html, plain = bool(v.email.html_content.strip()), bool(v.email.plain_content.strip())
    return "Both" if html and plain else "HTML" if html else "Plain" if plain else ""


def ab_test(report: ABReport) -> dict:
    """Campaign.ABTest.Get's ABTest object."""
    variations = []
    for v in report.variations:
        r = v.result
        variations.append({
            "EmailID": v.email.id, "EmailName": v.email.email_name, "Subject": v.email.subject,
            "FromName": v.email.from_name, "FromEmail": v.email.from_email, "ContentType": _content_type(v),
            "TotalRecipients": r.recipients, "TotalSent": r.sent, "TotalFailed": r.failed,
            "UniqueOpens": r.unique_opens, "UniqueClicks": r.unique_clicks, "Unsubscriptions": r.unsubscriptions,
            "Revenue": "0.00",   # no conversion tracking yet: nothing earned is recorded
            "OpenRate": percent(r.unique_opens, r.sent), "ClickRate": percent(r.unique_clicks, r.sent),
            "CTOR": percent(r.unique_clicks, r.unique_opens),
        })
    winner = {"EmailID": report.winner.id, "EmailName": report.winner.email_name} if report.winner else None
    return {"IsABTest": report.is_ab_test, "Variations": variations, "Winner": winner}


def ab_testing_options(report: ABReport) -> dict:
    """Campaign.Get's Options.ABTesting with SplitABTestStatistics (campaigns.md, "Retrieving A/B Test
    Statistics")."""
    return {"ABTesting": {"Variations": [{
        "EmailID": v.email.id, "Weight": v.weight, "Distribution": v.distribution,
        "TotalRecipient": v.result.recipients, "TotalSent": v.result.sent, "TotalFailed": v.result.failed,
        "UniqueOpens": v.result.unique_opens, "UniqueClicks": v.result.unique_clicks, "TotalRevenue": 0,
        "TotalUnsubscriptions": v.result.unsubscriptions,
        "IsWinner": v.winner,   # Sendmill's: the split test's winner, or the best open rate (ab_reports.py)
    } for v in report.variations]}}


def variation_breakdowns(statistics: dict, report: ABReport) -> None:
    """Campaign.Get's statistics blocks with SplitABTestStatistics: "per-variation breakdowns grouped by
    RelEmailID" (campaigns.md) as a `Variations` list in OpenStatistics, ClickStatistics and
    UnsubscriptionStatistics, each entry the block's own keys for the people sent that email (rates of the
    variation's messages sent: the ledger knows no bounces per variation)."""
    opens, clicks, unsubscriptions = [], [], []
    for v in report.variations:
        r, email_id = v.result, v.email.id
        opens.append({"RelEmailID": email_id, "TotalSent": r.sent, "TotalOpens": v.total_opens,
                      "UniqueOpens": r.unique_opens, "OpenRatio": ratio(r.unique_opens, r.sent)})
        clicks.append({"RelEmailID": email_id, "TotalSent": r.sent, "TotalClicks": v.total_clicks,
                       "UniqueClicks": r.unique_clicks, "ClickRatio": ratio(r.unique_clicks, r.sent),
                       "ClickToOpenRatio": ratio(r.unique_clicks, r.unique_opens)})
        unsubscriptions.append({"RelEmailID": email_id, "TotalSent": r.sent,
                                "TotalUnsubscriptions": r.unsubscriptions,
                                "UnsubscriptionRatio": ratio(r.unsubscriptions, r.sent)})
    statistics["OpenStatistics"]["Variations"] = opens
    statistics["ClickStatistics"]["Variations"] = clicks
    statistics["UnsubscriptionStatistics"]["Variations"] = unsubscriptions
