"""Campaigns.Get's listing (and the console's): the owner's campaigns by status (with the Scheduled bucket),
keyword (name or subject) and tags, in the legacy orderings."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, String, func, or_, select

from engine.accounts.auth import Actor
from engine.models import Campaign, CampaignTag, Email, Tag

# Columns Campaigns.Get may sort by, by their domain name.
SORTABLE = (
    "id", "name", "status", "schedule_type", "send_date", "send_time", "created_at", "last_activity_at",
    "send_process_started_on", "send_process_finished_on", "email_id",
    "total_recipients", "total_sent", "total_failed", "total_opens", "unique_opens", "total_clicks",
    "unique_clicks", "total_unsubscriptions", "total_hard_bounces", "total_soft_bounces",
)


@dataclass
class CampaignQuery:
    status: str = "All"
    keyword: str | None = None
    order_field: str | None = None
    order_type: str | None = None
    offset: int = 0
    limit: int = 0  # 0 = all
    tag_ids: tuple[int, ...] = ()


class CampaignListing:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def search(self, actor: Actor, q: CampaignQuery) -> tuple[list[Campaign], int]:
        """A page of the actor's campaigns, and how many match in all."""
        query = filter_status(select(Campaign).where(Campaign.owner_user_id == actor.id), q.status)
        if q.keyword:
            subject = select(Email.id).where(Email.id == Campaign.email_id,
                                             Email.subject.icontains(q.keyword, autoescape=True))
            query = query.where(or_(Campaign.name.icontains(q.keyword, autoescape=True), subject.exists()))
        if q.tag_ids:
            tagged = select(CampaignTag.campaign_id).join(Tag, Tag.id == CampaignTag.tag_id).where(
                CampaignTag.campaign_id == Campaign.id, CampaignTag.tag_id.in_(q.tag_ids),
                Tag.owner_user_id == actor.id)
            query = query.where(tagged.exists())
        total = self.s.scalar(select(func.count()).select_from(query.subquery()))
        query = query.order_by(*ordering(q.order_field, q.order_type))
        if q.offset:
            query = query.offset(q.offset)
        if q.limit:
            query = query.limit(q.limit)
        return list(self.s.scalars(query)), total


def filter_status(query: Select, status: str) -> Select:
    """Campaigns.Get's CampaignStatus filter (also Campaigns.Export.Post's)."""
    if status == "All":
        return query
    if status == "Scheduled":
        # Not a status but a bucket: armed campaigns waiting for a date (protocol.md §4.1).
        return query.where(Campaign.status == "Ready",
                           Campaign.schedule_type.in_(("Future", "Recursive")))
    return query.where(Campaign.status == status)


def ordering(field: str | None, direction: str | None):
    if field == "sort-by-status":
        # Always descending, as the legacy server does.
        return [Campaign.status.desc(), Campaign.id.desc()]
    descending = (direction or ("DESC" if field is None else "ASC")).upper() == "DESC"
    if field == "sort-by-send-date":
        column = func.coalesce(Campaign.send_process_started_on, Campaign.next_send_at,
                               Campaign.created_at)
    else:
        column = getattr(Campaign, field if field in SORTABLE else "id")
        if isinstance(column.type, String):
            # Case-insensitive, as the legacy MySQL collation sorted, on every backend.
            column = func.lower(column)
    tie = Campaign.id.desc() if descending else Campaign.id.asc()
    return [column.desc() if descending else column.asc(), tie]
