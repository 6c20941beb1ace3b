"""Mailing automated reports: `send_due_reports()`, run by `sendmill tick` and `sendmill worker`.

Exactly once per (report, period), under any number of concurrent ticks: a tick first moves the
report's `next_run_at` forward by compare-and-set from the value it read (of two ticks one wins), then
inserts the period's row in `automated_report_runs`, whose UNIQUE key refuses a second one, and commits
both before the relay is contacted. A tick killed after that commit leaves the period `sending`: it is
never mailed again (at most once, like campaign mail; README "Automated reports").

The mail is an HTML summary (with a plain-text part) of the owner's campaigns that started sending in
the period — only those carrying one of the report's campaign tags when FilterType is `tags` — with
their figures to date, From the site's sender domain through SENDMILL_SMTP_URL like other account mail.
"""
from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from engine.campaigns.automated_reports import Period, last_complete_period, local_midnight, next_run, zone_of
from engine.delivery.one_off import open_transport
from engine.models import Campaign, CampaignTag, SendInstance, User
from engine.models.reports import AutomatedReport, AutomatedReportRun
from engine.senders.identity import site_sender_domain

log = logging.getLogger("sendmill.reports")

COLUMNS = (("Sent", "mails_sent"), ("Delivered", "delivered"), ("Opened", "opened"), ("Clicked", "clicked"),
           ("Bounced", "bounced"), ("Complaints", "complained"))


@dataclass
class ReportMailSummary:
    sent: int = 0      # reports mailed (to at least one recipient)
    failed: int = 0    # reports the relay refused for every recipient
    skipped: int = 0   # due reports another tick took, or whose period ended before they existed

    def line(self) -> str:
        return f"automated reports: {self.sent} mailed, {self.failed} failed, {self.skipped} skipped"


def send_due_reports(engine, transport=None, *, limit: int = 100) -> ReportMailSummary:
    """Mail every enabled report whose period is over (at most `limit` per call)."""
    summary = ReportMailSummary()
    now = engine.clock()
    with engine.uow() as uow:
        due = list(uow.session.scalars(select(AutomatedReport.id).where(
            AutomatedReport.status == "enabled", AutomatedReport.next_run_at <= now)
            .order_by(AutomatedReport.next_run_at, AutomatedReport.id).limit(limit)))
    if not due:
        return summary
    own_transport = transport is None
    transport = transport or open_transport(engine.settings)
    try:
        for report_id in due:
            _send_one(engine, transport, report_id, now, summary)
    finally:
        if own_transport:
            transport.close()
    return summary


def _send_one(engine, transport, report_id: int, now, summary: ReportMailSummary) -> None:
    with engine.uow() as uow:
        s = uow.session
        report = s.get(AutomatedReport, report_id)
        if report is None or report.status != "enabled" or report.next_run_at > now:
            return
        zone = zone_of(s.get(User, report.owner_user_id))
        period = last_complete_period(report.frequency, now, zone)
        moved = s.execute(update(AutomatedReport).where(
            AutomatedReport.id == report_id, AutomatedReport.next_run_at == report.next_run_at)
            .values(next_run_at=next_run(report.frequency, now, zone)).execution_options(synchronize_session=False))
        if moved.rowcount != 1:
            summary.skipped += 1   # another tick moved it first
            return
        if local_midnight(period.end, zone) <= report.created_at:
            uow.commit()           # created after that period: its first period is the current one
            summary.skipped += 1
            return
        run = AutomatedReportRun(report_id=report_id, period_start=period.start, period_end=period.end,
                                 state="sending", created_at=now)
        try:
            with s.begin_nested():
                s.add(run)
                s.flush()
        except IntegrityError:
            uow.commit()
            summary.skipped += 1
            return
        uow.commit()               # claimed: from here on this period is never mailed by anyone else
        message = compose(engine.settings, now, report, period, zone, _rows(uow, report, period, zone))
        refused = []
        for recipient in report.recipient_emails.split(","):
            outcome = _deliver(transport, message, recipient)
            if outcome:
                refused.append(f"{recipient}: {outcome}")
        accepted = len(refused) < len(report.recipient_emails.split(","))
        s.execute(update(AutomatedReportRun).where(AutomatedReportRun.id == run.id).values(
            state="sent" if accepted else "failed", detail="; ".join(refused)[:2000]))
        s.execute(update(AutomatedReport).where(AutomatedReport.id == report_id).values(last_run_at=now))
        uow.commit()
        if accepted:
            summary.sent += 1
        else:
            summary.failed += 1
            log.error("automated report %s for %s: refused for every recipient (%s)", report_id, period.start,
                      "; ".join(refused))


def _deliver(transport, message: tuple[str, EmailMessage], recipient: str) -> str:
    """Hand the report to the relay for one recipient; "" when accepted, else why not."""
    from engine.delivery.smtp_transaction import SENT

    envelope_from, mail = message
    del mail["To"]
    mail["To"] = recipient
    try:
        result = transport.send(envelope_from, recipient, mail.as_bytes())
    except Exception as exc:  # noqa: BLE001 - one recipient's failure must not lose the others
        return f"relay error: {exc}"
    return "" if result.status == SENT else f"{result.code or ''} {result.text}".strip()


def _rows(uow, report: AutomatedReport, period: Period, zone) -> list[tuple[str, object]]:
    """(campaign name, figures) of the campaigns that started sending in the period."""
    s = uow.session
    start, end = local_midnight(period.start, zone), local_midnight(period.end, zone)
    started = select(SendInstance.campaign_id).where(SendInstance.started_at >= start,
                                                               SendInstance.started_at < end)
    query = select(Campaign).where(Campaign.owner_user_id == report.owner_user_id, Campaign.id.in_(started))
    if report.filter_type == "tags":
        tags = [int(t) for t in report.filter_tags.split(",") if t]
        query = query.where(Campaign.id.in_(select(CampaignTag.campaign_id).where(CampaignTag.tag_id.in_(tags))))
    campaigns = list(s.scalars(query.order_by(Campaign.id)))
    figures = uow.campaign_reports.figures(campaigns) if campaigns else {}
    return [(c.name, figures[c.id]) for c in campaigns]


def compose(settings, now, report: AutomatedReport, period: Period, zone, rows) -> tuple[str, EmailMessage]:
    """(envelope sender, message) of one report; the To header is set per recipient."""
    domain = site_sender_domain(settings)
    last_day = period.end - timedelta(days=1)
    span = period.start.isoformat() if report.frequency == "daily" else \
        f"{period.start.isoformat()} to {last_day.isoformat()}"
    title = f"{report.name}: campaign report for {span}"
    message = EmailMessage(policy=SMTP)
    message["From"] = f"Sendmill Reports <no-reply@{domain}>"
    message["To"] = ""
    message["Subject"] = title
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_text(title, rows))
    message.add_alternative(_html(title, rows, getattr(zone, "key", "UTC")), subtype="html")
    return f"no-reply@{domain}", message


def _totals(rows) -> list[int]:
    return [sum(getattr(f, attr) for _, f in rows) for _, attr in COLUMNS]


def _text(title: str, rows) -> str:
    if not rows:
        return f"{title}\n\nNo campaign started sending in this period.\n"
    lines = [title, "", "Campaign | " + " | ".join(name for name, _ in COLUMNS)]
    lines += [f"{name} | " + " | ".join(str(getattr(f, attr)) for _, attr in COLUMNS) for name, f in rows]
    lines.append("Total | " + " | ".join(str(v) for v in _totals(rows)))
    return "\n".join(lines) + "\n"


def _html(title: str, rows, zone_name: str) -> str:
    head = "".join(f"<th>{name}</th>" for name, _ in COLUMNS)
    body = "".join(f"<tr><td>{html.escape(name)}</td>" + "".join(f"<td>{getattr(f, attr)}</td>" for _, attr in COLUMNS)
                   + "</tr>" for name, f in rows)
    if rows:
        body += "<tr><th>Total</th>" + "".join(f"<th>{v}</th>" for v in _totals(rows)) + "</tr>"
    else:
        body = f'<tr><td colspan="{len(COLUMNS) + 1}">No campaign started sending in this period.</td></tr>'
    return (f"<html><body><h1>{html.escape(title)}</h1>"
            f"<p>Campaigns that started sending in the period (days in {html.escape(zone_name)}), "
            "with their figures to date.</p>"
            f'<table border="1" cellpadding="4"><tr><th>Campaign</th>{head}</tr>{body}</table></body></html>')
