"""The delivery runner: claim ledger rows, render, send, record — each recipient at most once.

A worker loops over batches: it claims up to `batch_size` pending rows of instances whose campaign
is Sending and sends them in rounds of `concurrency` messages, each round on as many relay
connections at once, all driven from the worker's one thread (engine/delivery/smtp_wire.py). For a
round it re-checks in one query that every address may still be mailed
(engine/delivery/recipients.py), renders the messages from the instance's skeleton (built once
per instance and cached), starts them on the relays, hands over those that hold a connection
(engine/delivery/ledger.py, engine/delivery/flight.py) and lets them go; the replies are recorded in
the same commit as the next round's hand-over, so a round costs one commit:

* 250 → `sent` (sent_at, message_id), campaign total_sent moved by the rows stored;
* 5xx → `failed` (last_error), campaign total_failed likewise;
* 4xx / no relay → back to `pending` with attempts + 1 and `lease_until` reused as "not before"
  (exponential backoff); after `max_attempts` → `failed`;
* a 4xx or hang-up *after* the message was transmitted (`maybe_sent`) → `unknown`, never retried;
* unsubscribed, hard-bounced, complained or suppressed by now → `skipped`, nothing is sent.

Claiming (engine/delivery/claims.py): `FOR UPDATE SKIP LOCKED` on PostgreSQL and MariaDB, a
compare-and-set update on SQLite, keyset-paged so a claim costs the same at row 1,000,000 as at row 1.

Crash rule (at-most-once). Once a message holds a relay connection, and before a byte of the message
itself goes out, its Message-ID is written to its row and committed ("handed over"). (A relay that
offers PIPELINING has the envelope, MAIL/RCPT/DATA, meanwhile: without the payload and its final "."
nothing can be delivered, and a message withdrawn then has its connection closed.) A worker that dies
leaves its batch `claimed`; once the lease has expired, the next runner marks the handed-over rows
`unknown` and never retries them (the message may or may not have reached the relay: a missing message
is preferred to a duplicate). Rows handed over and not yet answered are never more than the connections
the worker holds (a message waiting for a connection is not handed over; a reply is stored before its
connection's next message is handed over), so a killed worker loses at most one row per connection it
had open. Claimed rows that were never handed over go back to `pending`, and everything `pending` is
simply resumed by any worker. A worker never hands over a row it no longer holds; one that outlives
its lease still records the relay's answer.

Pause and cancel take effect at the next hand-over: the campaign's status is read before every claim,
and every hand-over mark is written only while the campaign is Sending (engine/delivery/ledger.STILL_SENDING,
in the same statement: no read of its own per round); the unsent rows of a batch whose campaign left
Sending go back to `pending` (the tick then skips them on cancel, or they wait for Resume). The owner's
email-marketing account is checked with it, in the same statements: nothing is sent for an account that
is not ACTIVE.
"""
from __future__ import annotations

import logging
import os
import random
import socket
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import Row, bindparam, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engine.db import READ_ONLY, is_transient_conflict
from engine.delivery import ledger, ledger_pipeline
from engine.automation.journeys.delivery import JourneyDelivery
from engine.automation.sending import AutoResponderDelivery
from engine.delivery.claims import Claims, waiting_for_retry
from engine.delivery.compose import random_token
from engine.delivery.flight import Flight, Item
from engine.delivery.recipients import load_recipients
from engine.delivery.skeletons import PreparedInstance, prepare_instance
from engine.delivery.smtp_transaction import SendResult
from engine.hot_sql import HotStatement
from engine.models import Campaign
from engine.models.senders import EmailMarketingAccount

log = logging.getLogger("sendmill.delivery")
# Renders between two looks at the round in flight: often enough to keep the relays busy, rarely enough
# that the look (a system call and the replies that came in) is not paid for every message.
_POLL_EVERY = 4
_SUMMARY_FIELD = {ledger.SENT: "sent", ledger.FAILED: "failed", ledger.RETRY: "retried", ledger.UNKNOWN: "unknown",
                  ledger.SKIPPED: "skipped"}
# The campaign's status and its owner's account status (NULL = no account row = ACTIVE), in one query.
_CAMPAIGN_STATUS = HotStatement(
    select(Campaign.status, EmailMarketingAccount.status)
    .outerjoin(EmailMarketingAccount, EmailMarketingAccount.user_id == Campaign.owner_user_id)
    .where(Campaign.id == bindparam("b_campaign")))


def _nothing() -> None:
    pass


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


def retrying(s, work: Callable, attempts: int = 5):
    """`work()` (which commits), run again after a rollback when the server reports a deadlock or a
    serialization failure; concurrent workers on PostgreSQL or MariaDB can meet on the ledger's indexes."""
    for attempt in range(attempts):
        try:
            return work()
        except DBAPIError as exc:
            s.rollback()
            if not is_transient_conflict(exc) or attempt == attempts - 1:
                raise
            log.info("transaction conflict, retrying: %s", exc.orig)
            time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


class DeliveryRunner:
    def __init__(self, engine, transport, *, worker_id: str | None = None, batch_size: int = 200,
                 clock: Callable[[], datetime] | None = None, lease: timedelta = timedelta(minutes=5),
                 max_attempts: int = 5, backoff: timedelta = timedelta(minutes=1),
                 progress: Callable[[RunSummary], None] | None = None, concurrency: int = 1):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.engine = engine
        self.transport = transport
        self.worker_id = (worker_id or default_worker_id())[:128]
        self.batch_size = batch_size
        self.clock = clock or engine.clock
        self.lease = lease
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.progress = progress
        # Messages sent in parallel (each on its own relay connection): a round. A worker killed mid-round
        # leaves at most one `unknown` per connection.
        self.concurrency = concurrency
        self.signer = engine.settings.signer()
        self.bounce_domain = engine.settings.return_path_domain
        self._claims = Claims(self.worker_id, batch_size, lease, self.clock)
        # Autoresponder and journey sends go out between campaign batches (engine/automation/sending.py).
        self._automations = [kind(
            engine, transport, worker_id=self.worker_id, batch_size=batch_size, lease=lease, clock=self.clock,
            signer=self.signer, bounce_domain=self.bounce_domain, max_attempts=max_attempts, backoff=backoff,
            concurrency=concurrency, retrying=retrying) for kind in (AutoResponderDelivery, JourneyDelivery)]
        self._prepared: dict[tuple[int, int | None], PreparedInstance] = {}   # (instance, variation email)
        self._reader = None                   # the run's read-only connection (see _run)
        self._stop = False

    # --- driving ---------------------------------------------------------------------------------
    def stop(self, *_args) -> None:
        """Finish the message in flight, hand the rest of the batch back, return (signal-safe)."""
        self._stop = True

    def run_once(self, budget_seconds: float = 50.0) -> RunSummary:
        """Send until nothing is claimable or `budget_seconds` (wall time) are spent."""
        return self._run(time.monotonic() + budget_seconds)

    def _run(self, deadline: float) -> RunSummary:
        summary = RunSummary()
        # Two connections held for the whole run (no pool round trip per transaction): the session's, for
        # the ledger, and one that only reads, for the recipients' eligibility and the campaign's status
        # (on SQLite it then never takes the write lock). Its reads are single statements, so on the servers
        # it runs without a transaction: a read is one round trip instead of three (BEGIN, read, COMMIT).
        # Anything not committed is rolled back when the run ends.
        with self.engine.db.connect() as writer, self.engine.db.connect() as reader, \
                Session(bind=writer, expire_on_commit=False) as s:
            reader.execution_options(**({READ_ONLY: True} if reader.dialect.name == "sqlite" else
                                        {"isolation_level": "AUTOCOMMIT"}))
            self._reader = reader
            summary.unknown += self._claims.expire_leases(s)
            for automation in self._automations:
                summary.unknown += automation.expire_leases(s)
            while not self._stop and time.monotonic() < deadline:
                batch = retrying(s, lambda: self._claims.next_batch(s))
                for gone in [key for key in self._prepared if key[0] not in self._claims.live]:
                    del self._prepared[gone]     # a long-running worker forgets finished and paused instances
                if batch:
                    summary.batches += 1
                    self._process(s, batch, summary, deadline)
                    if self.progress:
                        self.progress(summary)
                # One batch of due autoresponder sends and one of journey sends after each campaign batch:
                # a long campaign does not hold a welcome email back.
                sent_automations = not self._stop and time.monotonic() < deadline and \
                    self._send_automations(s, reader, summary, deadline)
                if not batch and not sent_automations:
                    summary.idle = True
                    break
            if summary.idle:   # then only rows waiting for their retry time can be pending: a short count
                summary.waiting = waiting_for_retry(s)
        return summary

    def _send_automations(self, s, reader, summary: RunSummary, deadline: float) -> bool:
        """One batch of due sends of each automation ledger; False when none is due."""
        sent = False
        for automation in self._automations:
            if not self._stop and time.monotonic() < deadline:
                sent = self._send_automation(automation, s, reader, summary, deadline) or sent
        return sent

    def _send_automation(self, automation, s, reader, summary: RunSummary, deadline: float) -> bool:
        counts = automation.send_batch(s, reader, lambda: self._stop or time.monotonic() >= deadline)
        if counts is None:
            return False
        summary.batches += 1
        for name in ("sent", "failed", "retried", "skipped", "unknown"):
            setattr(summary, name, getattr(summary, name) + getattr(counts, name))
        if self.progress:
            self.progress(summary)
        return True

    # --- sending ---------------------------------------------------------------------------------
    def _process(self, s, batch: list[tuple[Row, int]], summary: RunSummary, deadline: float) -> None:
        """Send a claimed batch in rounds of `concurrency` messages, one commit per round.

        While round r is with the relays (polled between two renders), round r+1 is checked and
        rendered; when r has its replies, r+1 is started (each message gets a connection and holds it),
        then r's outcomes and the hand-over marks of r+1's messages on a connection are committed
        together, and those go on (engine/delivery/flight.py). The hand-over itself checks that the
        campaign is still Sending (ledger.STILL_SENDING): when it hands nothing over, the campaign's status
        is read, and a campaign that left Sending gets the rest of its batch back."""
        position = 0
        campaign_id = batch[0][1]             # a batch is one instance's
        # Rows whose hand-over was refused (the campaign left Sending, or a lease expired and they are not
        # ours any more): given back with the next commit (the release's guards skip those not ours).
        refused: list[int] = []
        flight: Flight | None = None          # the round with the relays
        while True:
            rows = batch[position:position + self.concurrency]
            ready, parts, finished = self._prepare_round(s, rows, flight.poll if flight else _nothing)
            outcomes = finished + (self._land(s, flight, summary, refused) if flight else [])
            flight = None
            stop = self._stop or time.monotonic() >= deadline or bool(refused) and self._stopped(campaign_id)
            holding, handing_over = [], ledger.NOTHING
            if not stop and ready:
                flight = Flight(ready, self.transport.start_many([item.envelope() for item in ready]), parts)
                holding, handing_over = flight.holding()
            rest = refused + ([r.id for r, _ in batch[position:]] if stop else [])
            refused = []
            held, released = self._settle(s, handing_over, outcomes, rest)
            summary.released += released
            self._count(summary, outcomes)
            if stop:
                return
            if flight and len(held) < len(holding):
                if self._stopped(campaign_id):
                    self._call_off(s, flight, holding, held, [r.id for r, _ in batch[position:]], summary)
                    return
                refused = [flight.items[i].row_id for i in holding if flight.items[i].row_id not in held]
            if flight:
                self._let_go(flight, holding, held)
            position += len(rows)
            if flight is None and position >= len(batch):
                return

    def _stopped(self, campaign_id: int) -> bool:
        """Whether the campaign left Sending or its owner's account is no longer ACTIVE (read now)."""
        status, account = _CAMPAIGN_STATUS.execute(self._reader, {"b_campaign": campaign_id}).first() or (None, None)
        self._reader.commit()   # no transaction stays open while the relays talk
        return status != "Sending" or account not in (None, "ACTIVE")

    def _call_off(self, s, flight: Flight, holding: list[int], held: set[int], rest: list[int],
                  summary: RunSummary) -> None:
        """The campaign left Sending before its round was handed over: withdraw what was not (a message that
        gets its connection later is refused by its hand-over too), record what was, give the rest back."""
        flight.let_go(holding, held)
        outcomes = self._land(s, flight, summary, [])
        _, released = self._settle(s, ledger.NOTHING, outcomes, rest)
        summary.released += released
        self._count(summary, outcomes)

    def _let_go(self, flight: Flight, holding: list[int], held: set[int]) -> None:
        lost = [flight.items[i].row_id for i in holding if flight.items[i].row_id not in held]
        if lost:
            log.warning("deliveries %s are no longer held by %s; not sent", lost, self.worker_id)
        flight.let_go(holding, held)

    def _land(self, s, flight: Flight, summary: RunSummary, refused: list[int]) -> list[ledger.Outcome]:
        """Wait for the round's replies; their outcomes, to store. A message that gets its connection only
        now is handed over first, in a commit that also stores the replies received so far; the rows whose
        hand-over was refused (the campaign left Sending, or a lease expired) are added to `refused`."""
        def on_hold(indexes: list[int]) -> list[int]:
            answered = self._outcomes(flight.replies())
            held, _ = self._settle(s, flight.hand_over(indexes), answered, [])
            self._count(summary, answered)
            refused.extend(flight.items[i].row_id for i in indexes if flight.items[i].row_id not in held)
            return flight.allowed(indexes, held)

        try:
            flight.round.wait(on_hold)
        except Exception as exc:  # noqa: BLE001 - a transport bug must not leave the rows undecided
            log.exception("sending deliveries %s failed unexpectedly", [item.row_id for item in flight.items])
            return self._outcomes(flight.replies()) + flight.unsettled(
                f"the transport failed unexpectedly: {exc}"[:1000])
        return self._outcomes(flight.replies())

    def _settle(self, s, handing_over: ledger.HandOver, outcomes: list[ledger.Outcome],
                release: list[int]) -> tuple[set[int], int]:
        """One transaction: the outcomes so far, the hand-over marks of messages on a connection, rows handed
        back. Run again from the start when the database reports a deadlock: every write in it is idempotent."""
        write = ledger_pipeline.settle if ledger_pipeline.applies(s.connection()) else ledger.settle

        def settle():   # also commits: no transaction stays open while the relays talk
            return write(s, self.worker_id, handing_over, outcomes, release, self.clock(), self.backoff)
        return retrying(s, settle)

    def _prepare_round(self, s, rows: list[tuple[Row, int]], poll: Callable[[], None]
                       ) -> tuple[list[Item], tuple[str, str], list[ledger.Outcome]]:
        """Rows that may be sent, rendered, with their Message-IDs' common parts; and the outcomes of those
        that must not be sent (skipped, unbuildable). `poll` keeps the round in flight moving between two
        messages."""
        if not rows:
            return [], ("", ""), []
        instance_id, campaign_id = rows[0][0].instance_id, rows[0][1]   # a batch is one instance's
        # One skeleton per email: an A/B campaign's rows name their variation.
        variants = {row.email_id: self._prepare(s, instance_id, campaign_id, row.email_id) for row, _ in rows}
        prepared = next(iter(variants.values()))
        needs = frozenset().union(*(p.needs for p in variants.values()))
        recipients = load_recipients(self._reader, [row.subscriber_id for row, _ in rows], prepared.owner_id,
                                     prepared.list_names, needs=needs)
        # It must end before the runner waits for the previous round's replies: no transaction may stay
        # open while relays talk.
        self._reader.commit()
        ready, finished = [], []
        now = self.clock()
        round_token = random_token()
        for position, (row, campaign_id) in enumerate(rows):
            item = Item(row.id, campaign_id, row.subscriber_id, row.attempts)
            prepared = variants[row.email_id]
            recipient = recipients[row.subscriber_id]
            if recipient.refusal:
                finished.append(item.outcome(ledger.SKIPPED, recipient.refusal, attempted=False))
                continue
            if prepared.skeleton is None:
                finished.append(item.outcome(ledger.FAILED, prepared.error, attempted=False))
                continue
            if position % _POLL_EVERY == 0:
                poll()
            try:
                item.message = prepared.skeleton.render(recipient.context, now, round_token)
            except (ValueError, KeyError) as exc:
                finished.append(item.outcome(ledger.FAILED, f"the message cannot be built: {exc}", attempted=False))
                continue
            ready.append(item)
        if not ready:
            return ready, ("", ""), finished
        # The Message-ID parts depend on the instance only: any variation's skeleton gives them.
        skeleton = next(p.skeleton for p in variants.values() if p.skeleton is not None)
        return ready, skeleton.message_id_parts(round_token), finished

    def _outcomes(self, replies: list[tuple[Item, SendResult]]) -> list[ledger.Outcome]:
        return [self._outcome(item, result) for item, result in replies]

    def _outcome(self, item: Item, result: SendResult) -> ledger.Outcome:
        if result.status == "sent":
            return item.outcome(ledger.SENT)
        reply = f"{result.code or ''} {result.text}".strip()[:1000]
        if result.status == "permanent":
            return item.outcome(ledger.FAILED, reply)
        if result.maybe_sent:
            return item.outcome(ledger.UNKNOWN, reply)
        if item.attempts + 1 >= self.max_attempts:
            return item.outcome(ledger.FAILED, f"gave up after {item.attempts + 1} attempts: {reply}")
        return item.outcome(ledger.RETRY, reply)

    @staticmethod
    def _count(summary: RunSummary, outcomes: list[ledger.Outcome]) -> None:
        for state, count in Counter(outcome.state for outcome in outcomes).items():
            name = _SUMMARY_FIELD[state]
            setattr(summary, name, getattr(summary, name) + count)

    def _prepare(self, s, instance_id: int, campaign_id: int, email_id: int | None = None) -> PreparedInstance:
        prepared = self._prepared.get((instance_id, email_id))
        if prepared is None:
            prepared = self._prepared[(instance_id, email_id)] = prepare_instance(
                s, self.engine.settings, self.signer, self.bounce_domain, instance_id, campaign_id, email_id)
            s.commit()
        return prepared


def smtp_transport(settings):
    """The SMTP pool configured by SENDMILL_SMTP_URL (RelayConfigError when missing or invalid)."""
    from engine.delivery.relays import parse_relays
    from engine.delivery.transport import SmtpPool

    return SmtpPool(parse_relays(settings.smtp_url))
