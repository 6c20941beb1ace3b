"""Email subscriptions: the account-wide subscription and deliverability status of an address.

One row per (owner, normalized address) (engine/models/email_subscriptions.py). Decisions:
* An address without a row reads NOT_SET/NOT_SET, unless the owner's legacy subscriber rows or
  account-wide suppressions say more: the first time a row is needed it starts from that
  derived state (`_derived`), so addresses subscribed before this record existed (or through a
  CSV import) read correctly. Deriving is not a change and records no event.
* UNSUBSCRIBED is enforced through suppression: setting it (API, unsubscribe link, a legacy
  opt-out with global suppression) adds an account-wide suppression (source 'Unsubscribe'),
  which the audience compiler and the send-time check already honour, so no campaign mails the
  address. Leaving it removes the account-wide 'Unsubscribe' suppression of that address
  (bounce, complaint and administrator suppressions stay). The one UNSUBSCRIBED without a
  suppression is "unsubscribed from every list" (legacy opt-outs): no list mails it, and a new
  subscription to a list makes it SUBSCRIBED again, as it always did. Legacy per-list
  subscriber rows are not rewritten by the modern API.
* Legacy changes move the status (the hooks below): becoming Subscribed on a list → SUBSCRIBED,
  but out of an account-wide opt-out only when confirmed (double opt-in code, or the owner's own
  edit: a single opt-in form can carry anyone's address); becoming Opt-In Pending → PENDING only from
  NOT_SET; an opt-out → UNSUBSCRIBED when it was account-wide (global suppression) or when no
  list of the owner still has the address Subscribed or pending. Hard bounce → BOUNCED, spam
  complaint → SPAM_COMPLAINT, an open or click → VALID (from NOT_SET or INACTIVE only).
* Every change of either status records `email_subscription_changed` in the outbox, in the
  same transaction; a write that changes nothing records nothing and keeps `updatedDate`.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select

from engine.audience.email_subscription_records import derived_state, insert_record
from engine.events import outbox
from engine.accounts.auth import Actor
from engine.errors import DomainError, EmailSubscriptionNotFound, InvalidEmailAddress, InvalidValue
from engine.models import EmailSubscription, Subscriber, SubscriberList, Suppression
from engine.models.email_subscriptions import DELIVERABILITY_STATUSES, SUBSCRIPTION_STATUSES
from engine.tracking.tokens import Kind
from engine.validation import normalize_email

MAX_QUERY_EMAILS = 1000
MAX_BULK = 100
UNSUBSCRIBE_REASON = "Email subscription: UNSUBSCRIBED"
NO_SYNC = {"synchronize_session": False}
# What _derived answers for an address whose only legacy row is a new one with this status.
_NEW_ADDRESS_STATE = {"Subscribed": ("SUBSCRIBED", "NOT_SET"), "Opt-In Pending": ("PENDING", "NOT_SET")}
# Built once: every subscription asks it (building a statement costs more CPU than SQLite running it).
_RECORD = select(EmailSubscription).where(EmailSubscription.owner_user_id == bindparam("owner"),
                                          EmailSubscription.email_normalized == bindparam("email"))


def iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def subscription_payload(row: EmailSubscription) -> dict:
    """The modern Emailsubscription object (also the body of the changed event)."""
    return {"id": str(row.id), "email": row.email_address, "subscriptionStatus": row.subscription_status,
            "deliverabilityStatus": row.deliverability_status, "createdDate": iso(row.created_at),
            "updatedDate": iso(row.updated_at)}


@dataclass
class ItemResult:
    """One bulk item: the stored row, or the reason it failed."""
    index: int
    row: EmailSubscription | None = None
    error: DomainError | None = None


def _status(value, allowed: tuple[str, ...], field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.upper() not in allowed:
        raise InvalidValue(field, f"{field} must be one of {', '.join(allowed)}")
    return value.upper()


class EmailSubscriptionService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session
        # Rows created (from the derived state) in this unit of work and not yet announced: their
        # first change is reported against NOT_SET/NOT_SET, so a new record is never silent.
        self._fresh: set[int] = set()
        # (owner, normalized address) -> (record or None, address new to the account) as read (`known`).
        self._known: dict[tuple[int, str], tuple[EmailSubscription | None, bool]] = {}

    def known(self, owner_id: int, normalized: str, row: EmailSubscription | None, *, new_address: bool) -> None:
        """The owner's record of the address as the caller just read it in this unit of work: the next
        lookup of it reads nothing (once; engine/audience/subscription_target.py). A record created in
        between is still found: the insert that would duplicate it does nothing and it is read then.
        `new_address`: no list row or account-wide suppression of the owner's had the address, and until
        the next legacy_subscribed of it the caller writes nothing that would derive another state than
        that call's row alone (a list's opt-in behaviour adding it Subscribed to a second list does not)."""
        self._known[(owner_id, normalized)] = (row, new_address)

    # --- the owner's operations --------------------------------------------------------------------
    def find(self, actor: Actor, emails: list[str] | None, *, offset: int = 0,
              limit: int = 100) -> tuple[list[EmailSubscription], int]:
        """The owner's subscriptions (of `emails` when given), ordered by address."""
        query = select(EmailSubscription).where(EmailSubscription.owner_user_id == actor.id)
        if emails is not None:
            wanted = {}
            for email in emails:
                normalized = self._normalized(email)
                wanted.setdefault(normalized, str(email).strip())
            for normalized in self._known_to_legacy(actor.id, list(wanted)):
                self._row(actor.id, wanted[normalized], normalized)   # materialises the derived state
            query = query.where(EmailSubscription.email_normalized.in_(list(wanted) or [""]))
        total = self.s.scalar(select(func.count()).select_from(query.subquery()))
        rows = self.s.scalars(query.order_by(EmailSubscription.email_normalized).offset(offset).limit(limit))
        return list(rows), total

    def upsert(self, actor: Actor, email, subscription_status=None, deliverability_status=None) -> EmailSubscription:
        """Create or update one address; a status left out keeps its value (NOT_SET for a new one)."""
        sub = _status(subscription_status, SUBSCRIPTION_STATUSES, "subscriptionStatus")
        deliv = _status(deliverability_status, DELIVERABILITY_STATUSES, "deliverabilityStatus")
        normalized = self._normalized(email)
        row = self._row(actor.id, str(email).strip(), normalized, create=True)
        row.email_address = str(email).strip()[:255]
        self._change(row, sub, deliv)
        return row

    def bulk_upsert(self, actor: Actor, items: list) -> list[ItemResult]:
        """Upsert each item ({email, subscription_status, deliverability_status}); one failure fails one item."""
        results = []
        for index, item in enumerate(items):
            try:
                if not isinstance(item, dict):
                    raise InvalidValue("subscription", "each subscription must be an object")
                row = self.upsert(actor, item.get("email"), item.get("subscription_status"),
                                  item.get("deliverability_status"))
                results.append(ItemResult(index, row=row))
            except DomainError as exc:
                results.append(ItemResult(index, error=exc))
        return results

    def unsubscribe_link(self, actor: Actor, email) -> str:
        """A signed link to the public unsubscribe page; it names the record, which is kept if new."""
        normalized = self._normalized(email)
        row = self._row(actor.id, str(email).strip(), normalized, create=True)
        return self.uow.settings.signer().url(self.uow.settings.base_url, Kind.ACCOUNT_UNSUBSCRIBE,
                                               subscriber_id=row.id, nonce=row.public_nonce)

    # --- the public unsubscribe page ---------------------------------------------------------------
    def by_link(self, subscription_id: int, nonce: str | None, *, lock: bool = False) -> EmailSubscription:
        """The record a link names; EmailSubscriptionNotFound when deleted, or when the link was not made
        for this record (its `nonce`, engine/models/link_targets.py)."""
        row = self.s.get(EmailSubscription, subscription_id, with_for_update=lock)
        if row is None or not row.made_for(nonce):
            raise EmailSubscriptionNotFound()
        return row

    def unsubscribe_by_link(self, subscription_id: int, nonce: str | None) -> EmailSubscription:
        row = self.by_link(subscription_id, nonce, lock=True)
        self._change(row, "UNSUBSCRIBED", None)
        return row

    # --- hooks: legacy changes and delivery reports ------------------------------------------------
    def legacy_subscribed(self, owner_id: int, subscriber: Subscriber, *, confirmed: bool = False) -> None:
        """A list membership became Subscribed or Opt-In Pending. Only a `confirmed` opt-in (the
        person confirmed by the emailed code, or the owner decided) lifts an UNSUBSCRIBED: anyone
        can submit a single opt-in form with someone else's address."""
        row = self._row(owner_id, subscriber.email_address, subscriber.email_normalized, create=True,
                        writing=subscriber.subscription_status)
        current = row.subscription_status
        if subscriber.subscription_status == "Opt-In Pending":
            if current == "NOT_SET":
                self._change(row, "PENDING", None)
        elif subscriber.subscription_status == "Subscribed" and (
                confirmed or current != "UNSUBSCRIBED" or not self._opted_out(row)):
            self._change(row, "SUBSCRIBED", None)

    def imported(self, owner_id: int, normalized: list[str]) -> None:
        """The owner imported these addresses as Subscribed: like a subscription, except that an account-wide
        opt-out stands (the import adds the list membership, the suppression keeps the address unmailed).
        One query per chunk: only addresses that have a record, and not SUBSCRIBED, are looked at."""
        for start in range(0, len(normalized), MAX_BULK):
            for row in list(self.s.scalars(select(EmailSubscription).where(
                    EmailSubscription.owner_user_id == owner_id,
                    EmailSubscription.email_normalized.in_(normalized[start:start + MAX_BULK]),
                    EmailSubscription.subscription_status != "SUBSCRIBED"))):
                if row.subscription_status != "UNSUBSCRIBED" or not self._opted_out(row):
                    self._change(row, "SUBSCRIBED", None)

    def legacy_unsubscribed(self, owner_id: int, subscriber: Subscriber, *, account_wide: bool = False) -> None:
        self.s.flush()
        if not account_wide and self._memberships(owner_id, subscriber.email_normalized) & {
                "Subscribed", "Opt-In Pending"}:
            return   # still on another list: the account-wide consent stands
        row = self._row(owner_id, subscriber.email_address, subscriber.email_normalized, create=True)
        # Out of every list needs no suppression (nothing targets the address) and stays a
        # list-level opt-out: a later subscription to a list brings it back, as it always did.
        self._change(row, "UNSUBSCRIBED", None, suppress=account_wide)

    def owner_changed(self, owner_id: int, subscriber: Subscriber) -> None:
        """The owner set a list membership's status (Subscriber.Update): their decision counts as confirmed."""
        if subscriber.subscription_status == "Unsubscribed":
            self.legacy_unsubscribed(owner_id, subscriber)
        else:
            self.legacy_subscribed(owner_id, subscriber, confirmed=True)

    def reported(self, owner_id: int, email: str, normalized: str, deliverability: str) -> None:
        """A hard bounce (BOUNCED), a complaint (SPAM_COMPLAINT) or engagement (VALID)."""
        row = self._row(owner_id, email, normalized, create=True)
        if deliverability == "VALID" and row.deliverability_status not in ("NOT_SET", "INACTIVE"):
            return
        self._change(row, None, deliverability)

    def suppressions_lifted(self, owner_id: int, normalized: list[str]) -> None:
        """The owner removed account-wide suppressions: an UNSUBSCRIBED address would be mailed again,
        so its status becomes NOT_SET (the record must never say UNSUBSCRIBED of a mailable address)."""
        for start in range(0, len(normalized), MAX_BULK):
            for row in list(self.s.scalars(select(EmailSubscription).where(
                    EmailSubscription.owner_user_id == owner_id,
                    EmailSubscription.email_normalized.in_(normalized[start:start + MAX_BULK]),
                    EmailSubscription.subscription_status == "UNSUBSCRIBED"))):
                self._change(row, "NOT_SET", None, lift=False)

    # --- helpers ---------------------------------------------------------------------------------------
    @staticmethod
    def _normalized(email) -> str:
        normalized = normalize_email(email) if isinstance(email, str) else None
        if normalized is None:
            raise InvalidEmailAddress(f"{email!r} is not a valid email address")
        return normalized

    def _row(self, owner_id: int, email: str, normalized: str, *, create: bool = False,
             writing: str | None = None) -> EmailSubscription | None:
        """The stored record; a missing one is created from the legacy state when there is one (or when
        `create`). A concurrent creator makes us re-read, not fail (insert_record)."""
        params = {"owner": owner_id, "email": normalized}
        key = (owner_id, normalized)
        row, new_address = self._known.pop(key) if key in self._known else (self.s.scalar(_RECORD, params), False)
        if row is not None:
            return row
        if new_address and writing in _NEW_ADDRESS_STATE:
            sub, deliv = _NEW_ADDRESS_STATE[writing]   # its one list row is the one being reported
        else:
            sub, deliv = self._derived(owner_id, normalized)
        if not create and (sub, deliv) == ("NOT_SET", "NOT_SET"):
            return None
        now = self.uow.clock()
        row = insert_record(self.s, dict(
            owner_user_id=owner_id, email_address=email[:255], email_normalized=normalized,
            subscription_status=sub, deliverability_status=deliv, created_at=now, updated_at=now))
        if row is None:   # a concurrent transaction created it a moment ago
            return self.s.scalar(_RECORD, params)
        self._fresh.add(row.id)
        return row

    def _known_to_legacy(self, owner_id: int, normalized: list[str]) -> list[str]:
        """Of these addresses, those without a record that legacy rows or suppressions speak of
        (two queries per chunk, so a 1,000-address query does not derive one by one)."""
        found: list[str] = []
        for start in range(0, len(normalized), 500):
            chunk = normalized[start:start + 500]
            have = set(self.s.scalars(select(EmailSubscription.email_normalized).where(
                EmailSubscription.owner_user_id == owner_id, EmailSubscription.email_normalized.in_(chunk))))
            legacy = set(self.s.scalars(select(Subscriber.email_normalized).join(
                SubscriberList, SubscriberList.id == Subscriber.list_id).where(
                SubscriberList.owner_user_id == owner_id, Subscriber.email_normalized.in_(chunk))))
            legacy |= set(self.s.scalars(select(Suppression.email_normalized).where(
                Suppression.owner_user_id == owner_id, Suppression.list_scope == 0,
                Suppression.email_normalized.in_(chunk))))
            found.extend(n for n in chunk if n in legacy and n not in have)
        return found

    def _memberships(self, owner_id: int, normalized: str) -> set[str]:
        return set(self.s.scalars(select(Subscriber.subscription_status).join(
            SubscriberList, SubscriberList.id == Subscriber.list_id).where(
            SubscriberList.owner_user_id == owner_id, Subscriber.email_normalized == normalized).distinct()))

    def _derived(self, owner_id: int, normalized: str) -> tuple[str, str]:
        """What the legacy records say about an address that has no record yet."""
        return derived_state(self.s, owner_id, normalized)

    def _change(self, row: EmailSubscription, sub: str | None, deliv: str | None, *, lift: bool = True,
                suppress: bool = True) -> None:
        before = (row.subscription_status, row.deliverability_status)
        after = (sub or before[0], deliv or before[1])
        if sub == "UNSUBSCRIBED" and suppress:
            self._suppress(row)   # even when already UNSUBSCRIBED: the suppression may have been lifted
        announced = ("NOT_SET", "NOT_SET") if row.id in self._fresh else before
        self._fresh.discard(row.id)
        if after == announced:
            return
        if after != before:
            if before[0] == "UNSUBSCRIBED" and after[0] != "UNSUBSCRIBED" and lift:
                self.s.execute(delete(Suppression).where(
                    Suppression.owner_user_id == row.owner_user_id, Suppression.list_scope == 0,
                    Suppression.email_normalized == row.email_normalized, Suppression.source == "Unsubscribe"),
                    execution_options=NO_SYNC)
            row.subscription_status, row.deliverability_status = after
            row.updated_at = self.uow.clock()
            self.s.flush()
        self.uow.outbox.record(owner_user_id=row.owner_user_id, entity_fqdn=outbox.EMAIL_SUBSCRIPTION,
                               slug="email_subscription_changed", entity_id=row.id,
                               body={"subscription": subscription_payload(row)})

    def _opted_out(self, row: EmailSubscription) -> bool:
        """Whether an account-wide opt-out (an 'Unsubscribe' suppression for the whole account) stands."""
        return self.s.scalar(select(Suppression.id).where(
            Suppression.owner_user_id == row.owner_user_id, Suppression.list_scope == 0,
            Suppression.email_normalized == row.email_normalized, Suppression.source == "Unsubscribe")) is not None

    def _suppress(self, row: EmailSubscription) -> None:
        # add() is a no-op when the address is already suppressed account-wide (any source).
        self.uow.suppression.add(row.owner_user_id, row.email_address, source="Unsubscribe",
                                 reason=UNSUBSCRIBE_REASON)
