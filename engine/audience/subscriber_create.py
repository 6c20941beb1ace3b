"""Subscriber.Create: the list owner writes one subscriber as it is, with the status, dates and IPs the
owner gives (a migration from another system, a CRM sync), instead of going through the subscription flow
Subscriber.Subscribe runs. What a subscription would also do (autoresponders and journeys, the list's
opt-in behaviours, the confirmation email) happens only when the caller asks for it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.accounts.auth import Actor
from engine.audience.list_membership import ListMembership
from engine.automation import enqueue as autoresponders
from engine.automation.journeys import hooks as journey_hooks
from engine.errors import DomainError, EmailNotFound, InvalidEmailAddress, SubscriberExists
from engine.models import Email, Subscriber, SubscriberList
from engine.validation import normalize_email

# Opt-In Pending and Subscribed record when and from where the person subscribed; Unsubscribed when and
# from where they left.
SUBSCRIBED_STATES = ("Subscribed", "Opt-In Pending")


class PreviouslyUnsubscribed(DomainError):
    """The address is on the list as unsubscribed (give UpdateIfUnsubscribed to subscribe it again)."""


@dataclass
class NewSubscriber:
    email: str
    status: str = "Subscribed"
    bounce_type: str = "Not Bounced"
    subscription_date: datetime | None = None
    subscription_ip: str = ""
    unsubscription_date: datetime | None = None
    unsubscription_ip: str = ""
    opt_in_date: datetime | None = None
    values: dict[int, object] = field(default_factory=dict)
    enforce_required: bool = False
    confirmation_email_id: int | None = None
    update_if_duplicate: bool = False
    update_if_unsubscribed: bool = False
    apply_behaviours: bool = False
    send_confirmation_email: bool = False
    trigger_autoresponders: bool = False
    source: str = "API"
    source_ref: str = ""


class SubscriberCreation:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def create(self, actor: Actor, list_id: int, new: NewSubscriber) -> tuple[Subscriber, bool]:
        """Write the subscriber (or, when allowed, overwrite the one with the same address); (row, created)."""
        list_row = self.uow.lists.get(actor, list_id)
        self._confirmation_email(actor, new.confirmation_email_id)
        # The owner's row first (under a quota), as Subscriber.Subscribe and the importer lock it.
        self.uow.lists.subscriber_room(list_row.owner_user_id)
        normalized = normalize_email(new.email)
        if normalized is None:
            raise InvalidEmailAddress(f"{new.email!r} is not a valid email address")
        existing = self.s.scalar(select(Subscriber).where(
            Subscriber.list_id == list_row.id, Subscriber.email_normalized == normalized).with_for_update())
        if existing is not None:
            # Subscribing someone who left again needs UpdateIfUnsubscribed; any other overwrite UpdateIfDuplicate.
            if existing.subscription_status == "Unsubscribed" and new.status != "Unsubscribed":
                if not new.update_if_unsubscribed:
                    raise PreviouslyUnsubscribed()
            elif not new.update_if_duplicate:
                raise SubscriberExists()
        fields = self.uow.custom_fields.values_for(list_row)
        values = fields.check(new.values, subscriber_id=existing.id if existing else None, strict=True,
                              enforce_required=new.enforce_required)
        if existing is None:
            self.uow.lists.require_subscriber_room(list_row.owner_user_id)
            subscriber = Subscriber(list_id=list_row.id, soft_bounce_count=0)
            self._write(subscriber, new, normalized)
            self.s.add(subscriber)
            try:
                self.s.flush()
            except IntegrityError:   # the same address created by a request a moment ago
                raise SubscriberExists() from None
            fields.store(subscriber.id, {**fields.defaults(new.values), **values})
        else:
            subscriber = existing
            self._write(subscriber, new, normalized)
            fields.store(subscriber.id, values)
            self.s.flush()
        self._consequences(list_row, subscriber, new)
        return subscriber, existing is None

    def _confirmation_email(self, actor: Actor, email_id: int | None) -> None:
        if email_id:
            email = self.s.get(Email, email_id)
            if email is None or email.owner_user_id != actor.id:
                raise EmailNotFound()

    def _write(self, subscriber: Subscriber, new: NewSubscriber, normalized: str) -> None:
        now = self.uow.clock()
        subscriber.email_address, subscriber.email_normalized = new.email.strip()[:255], normalized
        subscriber.subscription_status, subscriber.bounce_type = new.status, new.bounce_type
        subscriber.subscription_date = new.subscription_date or now
        subscriber.subscription_ip = new.subscription_ip[:64]
        subscriber.unsubscription_date = new.unsubscription_date if new.status == "Unsubscribed" else None
        subscriber.unsubscription_ip = new.unsubscription_ip[:64] if new.status == "Unsubscribed" else ""
        subscriber.opt_in_date = new.opt_in_date or (subscriber.subscription_date if new.status == "Subscribed"
                                                     else None)
        subscriber.source, subscriber.source_ref = new.source, new.source_ref[:64]
        # Only a pending subscriber the caller wants mailed is picked up by the confirmation sender.
        pending_mail = new.status == "Opt-In Pending" and new.send_confirmation_email
        subscriber.confirmation_due_at = now if pending_mail else None

    def _consequences(self, list_row: SubscriberList, subscriber: Subscriber, new: NewSubscriber) -> None:
        now = self.uow.clock()
        if new.status in SUBSCRIBED_STATES:
            self.uow.email_subscriptions.legacy_subscribed(list_row.owner_user_id, subscriber)
        if new.status != "Subscribed":
            return
        if new.trigger_autoresponders:
            autoresponders.on_subscribed(self.s, list_row.id, [subscriber.id], now)
            journey_hooks.on_subscribed(self.s, list_row.id, [subscriber.id], now)
        if new.apply_behaviours:
            ListMembership(self.uow).opt_in_behaviours(list_row, subscriber, subscriber.subscription_ip, now)
