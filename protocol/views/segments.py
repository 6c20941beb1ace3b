"""How segments and audience previews look on the wire (protocol.md §3.6, campaign.recipients.get)."""
from __future__ import annotations

from engine.audience.service import AudiencePreview
from engine.models import Segment, Subscriber


def segment_row(segment: Segment, subscriber_count: int | None) -> dict:
    # A database row of the legacy server: numbers as numeric strings (v5.5 Segments.Get example).
    row = {
        "SegmentID": str(segment.id),
        "SegmentName": segment.name,
        "SubscriberListID": str(segment.list_id),
        "SegmentOperator": segment.rules_operator,
        "SegmentRules": "",  # the pre-RulesJson rule text; Sendmill stores criteria as RulesJson only
        "SegmentRulesJson": segment.rules_json,
        "CreationDate": segment.created_at.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if subscriber_count is not None:
        row["SubscriberCount"] = str(subscriber_count)
    return row


def recipient_row(subscriber: Subscriber) -> dict:
    return {"SubscriberID": subscriber.id, "EmailAddress": subscriber.email_address,
            "SubscriberListID": subscriber.list_id}


def preview(result: AudiencePreview, only_total: bool) -> dict:
    return {
        "CampaignID": result.campaign_id,
        "TotalRecipients": result.total,
        "Recipients": [] if only_total else [recipient_row(s) for s in result.recipients],
        "CompiledSQL": result.sql,  # Sendmill's addition: the query the audience is computed with
    }
