"""An automation send ledger's state changes as workers send: claim, hand over, record, expire.

Two ledgers share these rules: `autoresponder_sends` (AUTORESPONDERS, grouped by autoresponder) and
`journey_sends` (JOURNEYS, grouped by SendEmail action): one `AutomationLedger` each, naming its table,
its group column and the counters a stored outcome moves.

The same rules as the campaign ledger (engine/delivery/claims.py, engine/delivery/ledger.py):
* claim: the due `pending` rows (due_at and any retry time passed), oldest first, `FOR UPDATE SKIP
  LOCKED` on PostgreSQL and MariaDB (SQLite ignores it and runs one writer at a time), then a
  compare-and-set `UPDATE … WHERE id IN (…) AND state = 'pending'` and a read-back of the rows this
  worker now holds (worker, lease_until): two workers never hold one row;
* hand over: the Message-ID is written to the row and committed before the message is given to a relay;
* crash rule (at-most-once): a claimed row whose lease expired becomes `unknown` when it carries a
  Message-ID (it may have been sent) and is never retried; one without goes back to `pending`;
* every write after the claim is guarded by `worker = me`, so a worker that outlived its lease changes
  nothing another took over (an answer may still overwrite `unknown`: the relay's reply is the truth).

Counters of the autoresponder (total_sent, total_delivered, total_failed) move by the rows stored; a
journey's figures are read from its ledger (engine/automation/journeys/stats.py), so it has none.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from engine.models import AutoResponder, JourneySend
from engine.models.automation import AutoResponderSend

SENT, FAILED, RETRY, UNKNOWN, SKIPPED = "sent", "failed", "pending", "unknown", "skipped"
LOST = ("the worker sending this message stopped before recording the relay's answer; not retried (at most once)")


@dataclass
class Claimed:
    id: int
    group_id: int           # the autoresponder / the SendEmail action
    subscriber_id: int
    email_id: int | None
    attempts: int


@dataclass
class Outcome:
    row_id: int
    group_id: int
    attempts: int           # attempts before this one
    state: str              # SENT | FAILED | RETRY | UNKNOWN | SKIPPED
    error: str = ""
    attempted: bool = True


def _autoresponder_counters(s, responder_id: int, state: str, count: int) -> None:
    columns = ("total_sent", "total_delivered") if state == SENT else ("total_failed",)
    s.execute(update(AutoResponder).where(AutoResponder.id == responder_id)
              .values({name: getattr(AutoResponder, name) + count for name in columns})
              .execution_options(synchronize_session=False))


class AutomationLedger:
    def __init__(self, model, group: str, counters=None):
        self.model, self.group, self.counters = model, group, counters

    def expire_leases(self, s, now: datetime) -> int:
        """Crash rule: expired claims handed to a relay become unknown; the others pending. Committed."""
        _s = self.model
        expired = (_s.state == "claimed", _s.lease_until < now)
        lost = s.execute(update(_s).where(*expired, _s.message_id != "")
                         .values(state=UNKNOWN, lease_until=None, last_error=LOST)
                         .execution_options(synchronize_session=False))
        s.execute(update(_s).where(*expired, _s.message_id == "").values(state="pending", worker="", lease_until=None)
                  .execution_options(synchronize_session=False))
        s.commit()
        return max(lost.rowcount or 0, 0)

    def claim(self, s, worker: str, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
        """Up to `limit` due rows, now held by `worker` until now + lease. Committed."""
        _s = self.model
        due = (_s.state == "pending", _s.due_at <= now, or_(_s.lease_until.is_(None), _s.lease_until <= now))
        ids = list(s.scalars(select(_s.id).where(*due).order_by(_s.due_at, _s.id).limit(limit)
                             .with_for_update(skip_locked=True)))
        if not ids:
            s.commit()
            return []
        until = now + lease
        s.execute(update(_s).where(_s.id.in_(ids), _s.state == "pending")
                  .values(state="claimed", worker=worker, lease_until=until)
                  .execution_options(synchronize_session=False))
        rows = s.execute(select(_s.id, getattr(_s, self.group), _s.subscriber_id, _s.email_id, _s.attempts).where(
            _s.id.in_(ids), _s.state == "claimed", _s.worker == worker, _s.lease_until == until)
            .order_by(_s.due_at, _s.id)).all()
        s.commit()
        return [Claimed(*row) for row in rows]

    def hand_over(self, s, worker: str, message_ids: dict[int, str]) -> set[int]:
        """Write each row's Message-ID (row id -> id) and return the rows still held by `worker`; the caller
        commits before any of them goes to a relay."""
        _s = self.model
        held = set()
        for row_id, message_id in message_ids.items():
            result = s.execute(update(_s).where(_s.id == row_id, _s.state == "claimed", _s.worker == worker)
                               .values(message_id=message_id[:255]).execution_options(synchronize_session=False))
            if result.rowcount == 1:
                held.add(row_id)
        return held

    def record(self, s, worker: str, outcomes: list[Outcome], now: datetime, backoff: timedelta) -> None:
        """Store every outcome and move the group's counters by what was actually stored."""
        _s = self.model
        counters: Counter = Counter()
        for outcome in outcomes:
            attempts = outcome.attempts + (1 if outcome.attempted else 0)
            values: dict = {"state": outcome.state, "last_error": outcome.error[:1000], "lease_until": None}
            if outcome.state == SENT:
                values.update(sent_at=now, attempts=attempts)
            elif outcome.state == RETRY:
                values.update(worker="", attempts=attempts, message_id="",
                              lease_until=now + backoff * (2 ** (attempts - 1)))
            elif outcome.state in (FAILED, UNKNOWN):
                values.update(attempts=attempts)
            held = (_s.id == outcome.row_id, _s.worker == worker, _s.state.in_(("claimed", UNKNOWN)))
            result = s.execute(update(_s).where(*held).values(**values).execution_options(synchronize_session=False))
            if result.rowcount and outcome.state in (SENT, FAILED):
                counters[(outcome.group_id, outcome.state)] += 1
        if self.counters is not None:
            for (group_id, state), count in counters.items():
                self.counters(s, group_id, state, count)

    def release(self, s, worker: str, ids: list[int]) -> None:
        """Claimed rows never handed over go back to `pending` for any worker."""
        _s = self.model
        if ids:
            s.execute(update(_s).where(_s.id.in_(ids), _s.state == "claimed", _s.worker == worker,
                                       _s.message_id == "")
                      .values(state="pending", worker="", lease_until=None)
                      .execution_options(synchronize_session=False))


AUTORESPONDERS = AutomationLedger(AutoResponderSend, "autoresponder_id", _autoresponder_counters)
JOURNEYS = AutomationLedger(JourneySend, "action_id")
# The autoresponder ledger's functions, by their old names.
expire_leases, claim, hand_over = AUTORESPONDERS.expire_leases, AUTORESPONDERS.claim, AUTORESPONDERS.hand_over
record, release = AUTORESPONDERS.record, AUTORESPONDERS.release
