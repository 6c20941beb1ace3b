"""Subscribers: the public subscribe / confirm / unsubscribe flow, and the owner's reads and edits.

Subscription states (protocol.md §6.2): Single opt-in lists subscribe at once; Double opt-in
lists leave a new subscriber "Opt-In Pending" with `confirmation_due_at` set, which tells
delivery that a confirmation email is due (delivery sends it, clears the column, and puts
`confirmation_code(subscriber)` in the %Link:Confirm% / %Link:Reject% links); Subscriber.OptIn
with that code confirms or rejects. Unsubscribed → Subscribed happens only through the owner
(Subscriber.Update) or a new subscription with UpdateIfExists.

Searching a list: engine/audience/subscriber_search.py; many subscribers at once (RulesJSON, deletion):
engine/audience/subscriber_bulk.py; what entering and leaving a list change: engine/audience/list_membership.py.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from engine.accounts.auth import Actor
from engine.errors import (
    AlreadyUnsubscribed, CampaignNotFound, ConfirmationCodeRequired, EmailAddressRequired, EmailNotFound,
    InvalidConfirmationCode, InvalidEmailAddress, ListNotFound, ListOwnerUnavailable, SubscriberExists,
    SubscriberNotFound,
)
from engine.hot_insert import insert_now
from engine.hot_sql import HotStatement
from engine.models import Campaign, Email, Subscriber, SubscriberFieldValue, SubscriberList
from engine.audience.list_membership import ListMembership, enter_list, leave_list, narrowed
from engine.audience.subscription_target import subscription_target
from engine.automation import enqueue as autoresponders
from engine.validation import normalize_email
from engine.automation.journeys import hooks as journey_hooks


# Custom-field texts of a page of subscribers: prebuilt, each list length compiled once (engine/hot_sql.py).
_FIELD_VALUES = HotStatement(
    select(SubscriberFieldValue.subscriber_id, SubscriberFieldValue.field_id, SubscriberFieldValue.value_text)
    .where(SubscriberFieldValue.subscriber_id.in_(bindparam("ids", expanding=True))), lists=("ids",))

# The address's row on the list, locked: built once, as every subscription asks it.
_SUBSCRIBED_ALREADY = select(Subscriber).where(
    Subscriber.list_id == bindparam("list_id"), Subscriber.email_normalized == bindparam("email")).with_for_update()


@dataclass
class Subscription:
    subscriber: Subscriber
    list: SubscriberList
    created: bool
    redirect_url: str


class SubscriberService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session
        self.membership = ListMembership(uow)

    # --- reading -----------------------------------------------------------------------------------
    def get(self, actor: Actor, list_id: int, *, subscriber_id: int | None = None,
            email: str | None = None) -> Subscriber:
        list_row = self.uow.lists.get(actor, list_id)
        query = select(Subscriber).where(Subscriber.list_id == list_row.id)
        if subscriber_id is not None:
            query = query.where(Subscriber.id == subscriber_id)
        if email is not None:
            query = query.where(Subscriber.email_normalized == (normalize_email(email) or email.strip().lower()))
        subscriber = self.s.scalar(query)
        if subscriber is None:
            raise SubscriberNotFound()
        return subscriber

    def values_of(self, subscriber_ids: list[int]) -> dict[int, dict[int, str]]:
        """Custom-field texts of many subscribers in one query: {subscriber ID: {field ID: text}}."""
        found: dict[int, dict[int, str]] = {i: {} for i in subscriber_ids}
        if subscriber_ids:
            self.s.flush()   # read past the ORM (engine/hot_sql.py): what this unit changed must be sent first
            for sid, fid, text in _FIELD_VALUES.read(self.s.connection(), {"ids": list(subscriber_ids)}):
                found[sid][fid] = text
        return found

    def is_suppressed(self, subscriber: Subscriber) -> bool:
        owner = self.s.get(SubscriberList, subscriber.list_id).owner_user_id
        return self.uow.suppression.is_suppressed(owner, subscriber.email_normalized, subscriber.list_id)

    # --- the public flow ---------------------------------------------------------------------------
    def subscribe(self, list_ids: list[int], email: str, ip: str, values: dict[int, object] | None = None, *,
                  actor: Actor | None = None, update_if_exists: bool = False, enforce_required: bool = False,
                  source: str = "API", source_ref: str = "") -> Subscription:
        """Subscribe an address to one or more lists of one account (custom fields go to the first).
        With `update_if_exists` an address already on a list is subscribed again; its custom fields are
        overwritten only when `actor` owns the lists: a public form must not rewrite someone's data."""
        normalized = normalize_email(email)
        target = subscription_target(self.s, list_ids, normalized)
        lists, owner, limit = target.lists, target.owner, target.subscriber_limit
        owner_id = lists[0].owner_user_id
        if any(row.owner_user_id != owner_id for row in lists):
            raise ListNotFound("all lists of one subscription must belong to the same account")
        if owner is None or owner.account_status != "Enabled":
            raise ListOwnerUnavailable()
        # Under a quota the owner's row is locked before any subscriber row (the importer does the
        # same), so concurrent writers of one account queue in one order instead of deadlocking.
        self.uow.lists.subscriber_room(owner_id, limit=limit)
        for list_id, listening in target.listening.items():
            self.uow.list_integrations.known(list_id, "subscription", listening)
        if normalized is None:
            raise InvalidEmailAddress(f"{email!r} is not a valid email address")
        # Automation hooks may write more before the record is made: only without them is a new address's
        # record derived from the one row this call writes.
        self.uow.email_subscriptions.known(owner_id, normalized, target.record,
                                           new_address=not target.address_known and not owner.list_triggers)
        # The first list's row of the address is known from that read too. It was not locked: where the
        # read says there is none, and no quota lock serializes the account's subscriptions, a row a
        # concurrent request inserts meanwhile makes our INSERT fail (SubscriberExists) exactly as when both
        # had locked nothing. InnoDB's snapshot read is older than a locking one: MariaDB always locks.
        absent = (target.subscriber_ids[lists[0].id] is None and (not limit or limit < 0)
                  and self.s.get_bind().dialect.name in ("postgresql", "sqlite"))
        first = None
        for index, list_row in enumerate(lists):
            subscriber, created = self._subscribe_one(
                list_row, email.strip(), normalized, ip, (values or {}) if index == 0 else {},
                update_if_exists=update_if_exists, enforce_required=enforce_required and index == 0,
                edit_existing=owns_list(actor, list_row), source=source, source_ref=source_ref, limit=limit,
                has_fields=target.has_fields[list_row.id], absent=absent and index == 0)
            first = first or Subscription(subscriber, list_row, created, "")
        pending = first.subscriber.subscription_status == "Opt-In Pending"
        first.redirect_url = (first.list.subscription_confirmation_pending_page_url if pending
                              else first.list.subscription_confirmed_page_url)
        return first

    def _subscribe_one(self, list_row, email, normalized, ip, submitted, *, update_if_exists, enforce_required,
                       edit_existing, source, source_ref, limit, has_fields, absent) -> tuple[Subscriber, bool]:
        now = self.uow.clock()
        existing = None if absent else self.s.scalar(_SUBSCRIBED_ALREADY, {"list_id": list_row.id,
                                                                            "email": normalized})
        fields = self.uow.custom_fields.values_for(list_row, none_applicable=not has_fields)
        if existing is not None and not update_if_exists:
            raise SubscriberExists()
        if existing is not None and not edit_existing:
            # Anyone may send the form again (it renews the subscription below); only the owner rewrites fields.
            submitted, enforce_required = {}, False
        values = fields.check(submitted, subscriber_id=existing.id if existing else None,
                              enforce_required=enforce_required)
        if existing is None:
            self.uow.lists.require_subscriber_room(list_row.owner_user_id, limit=limit)
            subscriber = Subscriber(list_id=list_row.id, email_address=email[:255], email_normalized=normalized,
                                    subscription_date=now, subscription_ip=ip, source=source, source_ref=source_ref,
                                    bounce_type="Not Bounced", soft_bounce_count=0, unsubscription_ip="")
            enter_list(list_row, subscriber, now)
            try:
                insert_now(self.s, subscriber)
            except IntegrityError:
                # Another request subscribed the same address a moment ago.
                raise SubscriberExists() from None
            fields.store(subscriber.id, {**fields.defaults(submitted), **values})
        else:
            subscriber = existing
            fields.store(subscriber.id, values)
            if subscriber.subscription_status == "Unsubscribed":
                subscriber.subscription_date, subscriber.subscription_ip = now, ip
                subscriber.unsubscription_date, subscriber.unsubscription_ip = None, ""
                enter_list(list_row, subscriber, now)
            else:
                if subscriber.subscription_status == "Opt-In Pending":
                    subscriber.confirmation_due_at = now  # filled in the form again: send the email again
                return subscriber, False
        if subscriber.subscription_status == "Subscribed":
            self.membership.after_opt_in(list_row, subscriber, ip, now)
        self.uow.email_subscriptions.legacy_subscribed(list_row.owner_user_id, subscriber)
        return subscriber, existing is None

    def confirmation_code(self, subscriber: Subscriber) -> str:
        """The code a confirmation email carries; it changes whenever the subscription is renewed."""
        stamp = int(subscriber.subscription_date.timestamp())
        message = f"optin:{subscriber.id}:{subscriber.list_id}:{subscriber.email_normalized}:{stamp}"
        return hmac.new(self.uow.settings.secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()[:24]

    def opt_in(self, actor: Actor | None, list_id: int, subscriber_id: int, code: str | None, *,
               reject: bool = False) -> tuple[Subscriber, str]:
        """Confirm (or reject) a pending subscription. The list owner may do it without the code."""
        list_row = self.uow.lists.get_public(list_id)
        subscriber = self.s.scalar(select(Subscriber).where(
            Subscriber.id == subscriber_id, Subscriber.list_id == list_row.id).with_for_update())
        if subscriber is None:
            raise SubscriberNotFound()
        if code is None and not owns_list(actor, list_row):
            raise ConfirmationCodeRequired()
        # Compared as bytes: compare_digest refuses str with non-ASCII characters (TypeError).
        if code is not None and not hmac.compare_digest(code.strip().lower().encode("utf-8", "surrogatepass"),
                                                        self.confirmation_code(subscriber).encode()):
            raise InvalidConfirmationCode()
        now = self.uow.clock()
        if reject:
            if subscriber.subscription_status != "Opt-In Pending":
                raise InvalidConfirmationCode("the subscription is no longer pending")
            leave_list(subscriber, "", now, channel="Opt-In Reject")
            self.uow.email_subscriptions.legacy_unsubscribed(list_row.owner_user_id, subscriber)
            return subscriber, list_row.unsubscription_confirmed_page_url
        if subscriber.subscription_status == "Unsubscribed":
            raise InvalidConfirmationCode("the subscription is no longer pending")
        if subscriber.subscription_status == "Opt-In Pending":
            subscriber.subscription_status, subscriber.opt_in_date = "Subscribed", now
            subscriber.confirmation_due_at = None
            self.membership.after_opt_in(list_row, subscriber, subscriber.subscription_ip, now)
            self.uow.email_subscriptions.legacy_subscribed(list_row.owner_user_id, subscriber, confirmed=True)
        return subscriber, list_row.subscription_confirmed_page_url

    def unsubscribe_on_request(self, actor: Actor | None, list_id: int, *, email: str | None = None,
                               subscriber_id: int | None = None, **options) -> tuple[Subscriber, str]:
        """Subscriber.Unsubscribe: anyone may opt out the address they name (with a SubscriberID too, both must
        match). A subscriber ID alone is the list owner's (or an administrator's) form: from anyone else it
        would let a guessed sequential ID opt out, suppress and count against a stranger."""
        if email is None and not owns_list(actor, self.uow.lists.get_public(list_id)):
            raise EmailAddressRequired()
        return self.unsubscribe(list_id, email=email, subscriber_id=subscriber_id, **options)

    def unsubscribe(self, list_id: int, *, ip: str, email: str | None = None, subscriber_id: int | None = None,
                    campaign_id: int | None = None, email_id: int | None = None, channel: str = "",
                    preview: bool = False, add_to_global_suppression: bool = False) -> tuple[Subscriber, str]:
        """Opt an address out of a list, with the list's opt-out behaviours; `preview` changes nothing.
        The caller vouches for the subscriber (a signed link, or unsubscribe_on_request's rule)."""
        list_row = self.uow.lists.get_public(list_id)
        query = narrowed(select(Subscriber).where(Subscriber.list_id == list_row.id), email, subscriber_id)
        subscriber = self.s.scalar(query.with_for_update())
        if subscriber is None:
            raise SubscriberNotFound()
        campaign = self.membership.owned(Campaign, campaign_id, list_row, CampaignNotFound)
        self.membership.owned(Email, email_id, list_row, EmailNotFound)
        if subscriber.subscription_status == "Unsubscribed":
            raise AlreadyUnsubscribed()
        if preview:
            return subscriber, list_row.unsubscription_confirmed_page_url
        self.membership.opt_out(list_row, subscriber, ip, campaign, email_id, channel, add_to_global_suppression)
        return subscriber, list_row.unsubscription_confirmed_page_url

    # --- the owner's edits -------------------------------------------------------------------------
    def update(self, actor: Actor, list_id: int, subscriber_id: int, changes: dict,
               values: dict[int, object] | None = None, *, enforce_required: bool = False) -> Subscriber:
        """Partial update. `changes`: email, subscription_status, bounce_type, unsubscription_ip,
        unsubscription_date; `values`: custom-field values by field ID (unknown IDs are refused)."""
        list_row = self.uow.lists.get(actor, list_id)
        subscriber = self.s.scalar(select(Subscriber).where(
            Subscriber.id == subscriber_id, Subscriber.list_id == list_row.id).with_for_update())
        if subscriber is None:
            raise SubscriberNotFound()
        fields = self.uow.custom_fields.values_for(list_row)
        status_before = subscriber.subscription_status
        if "email" in changes:
            self._change_email(list_row, subscriber, changes["email"])
        checked = fields.check(values or {}, subscriber_id=subscriber.id, strict=True,
                               enforce_required=enforce_required)
        now = self.uow.clock()
        status = changes.get("subscription_status")
        if status is not None and status != subscriber.subscription_status:
            if status == "Unsubscribed":
                leave_list(subscriber, changes.get("unsubscription_ip", ""), changes.get("unsubscription_date") or now,
                           channel="Owner")
            elif status == "Subscribed":
                subscriber.subscription_status, subscriber.confirmation_due_at = "Subscribed", None
                subscriber.opt_in_date = subscriber.opt_in_date or now
                autoresponders.on_subscribed(self.s, list_row.id, [subscriber.id], now)
            else:  # Opt-In Pending: the owner asks for a (new) confirmation
                subscriber.subscription_status, subscriber.opt_in_date = "Opt-In Pending", None
                subscriber.confirmation_due_at = now
            self.uow.email_subscriptions.owner_changed(list_row.owner_user_id, subscriber)
        if "bounce_type" in changes:
            subscriber.bounce_type = changes["bounce_type"]
            if changes["bounce_type"] == "Not Bounced":
                subscriber.soft_bounce_count = 0
        texts_before = journey_hooks.field_texts(self.s, subscriber.id, list(checked))
        fields.store(subscriber.id, checked)
        self.s.flush()
        journey_hooks.after_update(self.s, list_row.id, subscriber.id, status_before, subscriber.subscription_status,
                                   texts_before, checked, now)
        return subscriber

    def _change_email(self, list_row: SubscriberList, subscriber: Subscriber, email: str) -> None:
        normalized = normalize_email(email)
        if normalized is None:
            raise InvalidEmailAddress(f"{email!r} is not a valid email address")
        if normalized != subscriber.email_normalized and self.s.scalar(select(Subscriber.id).where(
                Subscriber.list_id == list_row.id, Subscriber.email_normalized == normalized)):
            raise SubscriberExists()
        subscriber.email_address, subscriber.email_normalized = email.strip()[:255], normalized

    def import_csv(self, actor: Actor, list_id: int, stream, options, progress=None):
        """Import subscribers from a CSV byte stream (engine/audience/importer.py)."""
        from engine.audience.importer import SubscriberImporter

        return SubscriberImporter(self.uow).run(actor, list_id, stream, options, progress=progress)


def owns_list(actor: Actor | None, list_row: SubscriberList) -> bool:
    """Whether the caller's credentials are the list owner's (or an administrator's)."""
    return actor is not None and (actor.is_admin or actor.id == list_row.owner_user_id)
