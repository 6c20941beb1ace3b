"""What accounts use: User.Stats (one account's figures and daily series), User.Usage.Get (one account's
current usage and features, for an administrator) and Users.Usage.Get (emails sent per day for many
accounts in a fixed number of grouped queries). Strictly read-only.

"Emails sent" is what the relay accepted: campaign ledger rows `sent` plus autoresponder ledger rows
`sent`, on the UTC day of their `sent_at`. Period keys: a day "YYYY-MM-DD", a week its Monday's date,
a month "YYYY-MM", a year "YYYY".
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, union_all

from engine.accounts.auth import Actor
from engine.audience.list_analytics import ACTIVE
from engine.audience.sqlfuncs import email_domain, time_bucket
from engine.errors import UserNotFound
from engine.models import (
    ApiKey, AutoResponder, AutoResponderSend, Campaign, Delivery, Segment, SendInstance, SenderEmail, Subscriber,
    SubscriberList, User,
)
from engine.models.activity import SubscriberActivity

AGGREGATIONS = ("daily", "weekly", "monthly", "yearly")


def period_key(day: str, aggregation: str) -> str:
    """The period a UTC day ("YYYY-MM-DD") falls in (see the module docstring)."""
    if aggregation == "weekly":
        moment = date.fromisoformat(day)
        return str(moment - timedelta(days=moment.weekday()))
    return {"daily": day, "monthly": day[:7], "yearly": day[:4]}[aggregation]


@dataclass(frozen=True)
class FeatureUse:
    campaigns: int
    autoresponders: int
    lists: int
    segments: int
    api_keys: int
    sending_domains: int


class UsageReports:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- shared figures -------------------------------------------------------------------------
    def active_subscribers(self, user_ids: list[int] | None = None) -> dict[int, int]:
        """Subscribed, not hard-bounced rows per owner, archived lists excluded (ArchivedExcluded)."""
        query = (select(SubscriberList.owner_user_id, func.count()).select_from(Subscriber)
                 .join(SubscriberList, SubscriberList.id == Subscriber.list_id)
                 .where(ACTIVE, SubscriberList.archived_at.is_(None)))
        if user_ids is not None:
            query = query.where(SubscriberList.owner_user_id.in_(user_ids))
        return dict(self.s.execute(query.group_by(SubscriberList.owner_user_id)).all())

    def emails_sent_by_day(self, start: datetime, end: datetime,
                           user_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
        """{owner: {day: emails sent}} for sends in [start, end); days without sends are absent."""
        day = time_bucket(Delivery.sent_at, "day")
        campaigns = (select(Campaign.owner_user_id.label("owner"), day.label("day"), func.count().label("n"))
                     .select_from(Delivery).join(SendInstance, SendInstance.id == Delivery.instance_id)
                     .join(Campaign, Campaign.id == SendInstance.campaign_id)
                     .where(Delivery.state == "sent", Delivery.sent_at >= start, Delivery.sent_at < end)
                     .group_by(Campaign.owner_user_id, day))
        r_day = time_bucket(AutoResponderSend.sent_at, "day")
        responders = (select(AutoResponder.owner_user_id, r_day, func.count()).select_from(AutoResponderSend)
                      .join(AutoResponder, AutoResponder.id == AutoResponderSend.autoresponder_id)
                      .where(AutoResponderSend.state == "sent", AutoResponderSend.sent_at >= start,
                             AutoResponderSend.sent_at < end)
                      .group_by(AutoResponder.owner_user_id, r_day))
        if user_ids is not None:
            campaigns = campaigns.where(Campaign.owner_user_id.in_(user_ids))
            responders = responders.where(AutoResponder.owner_user_id.in_(user_ids))
        out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for owner, when, n in self.s.execute(union_all(campaigns, responders)):
            out[owner][when] += n
        return out

    # --- User.Stats -----------------------------------------------------------------------------
    def series(self, actor: Actor, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
        """The account's daily figures in [start, end): metric title → {day: count}, days without any absent."""
        s, a = Subscriber, SubscriberActivity
        owned = select(SubscriberList.id).where(SubscriberList.owner_user_id == actor.id)
        out: dict[str, dict[str, int]] = {}
        joined = time_bucket(s.subscription_date, "day")
        out["New Subscribers"] = dict(self.s.execute(
            select(joined, func.count()).where(s.list_id.in_(owned), s.subscription_date >= start,
                                               s.subscription_date < end).group_by(joined)).all())
        left = time_bucket(s.unsubscription_date, "day")
        out["Unsubscriptions"] = dict(self.s.execute(
            select(left, func.count()).where(s.list_id.in_(owned), s.unsubscription_date >= start,
                                             s.unsubscription_date < end).group_by(left)).all())
        out["Sent Emails"] = dict(self.emails_sent_by_day(start, end, [actor.id]).get(actor.id, {}))
        when = time_bucket(a.occurred_at, "day")
        mine = select(Campaign.id).where(Campaign.owner_user_id == actor.id)
        for kind, title in (("open", "Opens"), ("click", "Clicks"), ("bounce", "Bounces")):
            out[title] = dict(self.s.execute(
                select(when, func.count()).where(a.campaign_id.in_(mine), a.kind == kind, a.occurred_at >= start,
                                                 a.occurred_at < end).group_by(when)).all())
        return out

    def totals(self, actor: Actor) -> tuple[int, int, int]:
        """(lists, active subscribers, segments) of the account."""
        lists = self.s.scalar(select(func.count()).select_from(SubscriberList)
                              .where(SubscriberList.owner_user_id == actor.id))
        segments = self.s.scalar(select(func.count()).select_from(Segment).where(Segment.owner_user_id == actor.id))
        return lists, self.active_subscribers([actor.id]).get(actor.id, 0), segments

    # --- User.Usage.Get -------------------------------------------------------------------------
    def user(self, user_id: int) -> User:
        user = self.s.get(User, user_id)
        if user is None:
            raise UserNotFound(f"user {user_id} does not exist")
        return user

    def features(self, user_id: int) -> FeatureUse:
        def count(model, column, *where):
            return self.s.scalar(select(func.count()).select_from(model).where(column == user_id, *where))

        # Sending domains: the domains of the account's verified sender addresses.
        domains = self.s.scalar(select(func.count(func.distinct(email_domain(SenderEmail.email_normalized))))
                                .where(SenderEmail.owner_user_id == user_id, SenderEmail.verified.is_(True)))
        return FeatureUse(campaigns=count(Campaign, Campaign.owner_user_id),
                          autoresponders=count(AutoResponder, AutoResponder.owner_user_id),
                          lists=count(SubscriberList, SubscriberList.owner_user_id),
                          segments=count(Segment, Segment.owner_user_id), api_keys=count(ApiKey, ApiKey.user_id),
                          sending_domains=domains)
