"""A campaign read to be shown (Campaign.Get): its columns, its recipient entries and whether it has A/B
variations, by prebuilt statements run straight through the driver (engine/hot_sql.py), the owner checked
in the statement. Loading the 60-column row and its two relations through the ORM was about half of a
Campaign.Get; the view carries the same attribute names, so the wire shapes read it like a Campaign."""
from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import bindparam, exists, select

from engine.hot_sql import HotStatement
from engine.models import Campaign, CampaignRecipient, CampaignVariation

# Every attribute the Campaign.Get answer reads (protocol/views/campaigns.py: the wire columns, the
# statistics and the throughput).
VIEW_ATTRIBUTES = (
    "id", "owner_user_id", "name", "status", "status_reason", "email_id", "original_campaign_id",
    "schedule_type", "send_date", "send_time", "send_timezone", "schedule_rec_days_of_week",
    "schedule_rec_days_of_month", "schedule_rec_months", "schedule_rec_hours", "schedule_rec_minutes",
    "schedule_rec_send_max_instance", "schedule_rec_sent_instances", "next_send_at", "send_process_started_on",
    "send_process_finished_on", "created_at", "last_activity_at", "total_recipients", "total_sent",
    "total_failed", "total_delivered", "total_opens", "unique_opens", "total_clicks", "unique_clicks",
    "total_forwards", "unique_forwards", "total_views_on_browser", "unique_views_on_browser",
    "total_unsubscriptions", "total_hard_bounces", "total_soft_bounces", "total_complaints",
    "approval_user_explanation", "google_analytics_domains", "publish_on_rss", "s2s_enabled",
    "rules_json_bundle",
)


class CampaignView(SimpleNamespace):
    """The campaign's VIEW_ATTRIBUTES; `recipients` (list_id, segment_id, excluded per entry, in entry
    order) and `variations` (truthy when the campaign has A/B variations) as on a Campaign."""


def _campaign_statement(*, owned: bool) -> HotStatement:
    has_variations = exists().where(CampaignVariation.campaign_id == Campaign.id).label("has_variations")
    query = select(*(getattr(Campaign, name) for name in VIEW_ATTRIBUTES), has_variations).where(
        Campaign.id == bindparam("campaign_id"))
    if owned:
        query = query.where(Campaign.owner_user_id == bindparam("owner_id"))
    return HotStatement(query)


_OWN_CAMPAIGN = _campaign_statement(owned=True)
_ANY_CAMPAIGN = _campaign_statement(owned=False)   # an administrator's view
_RECIPIENTS = HotStatement(
    select(CampaignRecipient.list_id, CampaignRecipient.segment_id, CampaignRecipient.excluded)
    .where(CampaignRecipient.campaign_id == bindparam("campaign_id")).order_by(CampaignRecipient.id))


def campaign_view(conn, campaign_id: int, *, owner_id: int | None) -> CampaignView | None:
    """The campaign as `owner_id` may see it (None: an administrator, who sees every campaign); None when
    there is no such campaign or it is another user's."""
    if owner_id is None:
        row = _ANY_CAMPAIGN.first(conn, {"campaign_id": campaign_id})
    else:
        row = _OWN_CAMPAIGN.first(conn, {"campaign_id": campaign_id, "owner_id": owner_id})
    if row is None:
        return None
    values = row._asdict()
    has_variations = values.pop("has_variations")
    recipients = [SimpleNamespace(list_id=list_id, segment_id=segment_id, excluded=excluded)
                  for list_id, segment_id, excluded in _RECIPIENTS.read(conn, {"campaign_id": campaign_id})]
    return CampaignView(**values, recipients=recipients, variations=bool(has_variations))
