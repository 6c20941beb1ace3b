"""User.Snapshot: one account's figures for one calendar month (UTC), read from what is stored.

CampaignsSent: sends of the account's campaigns started in the month (a recurring campaign counts each
occurrence). EmailsSent: messages the relay accepted in the month, campaigns and autoresponders alike (as
User.Stats counts them). Subscribers and Lists: the account's subscriber rows and lists that existed at the
month's end (created before it and still stored: a deleted row no longer counts). Strictly read-only."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select

from engine.accounts.auth import Actor
from engine.errors import UserNotFound
from engine.models import Campaign, SendInstance, Subscriber, SubscriberList, User
from engine.validation import normalize_email


@dataclass(frozen=True)
class Snapshot:
    campaigns_sent: int
    emails_sent: int
    subscribers: int
    lists: int


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=timezone.utc)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=timezone.utc)
    return start, end


class Snapshots:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def account(self, actor: Actor, *, user_id: int | None = None, email: str | None = None) -> User:
        """The account a snapshot is of: a user's own (asking for another one is "not found"), or for an
        administrator the one named by ID or email address."""
        if not actor.is_admin:
            own = self.s.get(User, actor.id)
            if (user_id is not None and user_id != own.id) or \
                    (email is not None and normalize_email(email) != own.email_normalized):
                raise UserNotFound()
            return own
        query = select(User).where(User.id == user_id) if user_id is not None else \
            select(User).where(User.email_normalized == (normalize_email(email or "") or ""))
        user = self.s.scalar(query)
        if user is None:
            raise UserNotFound()
        return user

    def month(self, actor: Actor, year: int, month: int, *, user_id: int | None = None,
              email: str | None = None) -> Snapshot:
        user = self.account(actor, user_id=user_id, email=email)
        start, end = month_bounds(year, month)
        campaigns = self.s.scalar(
            select(func.count()).select_from(SendInstance).join(Campaign, Campaign.id == SendInstance.campaign_id)
            .where(Campaign.owner_user_id == user.id, SendInstance.started_at >= start, SendInstance.started_at < end))
        emails = sum(self.uow.usage.emails_sent_by_day(start, end, [user.id]).get(user.id, {}).values())
        lists = select(SubscriberList.id).where(SubscriberList.owner_user_id == user.id,
                                                SubscriberList.created_at < end)
        subscribers = self.s.scalar(select(func.count()).select_from(Subscriber).where(
            Subscriber.list_id.in_(lists), Subscriber.subscription_date < end))
        list_count = self.s.scalar(select(func.count()).select_from(lists.subquery()))
        return Snapshot(campaigns or 0, emails, subscribers or 0, list_count or 0)
