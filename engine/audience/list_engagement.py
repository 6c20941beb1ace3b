"""How a list's subscribers engage, each figure one GROUP BY over the tracking table joined to the list:
List.GetEngagementTiers, List.GetSendTimeHeatmap, List.GetESPBreakdown, List.GetCTRRetentionMatrix."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, distinct, func, literal, select

from engine.accounts.auth import Actor
from engine.audience.list_analytics import DELIVERABLE
from engine.audience.sqlfuncs import email_domain, time_bucket
from engine.models import Campaign, CampaignRecipient, Subscriber
from engine.models.activity import SubscriberActivity

TIERS = ("Champions", "Engaged", "Passive", "Lapsed", "Dormant", "NeverEngaged")


@dataclass(frozen=True)
class TierCutoffs:
    champion_days: int = 14
    engaged_days: int = 30
    passive_end_days: int = 60
    lapsed_end_days: int = 120
    never_engaged_joined_days: int = 30


@dataclass(frozen=True)
class CohortRow:
    campaign_id: int
    name: str
    sent_at: datetime | None
    base_clickers: int
    retention: list[float]


class ListEngagement:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def tiers(self, actor: Actor, list_id: int, c: TierCutoffs) -> dict[str, int]:
        """Deliverable subscribers by their last open (and click): a strict partition; recent never-openers
        are in no tier."""
        list_row = self.uow.lists.get(actor, list_id)
        now = self.uow.clock()
        ago = lambda days: now - timedelta(days=days)  # noqa: E731
        a = SubscriberActivity
        last = (select(Subscriber.id.label("sid"), Subscriber.subscription_date.label("joined"),
                       func.max(case((a.kind == "open", a.occurred_at))).label("opened"),
                       func.max(case((a.kind == "click", a.occurred_at))).label("clicked"))
                .outerjoin(a, and_(a.subscriber_id == Subscriber.id, a.kind.in_(("open", "click"))))
                .where(Subscriber.list_id == list_row.id, DELIVERABLE).group_by(Subscriber.id, Subscriber.subscription_date)
                .subquery())
        tier = case(
            (and_(last.c.opened >= ago(c.champion_days), last.c.clicked >= ago(c.champion_days)), "Champions"),
            (last.c.opened >= ago(c.engaged_days), "Engaged"),
            (last.c.opened >= ago(c.passive_end_days), "Passive"),
            (last.c.opened >= ago(c.lapsed_end_days), "Lapsed"),
            (last.c.opened.isnot(None), "Dormant"),
            (last.c.joined < ago(c.never_engaged_joined_days), "NeverEngaged"),
            else_=literal("")).label("tier")
        found = dict(self.s.execute(select(tier, func.count()).group_by(tier)).all())
        return {name: found.get(name, 0) for name in TIERS}

    def heatmap(self, actor: Actor, list_id: int, days: int, event: str) -> list[list[int]]:
        """Opens or clicks of the list's subscribers by weekday (Monday first) and UTC hour."""
        list_row = self.uow.lists.get(actor, list_id)
        a = SubscriberActivity
        hour = time_bucket(a.occurred_at, "hour")
        grid = [[0] * 24 for _ in range(7)]
        for bucket, n in self.s.execute(
                select(hour, func.count()).join(Subscriber, Subscriber.id == a.subscriber_id)
                .where(Subscriber.list_id == list_row.id, a.kind == event,
                       a.occurred_at >= self.uow.clock() - timedelta(days=days)).group_by(hour)):
            moment = datetime.strptime(bucket, "%Y-%m-%d %H")
            grid[moment.weekday()][moment.hour] += n
        return grid

    def domains(self, actor: Actor, list_id: int, event: str) -> list[tuple[str, int]]:
        """People per email domain (most first): every subscriber, openers, clickers or unsubscribed ones."""
        list_row = self.uow.lists.get(actor, list_id)
        domain = email_domain(Subscriber.email_normalized)
        query = select(domain, func.count(distinct(Subscriber.id))).where(Subscriber.list_id == list_row.id)
        if event in ("opens", "clicks"):
            a = SubscriberActivity
            query = query.join(a, a.subscriber_id == Subscriber.id).where(a.kind == event[:-1])
        elif event == "unsubscriptions":
            query = query.where(Subscriber.subscription_status == "Unsubscribed")
        rows = self.s.execute(query.group_by(domain).order_by(func.count(distinct(Subscriber.id)).desc(), domain))
        return [(d, n) for d, n in rows]

    def ctr_retention(self, actor: Actor, list_id: int, last_n: int, depth: int) -> list[CohortRow]:
        """The list's last `last_n` sent campaigns, oldest first, each with its clickers (of this list) and
        the share of them who clicked each of the next campaigns."""
        list_row = self.uow.lists.get(actor, list_id)
        sent_to_list = select(CampaignRecipient.campaign_id).where(
            CampaignRecipient.campaign_id == Campaign.id, CampaignRecipient.list_id == list_row.id,
            CampaignRecipient.excluded.is_(False))
        campaigns = list(self.s.execute(
            select(Campaign.id, Campaign.name, Campaign.send_process_started_on)
            .where(Campaign.owner_user_id == actor.id, Campaign.status == "Sent", sent_to_list.exists())
            .order_by(Campaign.send_process_started_on.desc(), Campaign.id.desc()).limit(last_n)))[::-1]
        ids = [cid for cid, _, _ in campaigns]
        if not ids:
            return []
        clicks = (select(SubscriberActivity.campaign_id, SubscriberActivity.subscriber_id).distinct()
                  .join(Subscriber, Subscriber.id == SubscriberActivity.subscriber_id)
                  .where(Subscriber.list_id == list_row.id, SubscriberActivity.kind == "click",
                         SubscriberActivity.campaign_id.in_(ids)).subquery())
        later = clicks.alias("later")
        # Every pair (a campaign, a campaign at or after it) with the people who clicked both: one GROUP BY.
        overlap = {(base, other): n for base, other, n in self.s.execute(
            select(clicks.c.campaign_id, later.c.campaign_id, func.count())
            .join(later, later.c.subscriber_id == clicks.c.subscriber_id)
            .group_by(clicks.c.campaign_id, later.c.campaign_id))}
        rows = []
        for i, (cid, name, sent_at) in enumerate(campaigns):
            base = overlap.get((cid, cid), 0)
            following = ids[i:i + depth]
            rows.append(CohortRow(cid, name, sent_at, base, [
                round(overlap.get((cid, other), 0) * 100 / base, 1) if base else 0.0 for other in following]))
        return rows



