"""Mailing due automation sends: what the delivery workers (`sendmill worker`, DeliveryRunner) do
between campaign batches. `AutomationDelivery` is the part both automation ledgers share (claim, checks,
rounds, hand-over, outcomes: engine/automation/send_ledger.py); `AutoResponderDelivery` says what an
autoresponder's group is (its email, its segment), engine/automation/journeys/delivery.py what a journey
SendEmail action's is.

A batch of due rows is claimed (engine/automation/send_ledger.py), grouped (by autoresponder, by journey
action), and each group re-checked at send time, set-based for the group (for an autoresponder):
* the account: its email-marketing account ACTIVE, the email's From allowed by the sender policy;
* the subscriber: still Subscribed on the list, not hard-bounced, complained or suppressed (the
  campaign check, engine/delivery/recipients.py), and still in the autoresponder's segment when it has
  one (one RulesJson query over the group's subscriber ids, evaluated now, not when enqueued);
anything else is `skipped` with the reason. The message is the autoresponder's email through the
campaign composer: one skeleton per autoresponder and email (personalisation, link and open tracking,
List-Unsubscribe one-click, DKIM, VERP), rendered per recipient. Its tokens name the autoresponder
(engine/automation/tracking.py: an instance id of its own range) and carry the subscriber's nonce.

Messages go out in rounds of `concurrency`: the round's Message-IDs are committed (hand-over), then
the round is sent and its replies recorded. A kill -9 in between leaves at most one round `unknown`.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from engine.audience import compiler, rules
from engine.audience.compiler import CompileContext
from engine.audience.service import DbLookup
from engine.audience.sqlfuncs import prepare_connection
from engine.automation import send_ledger as ledger
from engine.delivery.compose import LINK_NONCE, Content, Sending, Skeleton, build_skeleton, random_token
from engine.delivery.recipients import load_recipients
from engine.delivery.smtp_transaction import Envelope
from engine.errors import DomainError
from engine.models import AutoResponder, CustomField, Email, Segment, Subscriber, User
from engine.models.senders import EmailMarketingAccount
from engine.senders.policy import campaign_from, refusal
from engine.tracking.tokens import NO_NONCE, autoresponder_instance

log = logging.getLogger("sendmill.delivery")


@dataclass
class Prepared:
    source: object                        # the autoresponder / the journey action
    owner_user_id: int
    skeleton: Skeleton | None
    error: str = ""                       # why none of its rows may be sent now (they are skipped)
    list_names: dict[int, str] = field(default_factory=dict)
    copies: tuple[str, ...] = ()          # Cc / Bcc addresses: each message also goes to these


def skipped(source, owner_user_id: int, error: str) -> Prepared:
    return Prepared(source, owner_user_id, None, error)


@dataclass
class BatchCounts:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0
    unknown: int = 0


class AutomationDelivery:
    """A ledger's due rows, grouped by `Claimed.group_id`; a subclass prepares a group (`_prepare`) and may
    refuse some of its subscribers (`_outside`)."""
    ledger: ledger.AutomationLedger

    def __init__(self, engine, transport, *, worker_id: str, batch_size: int, lease: timedelta, clock,
                 signer, bounce_domain: str, max_attempts: int, backoff: timedelta, concurrency: int,
                 retrying=lambda s, work: work()):
        self.engine, self.transport, self.worker_id = engine, transport, worker_id
        self.batch_size, self.lease, self.clock = batch_size, lease, clock
        self.signer, self.bounce_domain = signer, bounce_domain
        self.max_attempts, self.backoff, self.concurrency = max_attempts, backoff, concurrency
        # Runs a committing step again after a deadlock or serialization failure: the claim, the
        # hand-over marks with their round's early outcomes, and the recorded outcomes (workers meet on
        # the ledger's indexes and on the counters of one autoresponder or journey).
        self.retrying = retrying

    def expire_leases(self, s) -> int:
        return self.ledger.expire_leases(s, self.clock())

    def send_batch(self, s, reader, stop=lambda: False) -> BatchCounts | None:
        """Claim and send one batch; None when nothing is due. When `stop()` turns true (the worker is asked
        to stop, its budget is spent) the rows not yet handed over go back to `pending`."""
        rows = self.retrying(s, lambda: self.ledger.claim(s, self.worker_id, self.clock(), self.lease,
                                                          self.batch_size))
        if not rows:
            return None
        counts = BatchCounts()
        groups: dict[int, list[ledger.Claimed]] = defaultdict(list)
        for row in rows:
            groups[row.group_id].append(row)
        for group_id, group in groups.items():
            if stop():
                self._release(s, group)
                continue
            self._send_group(s, reader, group_id, group, counts, stop)
        return counts

    def _release(self, s, rows: list[ledger.Claimed]) -> None:
        def release():
            self.ledger.release(s, self.worker_id, [row.id for row in rows])
            s.commit()
        self.retrying(s, release)

    # --- one group's rows -------------------------------------------------------------------------
    def _send_group(self, s, reader, group_id: int, group: list[ledger.Claimed], counts: BatchCounts,
                    stop) -> None:
        prepared = self._prepare(s, group_id)
        outcomes: list[ledger.Outcome] = []
        if prepared.skeleton is None:
            outcomes = [self._outcome(row, ledger.SKIPPED, prepared.error, attempted=False) for row in group]
            self._store(s, outcomes, counts)
            return
        ids = [row.subscriber_id for row in group]
        recipients = load_recipients(reader, ids, prepared.owner_user_id, prepared.list_names,
                                     needs=prepared.skeleton.needs)
        outside = self._outside(s, prepared, ids)
        nonces = dict(s.execute(select(Subscriber.id, Subscriber.public_nonce).where(Subscriber.id.in_(ids))).all())
        reader.commit()
        ready = []
        now = self.clock()
        for row in group:
            recipient = recipients[row.subscriber_id]
            if recipient.refusal:
                outcomes.append(self._outcome(row, ledger.SKIPPED, recipient.refusal, attempted=False))
            elif row.subscriber_id in outside:
                outcomes.append(self._outcome(row, ledger.SKIPPED, outside[row.subscriber_id], attempted=False))
            else:
                ready.append((row, {**recipient.context, LINK_NONCE: nonces.get(row.subscriber_id) or NO_NONCE}))
        self._store(s, outcomes, counts)
        for start in range(0, len(ready), self.concurrency):
            if stop():
                self._release(s, [row for row, _ in ready[start:]])
                return
            self._send_round(s, prepared, ready[start:start + self.concurrency], now, counts)

    def _send_round(self, s, prepared: Prepared, round_: list, now, counts: BatchCounts) -> None:
        skeleton = prepared.skeleton
        token = random_token()
        messages, outcomes = {}, []
        for row, context in round_:
            try:
                messages[row.id] = (row, skeleton.render(context, now, token))
            except (ValueError, KeyError) as exc:
                outcomes.append(self._outcome(row, ledger.FAILED, f"the message cannot be built: {exc}",
                                              attempted=False))
        prefix, suffix = skeleton.message_id_parts(token)
        mids = {row_id: f"{prefix}{row.subscriber_id}{suffix}" for row_id, (row, _) in messages.items()}
        def hand_over() -> set[int]:
            # The hand-over marks and the round's early outcomes commit together (retried as one): from
            # then on, a crash leaves the handed-over rows unknown.
            held = self.ledger.hand_over(s, self.worker_id, mids)
            self.ledger.record(s, self.worker_id, outcomes, self.clock(), self.backoff)
            s.commit()
            return held
        held = self.retrying(s, hand_over)
        self._count(outcomes, counts)
        going = [messages[row_id] for row_id in mids if row_id in held]
        if not going:
            return
        # The row's outcome is the subscriber's message's; the Cc / Bcc copies go in the same round and
        # their answers are only logged (a refused copy does not make the subscriber's mail fail).
        copies = [(m, address) for _, m in going for address in prepared.copies]
        results = self.transport.start_many(
            [Envelope(m.envelope_from, m.recipient, m.data, wire_safe=True) for _, m in going]
            + [Envelope(m.envelope_from, address, m.data, wire_safe=True) for m, address in copies]).wait()
        for (m, address), result in zip(copies, results[len(going):]):
            if result.status != "sent":
                log.warning("copy of %s to %s not sent: %s %s", m.recipient, address, result.code or "", result.text)
        self._store(s, [self._result(row, result) for (row, _), result in zip(going, results)], counts)

    def _result(self, row: ledger.Claimed, result) -> ledger.Outcome:
        if result.status == "sent":
            return self._outcome(row, ledger.SENT)
        reply = f"{result.code or ''} {result.text}".strip()[:1000]
        if result.status == "permanent":
            return self._outcome(row, ledger.FAILED, reply)
        if result.maybe_sent:
            return self._outcome(row, ledger.UNKNOWN, reply)
        if row.attempts + 1 >= self.max_attempts:
            return self._outcome(row, ledger.FAILED, f"gave up after {row.attempts + 1} attempts: {reply}")
        return self._outcome(row, ledger.RETRY, reply)

    @staticmethod
    def _outcome(row: ledger.Claimed, state: str, error: str = "", *, attempted: bool = True) -> ledger.Outcome:
        return ledger.Outcome(row.id, row.group_id, row.attempts, state, error, attempted)

    def _store(self, s, outcomes: list[ledger.Outcome], counts: BatchCounts) -> None:
        def record():
            self.ledger.record(s, self.worker_id, outcomes, self.clock(), self.backoff)
            s.commit()
        self.retrying(s, record)
        self._count(outcomes, counts)

    @staticmethod
    def _count(outcomes: list[ledger.Outcome], counts: BatchCounts) -> None:
        for outcome in outcomes:
            name = {ledger.RETRY: "retried"}.get(outcome.state, outcome.state)
            setattr(counts, name, getattr(counts, name) + 1)

    # --- a group -----------------------------------------------------------------------------------
    def _prepare(self, s, group_id: int) -> Prepared:
        raise NotImplementedError

    def _outside(self, s, prepared: Prepared, ids: list[int]) -> dict[int, str]:
        """Subscriber id -> reason, for those of `ids` the group refuses now (beyond the campaign checks)."""
        return {}

    @staticmethod
    def _inactive(s, owner_id: int) -> str:
        """Why the owner's account may not send now, or ""."""
        account = s.scalar(select(EmailMarketingAccount.status).where(EmailMarketingAccount.user_id == owner_id))
        return f"the account is {account.lower()}, not active" if account not in (None, "ACTIVE") else ""

    def _skeleton(self, s, owner: User, content: Content, instance_id: int, constants: dict) -> Skeleton:
        """The group's message with the owner's merge-tag aliases; ValueError when it cannot be built."""
        aliases = {f.merge_tag_alias.lower(): f.id for f in s.scalars(
            select(CustomField).where(CustomField.owner_user_id == owner.id, CustomField.merge_tag_alias != ""))}
        constants = {"User:UserID": owner.id, "User:FirstName": owner.first_name, "User:LastName": owner.last_name,
                     "User:EmailAddress": owner.email_address, "User:CompanyName": owner.company_name,
                     "User:TimeZone": owner.time_zone, **constants}
        settings = self.engine.settings
        return build_skeleton(content, Sending(
            signer=self.signer, base_url=settings.base_url, bounce_domain=self.bounce_domain, campaign_id=0,
            instance_id=instance_id, link_nonce=NO_NONCE, constants=constants, aliases=aliases,
            dkim=settings.dkim_key()))


class AutoResponderDelivery(AutomationDelivery):
    ledger = ledger.AUTORESPONDERS

    def _prepare(self, s, responder_id: int) -> Prepared:
        """The autoresponder's skeleton, or why its rows cannot be sent now. Built for every batch: the
        account, the From policy and the email may change between two batches."""
        responder = s.get(AutoResponder, responder_id)
        if responder is None:   # deleted meanwhile (its rows go with it)
            return skipped(AutoResponder(id=responder_id), 0, "the autoresponder was deleted")
        owner = s.get(User, responder.owner_user_id)
        email = s.get(Email, responder.email_id) if responder.email_id else None
        error = self._inactive(s, owner.id) or ("" if email else "the autoresponder has no email")
        if not error:
            from_email = campaign_from(email, owner)
            error = refusal(s, self.engine.settings, owner.id, from_email)
        if error:
            return skipped(responder, owner.id, error)
        content = Content(subject=email.subject, from_email=from_email, from_name=email.from_name,
                          reply_to_email=email.reply_to_email, reply_to_name=email.reply_to_name,
                          html=email.html_content, text=email.plain_content, pre_header=email.pre_header_text,
                          open_tracking=email.open_tracking, link_tracking=email.link_tracking)
        try:
            skeleton = self._skeleton(s, owner, content, autoresponder_instance(responder.id), {
                "Campaign:Name": responder.name, "AutoResponder:Name": responder.name})
        except ValueError as exc:
            return skipped(responder, owner.id, f"the autoresponder's email cannot be built: {exc}")
        return Prepared(responder, owner.id, skeleton)

    def _outside(self, s, prepared: Prepared, ids: list[int]) -> dict[int, str]:
        return self._outside_segment(s, prepared.source, ids)

    def _outside_segment(self, s, responder: AutoResponder, ids: list[int]) -> dict[int, str]:
        """Subscriber id -> reason, for those of `ids` the autoresponder's segment does not select now."""
        if responder.segment_id is None:
            return {}
        segment = s.get(Segment, responder.segment_id)
        reason = "the subscriber is not in the autoresponder's segment"
        if segment is None or not (segment.rules_json or "").strip():
            return {i: reason for i in ids}
        try:
            criteria = rules.parse_criteria(segment.rules_json, segment.rules_operator or "and",
                                            DbLookup(s, segment.owner_user_id), list_id=segment.list_id, strict=False)
        except DomainError as exc:   # criteria that no longer validate select nobody
            return {i: f"the segment's criteria cannot be evaluated: {exc}"[:1000] for i in ids}
        prepare_connection(s)
        query = compiler.criteria_query(criteria, segment.list_id, CompileContext(
            owner_user_id=segment.owner_user_id, now=self.clock())).with_only_columns(Subscriber.id)
        inside = set(s.scalars(query.where(Subscriber.id.in_(ids))))
        return {i: reason for i in ids if i not in inside}
