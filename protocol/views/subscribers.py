"""How a subscriber, an import report and a suppression row look on the wire.

Subscribers are legacy database rows: IDs as numeric strings, dates as "YYYY-MM-DD HH:MM:SS"
(UTC; "" when never set), and one `CustomField<ID>` key per custom field of the list.
"""
from __future__ import annotations

from engine.audience.importer import ImportReport
from engine.models import Subscriber, Suppression

MAX_LISTED_FAILURES = 100


def _when(value):
    return value if value is not None else ""


def subscriber_row(s, values: dict[int, str], field_ids: list[int]) -> dict:
    """`s`: a Subscriber, or a row of its columns by the same names (Subscribers.Get reads tuples)."""
    row = {
        "SubscriberID": str(s.id), "EmailAddress": s.email_address, "SubscriptionStatus": s.subscription_status,
        "BounceType": s.bounce_type, "SubscriptionDate": _when(s.subscription_date),
        "SubscriptionIP": s.subscription_ip, "UnsubscriptionDate": _when(s.unsubscription_date),
        "UnsubscriptionIP": s.unsubscription_ip, "OptInDate": _when(s.opt_in_date), "Source": s.source,
        "SourceRef": s.source_ref, "RelListID": str(s.list_id),
    }
    for field_id in field_ids:
        row[f"CustomField{field_id}"] = values.get(field_id, "")
    return row


def subscribed(subscriber: Subscriber, redirect_url: str) -> dict:
    """Subscriber.Subscribe's answer: the ID twice, as both legacy readers expect (protocol.md §9.2 item 15)."""
    return {
        "SubscriberID": subscriber.id, "RedirectURL": redirect_url,
        "Subscriber": {"SubscriberID": subscriber.id, "EmailAddress": subscriber.email_address,
                       "SubscriptionStatus": subscriber.subscription_status},
    }


def import_report(report: ImportReport) -> dict:
    return {
        "TotalData": report.total_rows, "TotalImported": report.imported, "TotalUpdated": report.updated,
        "TotalDuplicates": report.duplicates, "TotalFailed": report.failed,
        "FailedData": [{"Row": f.row, "EmailAddress": f.email, "Reason": f.reason}
                       for f in report.failures[:MAX_LISTED_FAILURES]],
    }


def suppression_rows(rows: list[Suppression]):
    """Suppression.Browse's map keyed by address; an empty PHP array ([]) when there is none."""
    if not rows:
        return []
    return {r.email_address or r.email_normalized: {
        "SuppressionID": str(r.id), "RelListID": str(r.list_id or 0), "RelOwnerUserID": str(r.owner_user_id),
        "EmailAddress": r.email_address or r.email_normalized, "SuppressionSource": r.source, "Reason": r.reason,
    } for r in rows}
