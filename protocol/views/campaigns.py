"""How a campaign looks on the wire (protocol.md §4.4)."""
from __future__ import annotations

from engine.campaigns.reports import LedgerCounts, ratio
from engine.models import Campaign

NEVER_SENT = LedgerCounts()

# Wire name → Campaign attribute, in the order the legacy object lists them. Also the
# whitelist of Campaigns.Get's OrderField.
WIRE_COLUMNS = {
    "CampaignID": "id",
    "RelOwnerUserID": "owner_user_id",
    "CampaignName": "name",
    "CampaignStatus": "status",
    "CampaignStatusReason": "status_reason",
    "RelEmailID": "email_id",
    "OriginalCampaignID": "original_campaign_id",
    "ScheduleType": "schedule_type",
    "SendDate": "send_date",
    "SendTime": "send_time",
    "SendTimeZone": "send_timezone",
    "ScheduleRecDaysOfWeek": "schedule_rec_days_of_week",
    "ScheduleRecDaysOfMonth": "schedule_rec_days_of_month",
    "ScheduleRecMonths": "schedule_rec_months",
    "ScheduleRecHours": "schedule_rec_hours",
    "ScheduleRecMinutes": "schedule_rec_minutes",
    "ScheduleRecSendMaxInstance": "schedule_rec_send_max_instance",
    "ScheduleRecSentInstances": "schedule_rec_sent_instances",
    "NextSendDateTime": "next_send_at",
    "SendProcessStartedOn": "send_process_started_on",
    "SendProcessFinishedOn": "send_process_finished_on",
    "CreateDateTime": "created_at",
    "LastActivityDateTime": "last_activity_at",
    "TotalRecipients": "total_recipients",
    "TotalSent": "total_sent",
    "TotalFailed": "total_failed",
    "TotalDelivered": "total_delivered",
    "TotalOpens": "total_opens",
    "UniqueOpens": "unique_opens",
    "TotalClicks": "total_clicks",
    "UniqueClicks": "unique_clicks",
    "TotalForwards": "total_forwards",
    "UniqueForwards": "unique_forwards",
    "TotalViewsOnBrowser": "total_views_on_browser",
    "UniqueViewsOnBrowser": "unique_views_on_browser",
    "TotalUnsubscriptions": "total_unsubscriptions",
    "TotalHardBounces": "total_hard_bounces",
    "TotalSoftBounces": "total_soft_bounces",
    "TotalComplaints": "total_complaints",
    "ApprovalUserExplanation": "approval_user_explanation",
    "GoogleAnalyticsDomains": "google_analytics_domains",
    "PublishOnRSS": "publish_on_rss",
    "S2SEnabled": "s2s_enabled",
    "RulesJsonBundle": "rules_json_bundle",
}
SORT_FIELDS = {wire.lower(): attr for wire, attr in WIRE_COLUMNS.items()}


def campaign_row(c: Campaign, ledger: LedgerCounts = NEVER_SENT) -> dict:
    """`ledger`: what the delivery ledger says (TotalDelivered counts people as Campaign.Statistics.List's
    Delivered does); a campaign nothing was sent for has no ledger."""
    row = {wire: _value(getattr(c, attr)) for wire, attr in WIRE_COLUMNS.items()}
    row["TotalDelivered"] = ledger.delivered
    row["RelEmailID"] = 0 if c.variations else (c.email_id or 0)   # 0 for an A/B campaign (campaigns.md)
    row["ScheduleRecSendMaxInstance"] = c.schedule_rec_send_max_instance or 0
    row["HardBounceRatio"] = ratio(c.total_hard_bounces, c.total_sent)
    row["SoftBounceRatio"] = ratio(c.total_soft_bounces, c.total_sent)
    included = [r for r in c.recipients if not r.excluded]
    excluded = [r for r in c.recipients if r.excluded]
    row["RecipientListsAndSegments"] = ",".join(f"{r.list_id}:{r.segment_id}" for r in included)
    row["Exclude_RecipientListsAndSegments"] = ",".join(f"{r.list_id}:{r.segment_id}" for r in excluded)
    row["RecipientLists"] = sorted({r.list_id for r in included})
    row["RecipientSegments"] = sorted({r.segment_id for r in included if r.segment_id})
    return row


def _value(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return value


def statistics(c: Campaign, ledger: LedgerCounts = NEVER_SENT) -> dict:
    """The Statistics block of Campaign.Get: the campaign's counters, and (Sendmill's) DeliveryStatistics
    from the ledger: people delivered, and people whose message is in doubt (`unknown`)."""
    delivered = c.total_sent - c.total_hard_bounces - c.total_soft_bounces
    base = max(delivered, 0)
    return {
        "OpenStatistics": {"TotalOpens": c.total_opens, "UniqueOpens": c.unique_opens,
                           "OpenRatio": ratio(c.unique_opens, base)},
        "ClickStatistics": {"TotalClicks": c.total_clicks, "UniqueClicks": c.unique_clicks,
                            "ClickRatio": ratio(c.unique_clicks, base),
                            "ClickToOpenRatio": ratio(c.unique_clicks, c.unique_opens)},
        "UnsubscriptionStatistics": {"TotalUnsubscriptions": c.total_unsubscriptions,
                                     "UnsubscriptionRatio": ratio(c.total_unsubscriptions, base)},
        "BounceStatistics": {"TotalHardBounces": c.total_hard_bounces, "TotalSoftBounces": c.total_soft_bounces,
                             "HardBounceRatio": ratio(c.total_hard_bounces, c.total_sent),
                             "SoftBounceRatio": ratio(c.total_soft_bounces, c.total_sent)},
        "ComplaintStatistics": {"TotalComplaints": c.total_complaints,
                                "ComplaintRatio": ratio(c.total_complaints, base)},
        "ForwardStatistics": {"TotalForwards": c.total_forwards, "UniqueForwards": c.unique_forwards},
        "BrowserViewStatistics": {"TotalViewsOnBrowser": c.total_views_on_browser,
                                  "UniqueViewsOnBrowser": c.unique_views_on_browser},
        "DeliveryStatistics": {"TotalDelivered": ledger.delivered, "TotalUnknown": ledger.unknown},
    }


def tags(c: Campaign) -> list[str]:
    # Tag names, as the binding Campaign.Get example shows ("Tags": ["Summer", "Sale"]).
    return [t.name for t in c.tags]


def as_row_strings(row: dict) -> dict:
    """Campaigns.Get returns database rows: numbers as numeric strings (legacy wire shape)."""
    return {k: (str(v) if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in row.items()}
