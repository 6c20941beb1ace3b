"""Sent-campaign reports read from `subscriber_activity`: clicks per link or per person, who did what
(Campaign.LinkClicks.Get, Campaign.Recipients.Activity.Get), and the status counts of the Campaigns
sidebar (Campaigns.Counts). Every figure is one GROUP BY; pages are OFFSET/LIMIT over its result.

Sendmill records no bot flag on opens and clicks, so nothing is excluded as "automated"; forwards and
conversions are not tracked at all, so those activities list nobody (README "Reports and exports").
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, select

from engine.accounts.auth import Actor
from engine.models import Campaign, Subscriber, SubscriberList
from engine.models.activity import SubscriberActivity
from engine.models.campaigns import CampaignTag

# Campaign.Recipients.Activity.Get's activity names → the stored kind (None: never recorded).
RECIPIENT_ACTIVITIES = {"open": "open", "click": "click", "bounce": "bounce", "unsubscription": "unsubscribe",
                        "forward": None, "conversion": None}
CAMPAIGN_STATUSES = ("Draft", "Ready", "Sending", "Paused", "Pending Approval", "Sent", "Failed")


@dataclass(frozen=True)
class LinkClicks:
    url: str
    total: int
    unique: int


@dataclass(frozen=True)
class SubscriberClicks:
    subscriber_id: int
    list_id: int
    email: str
    total: int


@dataclass(frozen=True)
class RecipientActivity:
    subscriber_id: int
    list_id: int
    list_name: str
    email: str
    count: int
    last_at: datetime
    bounce_type: str


class CampaignActivityReports:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def link_clicks(self, actor: Actor, campaign_id: int, *, offset: int, limit: int) -> tuple[list[LinkClicks], int]:
        """Clicks per link, most clicked first: total clicks and the people who clicked."""
        campaign = self.uow.campaigns.get(actor, campaign_id)
        a = SubscriberActivity
        clicks = and_(a.campaign_id == campaign.id, a.kind == "click")
        total = self.s.scalar(select(func.count(func.distinct(a.link_url))).where(clicks))
        query = (select(a.link_url, func.count(), func.count(func.distinct(a.subscriber_id))).where(clicks)
                 .group_by(a.link_url).order_by(func.count().desc(), a.link_url).offset(offset).limit(limit))
        return [LinkClicks(url, n, people) for url, n, people in self.s.execute(query)], total

    def subscriber_clicks(self, actor: Actor, campaign_id: int, *, offset: int,
                          limit: int) -> tuple[list[SubscriberClicks], int]:
        """Clicks per person, most clicks first."""
        campaign = self.uow.campaigns.get(actor, campaign_id)
        a = SubscriberActivity
        clicks = and_(a.campaign_id == campaign.id, a.kind == "click")
        total = self.s.scalar(select(func.count(func.distinct(a.subscriber_id))).where(clicks))
        per_person = (select(a.subscriber_id, func.count().label("n")).where(clicks)
                      .group_by(a.subscriber_id).subquery())
        query = (select(Subscriber.id, Subscriber.list_id, Subscriber.email_address, per_person.c.n)
                 .join(per_person, per_person.c.subscriber_id == Subscriber.id)
                 .order_by(per_person.c.n.desc(), Subscriber.id).offset(offset).limit(limit))
        return [SubscriberClicks(*row) for row in self.s.execute(query)], total

    def recipients(self, actor: Actor, campaign_id: int, activity: str, *, keyword: str | None, offset: int,
                   limit: int) -> tuple[list[RecipientActivity], int]:
        """People with `activity` on the campaign, most recent first, optionally only addresses containing
        `keyword` (before paging, so the total is the filtered one)."""
        campaign = self.uow.campaigns.get(actor, campaign_id)
        kind = RECIPIENT_ACTIVITIES[activity]
        if kind is None:
            return [], 0
        a = SubscriberActivity
        per_person = (select(a.subscriber_id, func.count().label("n"), func.max(a.occurred_at).label("last_at"))
                      .where(a.campaign_id == campaign.id, a.kind == kind).group_by(a.subscriber_id).subquery())
        query = (select(Subscriber.id, Subscriber.list_id, SubscriberList.name, Subscriber.email_address,
                        per_person.c.n, per_person.c.last_at, Subscriber.bounce_type)
                 .join(per_person, per_person.c.subscriber_id == Subscriber.id)
                 .join(SubscriberList, SubscriberList.id == Subscriber.list_id))
        if keyword:
            query = query.where(Subscriber.email_address.icontains(keyword, autoescape=True))
        total = self.s.scalar(select(func.count()).select_from(query.subquery()))
        rows = self.s.execute(query.order_by(per_person.c.last_at.desc(), Subscriber.id.desc())
                              .offset(offset).limit(limit))
        return [RecipientActivity(*row) for row in rows], total

    def status_counts(self, actor: Actor, *, tag_ids: list[int], date_from: date | None,
                      date_to: date | None) -> tuple[dict[str, int], dict[str, int]]:
        """(Counts by status, Buckets of the sidebar) of the owner's campaigns, in one GROUP BY."""
        c = Campaign
        query = select(c.status, c.schedule_type, func.count()).where(c.owner_user_id == actor.id)
        if tag_ids:
            query = query.where(select(CampaignTag.campaign_id).where(
                CampaignTag.campaign_id == c.id, CampaignTag.tag_id.in_(tag_ids)).exists())
        if date_from is not None:
            query = query.where(c.send_date >= date_from)
        if date_to is not None:
            query = query.where(c.send_date <= date_to)
        counts = dict.fromkeys(CAMPAIGN_STATUSES, 0)
        buckets = dict.fromkeys(("Sent", "Outbox", "Draft", "Scheduled", "Paused", "Pending Approval", "Failed"), 0)
        for status, schedule_type, n in self.s.execute(query.group_by(c.status, c.schedule_type)):
            counts[status] = counts.get(status, 0) + n
            buckets[_bucket(status, schedule_type)] += n
        counts["Total"] = sum(counts.values())
        buckets["Total"] = sum(buckets.values())
        return counts, buckets


def _bucket(status: str, schedule_type: str) -> str:
    if status == "Ready":
        return {"Immediate": "Outbox", "Future": "Scheduled", "Recursive": "Scheduled"}.get(schedule_type, "Draft")
    return {"Sending": "Outbox"}.get(status, status)


