"""How a subscriber enters and leaves a list: the columns each change sets, an attributed opt-out,
and the list's opt-in / opt-out behaviours (protocol.md §6.3). Shared by the one-subscriber flow
(engine/audience/subscribers.py) and the RulesJSON bulk opt-out (engine/audience/subscriber_bulk.py).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import object_session

from engine.automation import enqueue as autoresponders
from engine.automation.journeys import hooks as journey_hooks
from engine.errors import InvalidEmailAddress
from engine.models import Campaign, Subscriber, SubscriberActivity, SubscriberList
from engine.validation import normalize_email


class ListMembership:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def opt_out(self, list_row: SubscriberList, subscriber: Subscriber, ip: str, campaign: Campaign | None,
                email_id: int | None, channel: str, add_to_global_suppression: bool) -> None:
        now = self.uow.clock()
        leave_list(subscriber, ip, now, campaign_id=campaign.id if campaign else 0, email_id=email_id or 0,
                   channel=channel)
        if campaign is not None:
            # The one place an attributed opt-out is counted: tracking's unsubscribe page calls this.
            campaign.total_unsubscriptions += 1
            self.s.add(SubscriberActivity(subscriber_id=subscriber.id, campaign_id=campaign.id,
                                          email_id=email_id or None, kind="unsubscribe", occurred_at=now))
        self._after_opt_out(list_row, subscriber, ip, now, add_to_global_suppression)
        journey_hooks.on_unsubscribed(self.s, list_row.id, [subscriber.id], now)
        self.uow.email_subscriptions.legacy_unsubscribed(
            list_row.owner_user_id, subscriber,
            account_wide=add_to_global_suppression or list_row.opt_out_add_to_global_suppression_list)
        self.uow.list_integrations.notify(list_row, subscriber, "unsubscription")

    def owned(self, model, object_id: int | None, list_row: SubscriberList, error):
        """The list owner's campaign or email an opt-out is credited to; `error` for anyone else's."""
        if not object_id:
            return None  # '' and 0 mean "none" for legacy clients
        row = self.s.get(model, object_id)
        if row is None or row.owner_user_id != list_row.owner_user_id:
            raise error()
        return row

    # --- list behaviours (protocol.md §6.3) --------------------------------------------------------
    def after_opt_in(self, list_row: SubscriberList, subscriber: Subscriber, ip: str, now: datetime) -> None:
        autoresponders.on_subscribed(self.s, list_row.id, [subscriber.id], now)
        journey_hooks.on_subscribed(self.s, list_row.id, [subscriber.id], now)
        self.uow.list_integrations.notify(list_row, subscriber, "subscription")
        self.opt_in_behaviours(list_row, subscriber, ip, now)

    def opt_in_behaviours(self, list_row: SubscriberList, subscriber: Subscriber, ip: str, now: datetime) -> None:
        """The list's opt-in behaviours alone: subscribe to / unsubscribe from the lists it names."""
        if list_row.opt_in_subscribe_to_list_id:
            self._ensure_subscribed(list_row.opt_in_subscribe_to_list_id, subscriber, ip, now)
        if list_row.opt_in_unsubscribe_from_list_id:
            self._ensure_unsubscribed([list_row.opt_in_unsubscribe_from_list_id], subscriber, ip, now)

    def _after_opt_out(self, list_row: SubscriberList, subscriber: Subscriber, ip: str, now: datetime,
                       add_to_global: bool) -> None:
        if list_row.opt_out_scope == "All lists":
            others = list(self.s.scalars(select(SubscriberList.id).where(
                SubscriberList.owner_user_id == list_row.owner_user_id, SubscriberList.id != list_row.id)))
            self._ensure_unsubscribed(others, subscriber, ip, now)
        if list_row.opt_out_unsubscribe_from_list_id:
            self._ensure_unsubscribed([list_row.opt_out_unsubscribe_from_list_id], subscriber, ip, now)
        if list_row.opt_out_subscribe_to_list_id:
            self._ensure_subscribed(list_row.opt_out_subscribe_to_list_id, subscriber, ip, now)
        suppression = self.uow.suppression
        if list_row.opt_out_add_to_suppression_list:
            suppression.add(list_row.owner_user_id, subscriber.email_address, list_id=list_row.id,
                            source="Unsubscribe", reason="Unsubscribed from the list")
        if list_row.opt_out_add_to_global_suppression_list or add_to_global:
            suppression.add(list_row.owner_user_id, subscriber.email_address, source="Unsubscribe",
                            reason=f"Unsubscribed from list {list_row.id}")

    def _ensure_subscribed(self, target_list_id: int, like: Subscriber, ip: str, now: datetime) -> None:
        """Add the address to another list of the same owner, unless it is there already.
        One level only: behaviours of the target list do not chain (no loops)."""
        if self.s.scalar(select(Subscriber.id).where(Subscriber.list_id == target_list_id,
                                                     Subscriber.email_normalized == like.email_normalized)):
            return
        self.s.add(Subscriber(list_id=target_list_id, email_address=like.email_address,
                              email_normalized=like.email_normalized, subscription_status="Subscribed",
                              bounce_type="Not Bounced", soft_bounce_count=0, subscription_date=now,
                              subscription_ip=ip, opt_in_date=now, unsubscription_ip="", source=like.source,
                              source_ref=like.source_ref))
        self.s.flush()
        added = self.s.scalar(select(Subscriber.id).where(Subscriber.list_id == target_list_id,
                                                          Subscriber.email_normalized == like.email_normalized))
        autoresponders.on_subscribed(self.s, target_list_id, [added], now)
        journey_hooks.on_subscribed(self.s, target_list_id, [added], now)

    def _ensure_unsubscribed(self, list_ids: list[int], like: Subscriber, ip: str, now: datetime) -> None:
        if not list_ids:
            return
        for other in self.s.scalars(select(Subscriber).where(
                Subscriber.list_id.in_(list_ids), Subscriber.email_normalized == like.email_normalized,
                Subscriber.subscription_status != "Unsubscribed")).all():
            leave_list(other, ip, now, channel="List behaviour")
            journey_hooks.on_unsubscribed(self.s, other.list_id, [other.id], now)


def enter_list(list_row: SubscriberList, subscriber: Subscriber, now: datetime) -> None:
    if list_row.opt_in_mode == "Double":
        subscriber.subscription_status, subscriber.opt_in_date = "Opt-In Pending", None
        subscriber.confirmation_due_at = now
    else:
        subscriber.subscription_status, subscriber.opt_in_date = "Subscribed", now
        subscriber.confirmation_due_at = None


def leave_list(subscriber: Subscriber, ip: str, now: datetime, *, campaign_id: int = 0, email_id: int = 0,
               channel: str = "") -> None:
    session = object_session(subscriber)
    if session is not None and subscriber.id is not None:
        autoresponders.on_left(session, [subscriber.id], now)
    subscriber.subscription_status = "Unsubscribed"
    subscriber.unsubscription_date, subscriber.unsubscription_ip = now, ip
    subscriber.unsubscription_campaign_id, subscriber.unsubscription_email_id = campaign_id, email_id
    subscriber.unsubscription_channel = channel[:64]
    subscriber.confirmation_due_at = None


def narrowed(query: Select, email: str | None, subscriber_id: int | None) -> Select:
    """`query` (over subscribers) limited to one address and/or one subscriber ID."""
    if email is not None:
        normalized = normalize_email(email)
        if normalized is None:
            raise InvalidEmailAddress(f"{email!r} is not a valid email address")
        query = query.where(Subscriber.email_normalized == normalized)
    if subscriber_id is not None:
        query = query.where(Subscriber.id == subscriber_id)
    return query
