"""How autoresponders and their send records look on the wire (v5.9.4 autoresponders.md examples)."""
from __future__ import annotations

from engine.automation.activity import WindowStats, status_of
from engine.models import AutoResponder, AutoResponderSend
from engine.models.automation import COUNTER_COLUMNS

# Wire name of each lifetime counter: total_hard_bounces → TotalHardBounces.
COUNTER_NAMES = {column: "".join(part.capitalize() for part in column.split("_")) for column in COUNTER_COLUMNS}
# The counters every row of AutoResponders.Get carries (the documented example's).
ROW_COUNTERS = ("total_sent", "total_opens", "total_clicks", "unique_opens", "unique_clicks")


def repeat_settings(r: AutoResponder) -> dict | None:
    """null when Repeat was never set, {"Status": "Disabled"} once switched off, else the pattern decoded."""
    if r.repeat_status is None:
        return None
    if r.repeat_status != "Enabled":
        return {"Status": r.repeat_status}
    return {"Status": "Enabled", "Pattern": f"R{r.repeat_count}/P{r.repeat_interval}{r.repeat_unit}",
            "Occurrences": r.repeat_count, "Interval": r.repeat_interval, "Unit": r.repeat_unit}


def autoresponder_row(r: AutoResponder) -> dict:
    return {
        "AutoResponderID": r.id, "AutoResponderName": r.name, "RelListID": r.list_id, "RelSegmentID": r.segment_id,
        "RelEmailID": r.email_id or 0, "AutoResponderTriggerType": r.trigger_type,
        "AutoResponderTriggerValue": r.trigger_value, "AutoResponderTriggerValue2": r.trigger_value2,
        "TriggerTimeType": r.trigger_time_type, "TriggerTime": r.trigger_time, "Status": r.status,
        "RepeatSettings": repeat_settings(r),
    }


def revenue(r: AutoResponder) -> str:
    return f"{r.total_revenue or 0:.2f}"  # a string, as the documented examples show it


def listed_row(r: AutoResponder) -> dict:
    return {**autoresponder_row(r), **{COUNTER_NAMES[c]: getattr(r, c) for c in ROW_COUNTERS},
            "TotalRevenue": revenue(r)}


def statistics(r: AutoResponder) -> dict:
    return {**{COUNTER_NAMES[c]: getattr(r, c) for c in COUNTER_COLUMNS}, "TotalRevenue": revenue(r)}


def activity_row(row: AutoResponderSend) -> dict:
    return {"LogID": row.id, "SubscriberID": row.subscriber_id, "Email": row.email_address, "Status": status_of(row),
            "TimeToSend": row.due_at, "SentAt": row.sent_at, "FailureReason": row.last_error or None,
            "Bounced": bool(row.bounce_type), "Opened": row.opens > 0, "Clicked": row.clicks > 0}


def subscriber_activity_row(row: AutoResponderSend, name: str) -> dict:
    """One autoresponder mail in Subscriber.Get's SubscriberActivity."""
    return {"Type": "AutoResponder", "AutoResponderID": row.autoresponder_id, "AutoResponderName": name,
            **{k: v for k, v in activity_row(row).items() if k not in ("SubscriberID", "Email")},
            "Unsubscribed": row.unsubscribed_at is not None}


def window(stats: WindowStats) -> dict:
    return {"Window": {"Days": stats.days, "From": stats.start.isoformat(), "To": stats.end.isoformat()},
            "Counters": {COUNTER_NAMES[name]: value for name, value in stats.counters.items()},
            "LastSentAt": stats.last_sent_at, "NextScheduledAt": stats.next_scheduled_at}
