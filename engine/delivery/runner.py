"""The delivery runner: claim ledger rows, render, send, record — each recipient at most once.

A worker loops over batches: it claims up to `batch_size` pending rows of instances whose campaign
is Sending, then for each row re-checks that the address may still be mailed, renders the message
from the instance's skeleton (built once per instance and cached), hands it to the transport and
records the outcome in its own transaction, committed right after the SMTP reply:

* 250 → `sent` (sent_at, message_id), campaign total_sent + 1, in the same transaction;
* 5xx → `failed` (last_error), campaign total_failed + 1;
* 4xx / no relay → back to `pending` with attempts + 1 and `lease_until` reused as "not before"
  (exponential backoff); after `max_attempts` → `failed`;
* a 4xx or hang-up *after* the message was transmitted (`maybe_sent`) → `unknown`, never retried;
* unsubscribed, hard-bounced, complained or suppressed by now → `skipped`, nothing is sent.

Claiming. PostgreSQL and MariaDB: `SELECT … FOR UPDATE SKIP LOCKED` on the pending rows, then an
UPDATE to `claimed` (worker, lease_until), committed; concurrent workers never wait on each other.
SQLite (one writer at a time): a compare-and-set `UPDATE … WHERE id IN (…) AND state='pending'`;
the rows that are ours afterwards are read back by (worker, lease_until). The scan is keyset-paged
(`id > last claimed id`, on the (instance_id, state, id) index), so a claim costs the same at row
1,000,000 as at row 1; it wraps to the start once the tail is exhausted (retries wait behind).

Crash rule (at-most-once). Right before a message is handed to the relay, its Message-ID is written to
the row and committed ("handed over"). A worker that dies leaves its batch `claimed`; once the lease
has expired, the next runner marks the handed-over rows `unknown` and never retries them (the
message may or may not have reached the relay: a missing message is preferred to a duplicate), so
at most one row per connection killed mid-transaction is lost. Claimed rows that were never handed
over go back to `pending`, and everything `pending` is simply resumed by any worker. A worker never
hands over a row it no longer holds; one that outlives its lease still records the relay's answer.

Pause and cancel take effect within one batch: the campaign's status is read before every claim and
again every `check_every` messages; the unsent rows of a batch whose campaign left Sending go back to
`pending` (the tick then skips them on cancel, or they wait for Resume).
"""
from __future__ import annotations

import logging
import re
import socket
import os
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import aliased

from engine.delivery.compose import Content, Sending, Skeleton, build_skeleton
from engine.delivery.personalize import EMAIL_ADDRESS, SUBSCRIBER_ID
from engine.models import (
    Campaign, CustomField, Delivery, Email, SendInstance, Subscriber, SubscriberFieldValue, SubscriberList,
    Suppression, User,
)
from engine.models.sending import OPEN_INSTANCE_STATES

log = logging.getLogger("sendmill.delivery")

# The recipient row, aliased so that the complaint check can look at the person's other rows.
_person = aliased(Subscriber)
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^>\r\n]{1,250})>", re.M | re.I)


@dataclass
class RunSummary:
    sent: int = 0
    failed: int = 0
    retried: int = 0        # temporary failures put back to pending for a later attempt
    skipped: int = 0
    unknown: int = 0        # maybe-sent replies, plus expired leases of crashed workers
    released: int = 0       # claimed rows handed back (pause, cancel, end of the budget)
    batches: int = 0
    idle: bool = False      # the run ended because nothing was claimable
    waiting: int = 0        # pending rows waiting for their retry time when the run ended

    def line(self) -> str:
        text = (f"{self.sent} sent, {self.failed} failed, {self.retried} to retry, {self.skipped} skipped, "
                f"{self.unknown} unknown in {self.batches} batches")
        if self.waiting:
            text += f"; {self.waiting} waiting for a retry"
        return text

    def add(self, other: "RunSummary") -> None:
        for name in ("sent", "failed", "retried", "skipped", "unknown", "released", "batches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.idle, self.waiting = other.idle, other.waiting


@dataclass
class _Prepared:
    skeleton: Skeleton | None
    error: str = ""                       # why the content cannot be rendered (every row then fails)
    owner_id: int = 0
    lists: dict[int, dict] = field(default_factory=dict)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


class DeliveryRunner:
    def __init__(self, engine, transport, *, worker_id: str | None = None, batch_size: int = 200,
                 clock: Callable[[], datetime] | None = None, lease: timedelta = timedelta(minutes=5),
                 max_attempts: int = 5, backoff: timedelta = timedelta(minutes=1), check_every: int = 20,
                 progress: Callable[[RunSummary], None] | None = None):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.engine = engine
        self.transport = transport
        self.worker_id = (worker_id or default_worker_id())[:128]
        self.batch_size = batch_size
        self.clock = clock or engine.clock
        self.lease = lease
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.check_every = max(1, check_every)
        self.progress = progress
        self.signer = engine.settings.signer()
        self.bounce_domain = engine.settings.return_path_domain
        self._prepared: dict[int, _Prepared] = {}
        self._hint: dict[int, int] = {}       # instance id -> last id claimed (keyset scan)
        self._stop = False

    # --- driving ---------------------------------------------------------------------------------
    def stop(self, *_args) -> None:
        """Finish the message in flight, hand the rest of the batch back, return (signal-safe)."""
        self._stop = True

    def run_once(self, budget_seconds: float = 50.0) -> RunSummary:
        """Send until nothing is claimable or `budget_seconds` (wall time) are spent."""
        deadline = time.monotonic() + budget_seconds
        summary = RunSummary()
        with self.engine.uow() as uow:
            s = uow.session
            summary.unknown += self._expire_leases(s)
            while not self._stop and time.monotonic() < deadline:
                batch = self._claim(s)
                if not batch:
                    summary.idle = True
                    break
                summary.batches += 1
                self._process(s, batch, summary, deadline)
                if self.progress:
                    self.progress(summary)
            if summary.idle:   # then only rows waiting for their retry time can be pending: a short count
                summary.waiting = self._waiting(s)
        return summary

    def run_forever(self, idle_sleep: float = 5.0, budget_seconds: float = 60.0) -> RunSummary:
        """Keep sending until stop() (SIGTERM / SIGINT); sleeps `idle_sleep` when there is no work."""
        total = RunSummary()
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not self._stop:
                run = self.run_once(budget_seconds)
                total.add(run)
                if run.idle and not self._stop:
                    time.sleep(idle_sleep)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return total

    # --- claiming --------------------------------------------------------------------------------
    def _sending_instances(self, s) -> list[tuple[int, int]]:
        rows = s.execute(
            select(SendInstance.id, SendInstance.campaign_id)
            .join(Campaign, Campaign.id == SendInstance.campaign_id)
            .where(SendInstance.state.in_(OPEN_INSTANCE_STATES), Campaign.status == "Sending")
            .order_by(SendInstance.id)).all()
        s.commit()
        return [(r[0], r[1]) for r in rows]

    def _expire_leases(self, s) -> int:
        """Crash rule: expired claims handed to a relay become unknown (never retried); the others pending."""
        now = self.clock()
        open_ids = select(SendInstance.id).where(SendInstance.state.in_(OPEN_INSTANCE_STATES))
        expired = (Delivery.instance_id.in_(open_ids), Delivery.state == "claimed", Delivery.lease_until < now)
        lost = s.execute(
            update(Delivery).where(*expired, Delivery.message_id != "")
            .values(state="unknown", lease_until=None,
                    last_error="the worker sending this message stopped before recording the relay's answer; "
                               "not retried (at most once)")
            .execution_options(synchronize_session=False))
        s.execute(update(Delivery).where(*expired, Delivery.message_id == "")
                  .values(state="pending", worker="", lease_until=None)
                  .execution_options(synchronize_session=False))
        s.commit()
        if lost.rowcount:
            log.warning("%d deliveries were in flight in a worker that stopped; now unknown", lost.rowcount)
        return lost.rowcount

    def _claim(self, s) -> list[tuple[Delivery, int]]:
        """The next batch of rows claimed by this worker: [(row, campaign id)]."""
        sending = self._sending_instances(s)
        live = {instance_id for instance_id, _ in sending}
        for gone in [i for i in self._prepared if i not in live]:   # a long-running worker forgets
            del self._prepared[gone]                                  # finished and paused instances
        for gone in [i for i in self._hint if i not in live]:
            del self._hint[gone]
        for instance_id, campaign_id in sending:
            rows = self._claim_from(s, instance_id, self._hint.get(instance_id, 0))
            if not rows and self._hint.get(instance_id):
                rows = self._claim_from(s, instance_id, 0)   # wrap: retries wait behind the hint
            if rows:
                self._hint[instance_id] = max(r.id for r in rows)
                # queued → sending the first time anything of the instance is claimed.
                s.execute(update(SendInstance).where(SendInstance.id == instance_id, SendInstance.state == "queued")
                          .values(state="sending").execution_options(synchronize_session=False))
                s.commit()
                return [(r, campaign_id) for r in rows]
        return []

    def _claim_from(self, s, instance_id: int, after_id: int) -> list[Delivery]:
        now = self.clock()
        lease_until = now + self.lease
        candidates = (select(Delivery.id)
                      .where(Delivery.instance_id == instance_id, Delivery.state == "pending",
                             Delivery.id > after_id,
                             or_(Delivery.lease_until.is_(None), Delivery.lease_until <= now))
                      .order_by(Delivery.id).limit(self.batch_size))
        dialect = s.get_bind().dialect.name
        if dialect != "sqlite":
            candidates = candidates.with_for_update(skip_locked=True)
        ids = list(s.scalars(candidates))
        if not ids:
            s.commit()
            return []
        s.execute(update(Delivery).where(Delivery.id.in_(ids), Delivery.state == "pending")
                  .values(state="claimed", worker=self.worker_id, lease_until=lease_until)
                  .execution_options(synchronize_session=False))
        s.commit()
        # Read back what is ours: on SQLite another worker may have won some rows of the same scan.
        return list(s.scalars(select(Delivery).where(Delivery.id.in_(ids), Delivery.state == "claimed",
                                                     Delivery.worker == self.worker_id,
                                                     Delivery.lease_until == lease_until)
                              .order_by(Delivery.id).execution_options(populate_existing=True)))

    def _waiting(self, s) -> int:
        count = s.scalar(select(func.count()).select_from(Delivery).join(
            SendInstance, SendInstance.id == Delivery.instance_id).join(
            Campaign, Campaign.id == SendInstance.campaign_id).where(
            SendInstance.state.in_(OPEN_INSTANCE_STATES), Campaign.status == "Sending",
            Delivery.state == "pending"))
        s.commit()
        return count or 0

    # --- sending ---------------------------------------------------------------------------------
    def _process(self, s, batch: list[tuple[Delivery, int]], summary: RunSummary, deadline: float) -> None:
        for position, (row, campaign_id) in enumerate(batch):
            stop = self._stop or time.monotonic() >= deadline
            if not stop and position and position % self.check_every == 0:
                stop = s.scalar(select(Campaign.status).where(Campaign.id == campaign_id)) != "Sending"
                s.commit()
            if stop:
                summary.released += self._release(s, [r.id for r, _ in batch[position:]])
                return
            self._deliver(s, row, campaign_id, summary)

    def _release(self, s, ids: list[int]) -> int:
        result = s.execute(update(Delivery).where(Delivery.id.in_(ids), Delivery.state == "claimed",
                                                  Delivery.worker == self.worker_id)
                           .values(state="pending", worker="", lease_until=None)
                           .execution_options(synchronize_session=False))
        s.commit()
        return result.rowcount

    def _deliver(self, s, row: Delivery, campaign_id: int, summary: RunSummary) -> None:
        prepared = self._prepare(s, row.instance_id, campaign_id)
        subscriber, reason = self._may_not_mail(s, row.subscriber_id, prepared.owner_id)
        if reason:
            self._record(s, row, campaign_id, "skipped", error=reason)
            summary.skipped += 1
            return
        if prepared.skeleton is None:
            self._record(s, row, campaign_id, "failed", error=prepared.error, attempted=False)
            summary.failed += 1
            return
        try:
            message = prepared.skeleton.render(self._context(s, subscriber, prepared), self.clock())
        except (ValueError, KeyError) as exc:
            self._record(s, row, campaign_id, "failed", error=f"the message cannot be built: {exc}",
                         attempted=False)
            summary.failed += 1
            return
        found = _MESSAGE_ID.search(message.data)
        message_id = (found.group(1).decode("ascii") if found else f"{row.instance_id}.{row.id}")[:255]
        # Handed over: from this commit on, a crash makes this row unknown rather than pending.
        held = s.execute(update(Delivery).where(Delivery.id == row.id, Delivery.state == "claimed",
                                                Delivery.worker == self.worker_id)
                         .values(message_id=message_id).execution_options(synchronize_session=False))
        s.commit()   # also: no transaction stays open while the relay talks
        if held.rowcount != 1:
            log.warning("delivery %d is no longer held by %s; not sent", row.id, self.worker_id)
            return
        result = self.transport.send(message.envelope_from, message.recipient, message.data)
        reply = f"{result.code or ''} {result.text}".strip()[:1000]
        if result.status == "sent":
            self._record(s, row, campaign_id, "sent", message_id=message_id)
            summary.sent += 1
        elif result.status == "permanent":
            self._record(s, row, campaign_id, "failed", error=reply)
            summary.failed += 1
        elif result.maybe_sent:
            self._record(s, row, campaign_id, "unknown", error=reply)
            summary.unknown += 1
        elif row.attempts + 1 >= self.max_attempts:
            self._record(s, row, campaign_id, "failed", error=f"gave up after {row.attempts + 1} attempts: {reply}")
            summary.failed += 1
        else:
            self._record(s, row, campaign_id, "pending", error=reply)
            summary.retried += 1

    def _record(self, s, row: Delivery, campaign_id: int, state: str, *, error: str = "",
                message_id: str = "", attempted: bool = True) -> None:
        """The outcome of one row and the campaign counter, in one transaction."""
        now = self.clock()
        values: dict = {"state": state, "last_error": error}
        if state == "sent":
            values.update(sent_at=now, message_id=message_id[:255], lease_until=None, attempts=row.attempts + 1)
        elif state == "pending":
            attempts = row.attempts + 1
            values.update(worker="", attempts=attempts, message_id="",
                          lease_until=now + self.backoff * (2 ** (attempts - 1)))
        elif state in ("failed", "unknown"):
            values.update(lease_until=None, attempts=row.attempts + (1 if attempted else 0))
        else:   # skipped
            values.update(lease_until=None)
        # A lease that expired meanwhile made the row unknown; the relay's answer is still the truth.
        result = s.execute(update(Delivery).where(Delivery.id == row.id, Delivery.worker == self.worker_id,
                                                  Delivery.state.in_(("claimed", "unknown")))
                           .values(**values).execution_options(synchronize_session=False))
        if result.rowcount == 1:
            counter = {"sent": "total_sent", "failed": "total_failed"}.get(state)
            if counter:
                column = getattr(Campaign, counter)
                s.execute(update(Campaign).where(Campaign.id == campaign_id).values({column: column + 1})
                          .execution_options(synchronize_session=False))
        s.commit()

    # --- eligibility -------------------------------------------------------------------------------
    def _may_not_mail(self, s, subscriber_id: int, owner_id: int) -> tuple[Subscriber | None, str]:
        """The subscriber, and why it must not be mailed now ("" when it may): read right before sending,
        in one query, so an unsubscribe or complaint that arrived after the ledger was written counts."""
        owner_lists = select(SubscriberList.id).where(SubscriberList.owner_user_id == owner_id)
        complained = exists().where(Subscriber.email_normalized == _person.email_normalized,
                                    Subscriber.list_id.in_(owner_lists), Subscriber.complained_at.is_not(None))
        suppressed = exists().where(Suppression.owner_user_id == owner_id,
                                    Suppression.email_normalized == _person.email_normalized,
                                    or_(Suppression.list_id.is_(None), Suppression.list_id == _person.list_id))
        found = s.execute(select(_person, complained.label("complained"), suppressed.label("suppressed"))
                          .where(_person.id == subscriber_id).execution_options(populate_existing=True)).first()
        if found is None:
            return None, "the subscriber was deleted"
        subscriber = found[0]
        if subscriber.subscription_status != "Subscribed":
            return subscriber, f"the subscriber is {subscriber.subscription_status.lower()}"
        if subscriber.bounce_type == "Hard":
            return subscriber, "the address hard-bounced"
        if found.complained:
            return subscriber, "the address reported a message as spam"
        if found.suppressed:
            return subscriber, "the address is suppressed"
        return subscriber, ""

    # --- rendering ---------------------------------------------------------------------------------
    def _prepare(self, s, instance_id: int, campaign_id: int) -> _Prepared:
        prepared = self._prepared.get(instance_id)
        if prepared is not None:
            return prepared
        campaign = s.get(Campaign, campaign_id)
        email = s.get(Email, campaign.email_id) if campaign.email_id else None
        owner = s.get(User, campaign.owner_user_id)
        prepared = _Prepared(skeleton=None, owner_id=campaign.owner_user_id)
        if email is None:
            prepared.error = "the campaign has no email"
        else:
            aliases = {f.merge_tag_alias.lower(): f.id for f in s.scalars(
                select(CustomField).where(CustomField.owner_user_id == campaign.owner_user_id,
                                          CustomField.merge_tag_alias != ""))}
            constants = {"Campaign:Name": campaign.name, "User:UserID": owner.id,
                         "User:FirstName": owner.first_name, "User:LastName": owner.last_name,
                         "User:EmailAddress": owner.email_address, "User:CompanyName": owner.company_name,
                         "User:TimeZone": owner.time_zone}
            content = Content(subject=email.subject, from_email=email.from_email or owner.email_address,
                              from_name=email.from_name, reply_to_email=email.reply_to_email,
                              reply_to_name=email.reply_to_name, html=email.html_content,
                              text=email.plain_content, pre_header=email.pre_header_text,
                              open_tracking=email.open_tracking, link_tracking=email.link_tracking)
            sending = Sending(signer=self.signer, base_url=self.engine.settings.base_url,
                              bounce_domain=self.bounce_domain, campaign_id=campaign.id,
                              instance_id=instance_id, constants=constants, aliases=aliases)
            try:
                prepared.skeleton = build_skeleton(content, sending)
            except ValueError as exc:
                prepared.error = f"the campaign's email cannot be built: {exc}"
        s.commit()
        self._prepared[instance_id] = prepared
        return prepared

    def _context(self, s, subscriber: Subscriber, prepared: _Prepared) -> dict:
        ctx = {SUBSCRIBER_ID: subscriber.id, EMAIL_ADDRESS: subscriber.email_address,
               "Subscriber:ListID": subscriber.list_id,
               "Subscriber:SubscriptionStatus": subscriber.subscription_status,
               "Subscriber:BounceType": subscriber.bounce_type,
               "Subscriber:SubscriptionDate": subscriber.subscription_date,
               "Subscriber:SubscriptionIP": subscriber.subscription_ip,
               "Subscriber:OptInDate": subscriber.opt_in_date or "",
               "Subscriber:UnsubscriptionDate": subscriber.unsubscription_date or ""}
        for field_id, text in s.execute(select(SubscriberFieldValue.field_id, SubscriberFieldValue.value_text)
                                        .where(SubscriberFieldValue.subscriber_id == subscriber.id)):
            ctx[f"Subscriber:CustomField{field_id}"] = text
        lst = prepared.lists.get(subscriber.list_id)
        if lst is None:
            row = s.get(SubscriberList, subscriber.list_id)
            lst = prepared.lists[subscriber.list_id] = {"List:ListID": subscriber.list_id,
                                                         "List:Name": row.name if row else ""}
        ctx.update(lst)
        return ctx


def smtp_transport(settings):
    """The SMTP pool configured by SENDMILL_SMTP_URL (RelayConfigError when missing or invalid)."""
    from engine.delivery.transport import SmtpPool, parse_relays

    return SmtpPool(parse_relays(settings.smtp_url))
