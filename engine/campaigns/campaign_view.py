"""A campaign read to be shown (Campaign.Get): its columns, its recipient entries, whether it has A/B
variations and its ledger counts, by one prebuilt statement run straight through the driver
(engine/hot_sql.py), the owner checked in the statement. Loading the 60-column row and its two relations
through the ORM was about half of a Campaign.Get; the view carries the same attribute names, so the wire shapes read it like a Campaign."""
from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import bindparam, exists, select

from engine.campaigns.reports import LedgerCounts, ledger_counts_select
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
    order) and `variations` (truthy when the campaign has A/B variations) as on a Campaign; `ledger`, its
    LedgerCounts (engine/campaigns/reports.py)."""


def _campaign_statement(*, owned: bool) -> HotStatement:
    """The campaign, its ledger counts and its recipient entries in one statement (one round trip on a
    server database; it was three): a row per recipient entry in entry order, the campaign's columns and
    counts repeated on each (a campaign has a handful of entries), one row with empty entry columns when it
    has none."""
    campaign_id = bindparam("campaign_id")
    ledger = ledger_counts_select([campaign_id]).subquery("ledger")
    has_variations = exists().where(CampaignVariation.campaign_id == Campaign.id).label("has_variations")
    query = (select(*(getattr(Campaign, name) for name in VIEW_ATTRIBUTES), has_variations,
                    ledger.c.delivered.label("ledger_delivered"), ledger.c.unknown.label("ledger_unknown"),
                    CampaignRecipient.id.label("entry_id"), CampaignRecipient.list_id.label("entry_list_id"),
                    CampaignRecipient.segment_id.label("entry_segment_id"),
                    CampaignRecipient.excluded.label("entry_excluded"))
             .select_from(Campaign)
             .outerjoin(ledger, ledger.c.campaign_id == Campaign.id)
             .outerjoin(CampaignRecipient, CampaignRecipient.campaign_id == Campaign.id)
             .where(Campaign.id == campaign_id)
             .order_by(CampaignRecipient.id))
    if owned:
        query = query.where(Campaign.owner_user_id == bindparam("owner_id"))
    return HotStatement(query)


_OWN_CAMPAIGN = _campaign_statement(owned=True)
_ANY_CAMPAIGN = _campaign_statement(owned=False)   # an administrator's view
_CAMPAIGN_COLUMNS = len(VIEW_ATTRIBUTES)


def campaign_view(conn, campaign_id: int, *, owner_id: int | None) -> CampaignView | None:
    """The campaign as `owner_id` may see it (None: an administrator, who sees every campaign); None when
    there is no such campaign or it is another user's."""
    if owner_id is None:
        rows = _ANY_CAMPAIGN.read(conn, {"campaign_id": campaign_id})
    else:
        rows = _OWN_CAMPAIGN.read(conn, {"campaign_id": campaign_id, "owner_id": owner_id})
    if not rows:
        return None
    first = rows[0]
    has_variations, delivered, unknown = first[_CAMPAIGN_COLUMNS:_CAMPAIGN_COLUMNS + 3]
    recipients = [SimpleNamespace(list_id=row[-3], segment_id=row[-2], excluded=row[-1])
                  for row in rows if row[-4] is not None]
    return CampaignView(**dict(zip(VIEW_ATTRIBUTES, first)), recipients=recipients,
                        variations=bool(has_variations), ledger=LedgerCounts(delivered or 0, unknown or 0))
