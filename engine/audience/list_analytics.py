"""Per-list figures of the v5.9.4 Reports tab, each a GROUP BY over what Sendmill stores (README "Reports
and exports" lists what each figure reads): Lists.Stats, List.GetActivitySeries, List.GetBounceTrend,
List.GetSubscriberStatusBreakdown, List.GetTenureDistribution, List.GetSourceBreakdown.

Where things happened comes from the subscriber rows (subscription and unsubscription dates, source),
the delivery ledger (a message `sent` to a subscriber of the list) and the tracking table (opens, clicks,
bounces, complaints of the list's subscribers). Days are UTC days (sqlfuncs.time_bucket); the database
groups, Python only lays the grouped rows out (gap-filling days and weeks).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, distinct, func, select

from engine.accounts.auth import Actor
from engine.audience.sqlfuncs import time_bucket
from engine.models import Delivery, Segment, Subscriber, SubscriberList, Suppression
from engine.models.activity import SubscriberActivity
from engine.models.subscribers import SUBSCRIBER_SOURCES

ACTIVE = and_(Subscriber.subscription_status == "Subscribed", Subscriber.bounce_type != "Hard")
DELIVERABLE = and_(Subscriber.subscription_status == "Subscribed", Subscriber.bounce_type == "Not Bounced")
TENURE = (("0_30d", 30), ("1_3mo", 90), ("3_6mo", 180), ("6_12mo", 365), ("1_2y", 730), ("2y_plus", None))


@dataclass
class ListFigures:
    list_id: int
    name: str
    active: int = 0
    segments: int = 0
    last_activity_at: datetime | None = None
    unique_opens: int = 0
    unique_clicks: int = 0
    sent: int = 0
    subscriptions: int = 0
    unsubscriptions: int = 0
    hard_bounces: int = 0

    @property
    def net_growth(self) -> int:
        return self.subscriptions - self.unsubscriptions - self.hard_bounces


@dataclass
class DayFigures:
    subscriptions: int = 0
    unsubscriptions: int = 0
    imports: int = 0
    soft_bounces: int = 0
    hard_bounces: int = 0
    sent: int = 0
    complaints: int = 0
    extra: dict = field(default_factory=dict)


def _later(*moments):
    known = [m for m in moments if m is not None]
    return max(known) if known else None


class ListAnalytics:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- Lists.Stats ----------------------------------------------------------------------------
    def stats(self, actor: Actor, days: int, list_ids: list[int] | None = None) -> list[ListFigures]:
        """Figures of the owner's lists (only those of `list_ids` when given) over the last `days` days."""
        query = select(SubscriberList.id, SubscriberList.name).where(SubscriberList.owner_user_id == actor.id)
        if list_ids:
            query = query.where(SubscriberList.id.in_(list_ids))
        figures = {i: ListFigures(i, name) for i, name in self.s.execute(query.order_by(SubscriberList.id))}
        if not figures:
            return []
        ids, since = list(figures), self.uow.clock() - timedelta(days=days)
        s = Subscriber
        for list_id, active, joined, left, last_in, last_out in self.s.execute(
                select(s.list_id, func.count(case((ACTIVE, s.id))), func.count(case((s.subscription_date >= since, s.id))),
                       func.count(case((s.unsubscription_date >= since, s.id))), func.max(s.subscription_date),
                       func.max(s.unsubscription_date)).where(s.list_id.in_(ids)).group_by(s.list_id)):
            f = figures[list_id]
            f.active, f.subscriptions, f.unsubscriptions = active, joined, left
            f.last_activity_at = _later(last_in, last_out)
        for list_id, n in self.s.execute(select(Segment.list_id, func.count()).where(Segment.list_id.in_(ids))
                                         .group_by(Segment.list_id)):
            figures[list_id].segments = n
        a = SubscriberActivity
        # People per campaign: an open is counted once per person and campaign, as UniqueOpens is.
        people = (select(s.list_id, a.kind, a.campaign_id, a.subscriber_id, s.bounce_type).distinct()
                  .join(s, s.id == a.subscriber_id)
                  .where(s.list_id.in_(ids), a.occurred_at >= since, a.kind.in_(("open", "click", "bounce")))
                  .subquery())
        for list_id, kind, bounce_type, n in self.s.execute(
                select(people.c.list_id, people.c.kind, people.c.bounce_type, func.count())
                .group_by(people.c.list_id, people.c.kind, people.c.bounce_type)):
            f = figures[list_id]
            if kind == "open":
                f.unique_opens += n
            elif kind == "click":
                f.unique_clicks += n
            elif bounce_type == "Hard":
                f.hard_bounces += n
        for list_id, last in self.s.execute(select(s.list_id, func.max(a.occurred_at)).join(s, s.id == a.subscriber_id)
                                            .where(s.list_id.in_(ids)).group_by(s.list_id)):
            figures[list_id].last_activity_at = _later(figures[list_id].last_activity_at, last)
        for list_id, n in self.s.execute(
                select(s.list_id, func.count()).select_from(Delivery).join(s, s.id == Delivery.subscriber_id)
                .where(s.list_id.in_(ids), Delivery.state == "sent", Delivery.sent_at >= since).group_by(s.list_id)):
            figures[list_id].sent = n
        return list(figures.values())

    # --- day series -----------------------------------------------------------------------------
    def daily(self, actor: Actor, list_id: int, first: date, *, with_sends: bool = False) -> dict[str, DayFigures]:
        """Figures of one list per UTC day from `first` to today, every day present."""
        list_row = self.uow.lists.get(actor, list_id)
        today = self.uow.clock().date()
        out = {str(first + timedelta(days=n)): DayFigures() for n in range((today - first).days + 1)}
        since = datetime.combine(first, datetime.min.time(), self.uow.clock().tzinfo)
        s, a = Subscriber, SubscriberActivity
        joined = time_bucket(s.subscription_date, "day")
        # Grouped by the columns themselves: PostgreSQL will not match a GROUP BY on `source = $1` to the select's.
        for day, source, n in self.s.execute(
                select(joined, s.source, func.count()).where(s.list_id == list_row.id, s.subscription_date >= since)
                .group_by(joined, s.source)):
            if day in out:
                if source == "CSVImport":
                    out[day].imports += n
                else:
                    out[day].subscriptions += n
        left = time_bucket(s.unsubscription_date, "day")
        for day, n in self.s.execute(select(left, func.count()).where(s.list_id == list_row.id,
                                                                      s.unsubscription_date >= since).group_by(left)):
            if day in out:
                out[day].unsubscriptions += n
        when = time_bucket(a.occurred_at, "day")
        for day, kind, bounce_type, n in self.s.execute(
                select(when, a.kind, s.bounce_type, func.count(distinct(a.subscriber_id)))
                .join(s, s.id == a.subscriber_id)
                .where(s.list_id == list_row.id, a.occurred_at >= since, a.kind.in_(("bounce", "complaint")))
                .group_by(when, a.kind, s.bounce_type)):
            if day not in out:
                continue
            if kind == "complaint":
                out[day].complaints += n
            elif bounce_type == "Hard":
                out[day].hard_bounces += n
            else:
                out[day].soft_bounces += n
        if with_sends:
            sent_day = time_bucket(Delivery.sent_at, "day")
            for day, n in self.s.execute(
                    select(sent_day, func.count()).join(s, s.id == Delivery.subscriber_id)
                    .where(s.list_id == list_row.id, Delivery.state == "sent", Delivery.sent_at >= since)
                    .group_by(sent_day)):
                if day in out:
                    out[day].sent += n
        return out

    # --- snapshots ------------------------------------------------------------------------------
    def status_breakdown(self, actor: Actor, list_id: int) -> dict[str, int]:
        list_row = self.uow.lists.get(actor, list_id)
        counts = dict.fromkeys(("Active", "OptInPending", "SoftBounced", "HardBounced", "Unsubscribed",
                                "Complained", "Suppressed"), 0)
        s = Subscriber
        for status, bounce, n in self.s.execute(select(s.subscription_status, s.bounce_type, func.count())
                                                .where(s.list_id == list_row.id)
                                                .group_by(s.subscription_status, s.bounce_type)):
            if status == "Subscribed":
                counts[{"Not Bounced": "Active", "Soft": "SoftBounced", "Hard": "HardBounced"}[bounce]] += n
            else:
                counts["Unsubscribed" if status == "Unsubscribed" else "OptInPending"] += n
        for source, n in self.s.execute(select(Suppression.source, func.count())
                                        .where(Suppression.list_id == list_row.id).group_by(Suppression.source)):
            counts["Suppressed"] += n
            if source == "SPAM complaint":
                counts["Complained"] += n
        return counts

    def tenure(self, actor: Actor, list_id: int) -> dict[str, int]:
        """Deliverable subscribers by how long ago they joined (right-open: a cutoff belongs to the older bucket)."""
        list_row = self.uow.lists.get(actor, list_id)
        now = self.uow.clock()
        bucket = case(*[(Subscriber.subscription_date > now - timedelta(days=d), name) for name, d in TENURE if d],
                      else_="2y_plus")
        found = dict(self.s.execute(select(bucket, func.count()).where(Subscriber.list_id == list_row.id, DELIVERABLE)
                                    .group_by(bucket)).all())
        return {name: found.get(name, 0) for name, _ in TENURE}

    def sources(self, actor: Actor, list_id: int) -> tuple[dict[str, int], list[tuple[str, str, int]],
                                                               list[tuple[str, int]]]:
        """(count per source, [(month, source, count)] of the last 12 months, the top 10 refs of `Other`)."""
        list_row = self.uow.lists.get(actor, list_id)
        s = Subscriber
        buckets = dict.fromkeys(SUBSCRIBER_SOURCES, 0)
        for source, n in self.s.execute(select(s.source, func.count()).where(s.list_id == list_row.id)
                                        .group_by(s.source)):
            buckets[source if source in buckets else "Unknown"] += n
        now = self.uow.clock()
        first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        for _ in range(11):
            first = (first - timedelta(days=1)).replace(day=1)
        month = time_bucket(s.subscription_date, "month")
        series = [(m, source, n) for m, source, n in self.s.execute(
            select(month, s.source, func.count()).where(s.list_id == list_row.id, s.subscription_date >= first)
            .group_by(month, s.source).order_by(month, s.source))]
        refs = [(ref, n) for ref, n in self.s.execute(
            select(s.source_ref, func.count()).where(s.list_id == list_row.id, s.source == "Other")
            .group_by(s.source_ref).order_by(func.count().desc(), s.source_ref).limit(10))]
        return buckets, series, refs

    # --- Lists.Overview -------------------------------------------------------------------------
    def overview(self, actor: Actor, **options):
        """engine/audience/list_overview.py: the lists with their fields, segments and tags."""
        from engine.audience.list_overview import overview
        return overview(self.s, actor, **options)
