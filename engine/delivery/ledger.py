"""Writes to the delivery ledger for one round of messages: hand-over marks and recorded outcomes.

A round's outcomes (for the messages the relay answered) and the hand-over marks of the next round go
into one transaction, so a round of N parallel messages costs one commit, not 2N.

Every write is guarded by `worker = me`: a worker whose lease expired (and whose rows another runner
took over) changes nothing it no longer holds. An outcome may still overwrite `unknown`: the expiry
made the row unknown, but the relay's answer is the truth.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, bindparam, cast, exists, func, or_, select, update

from engine.db import UTCDateTime
from engine.hot_sql import HotStatement
from engine.models import Campaign, Delivery
from engine.models.senders import EmailMarketingAccount

# Core tables, not ORM entities: these statements run per round, and the ORM's bulk-update layer would
# cost more than the SQL itself; the ones of every round are HotStatements (engine/hot_sql.py).
# `s.connection()` is the session's own connection and transaction.
DELIVERIES = Delivery.__table__
_campaigns = Campaign.__table__

SENT, FAILED, RETRY, UNKNOWN, SKIPPED = "sent", "failed", "pending", "unknown", "skipped"

_d = DELIVERIES.c
# The statements every round runs, built once.
# Rows an outcome may be written to: still ours, and claimed (or made unknown by a lease expiry).
_HELD_BY_WORKER = (_d.worker == bindparam("b_worker"), _d.state.in_(("claimed", "unknown")))
_MARK_SENT = HotStatement(update(DELIVERIES).where(
    _d.id.in_(bindparam("b_ids", expanding=True)), *_HELD_BY_WORKER).values(
    state=SENT, sent_at=bindparam("b_now", type_=UTCDateTime), lease_until=None, last_error="",
    attempts=_d.attempts + 1), ("b_ids",))
# The re-check at send time of the campaign itself, in the hand-over statement: nothing is handed over
# unless the campaign is still Sending and its owner's email-marketing account ACTIVE (no row = ACTIVE).
# One condition for the whole statement, evaluated when it runs: a pause, a cancel or a suspension
# committed before the hand-over stops the round however late it came, and costs no statement of its own.
STILL_SENDING = exists(select(_campaigns.c.id).outerjoin(
    EmailMarketingAccount, EmailMarketingAccount.user_id == _campaigns.c.owner_user_id).where(
    _campaigns.c.id == bindparam("b_campaign"), _campaigns.c.status == "Sending",
    or_(EmailMarketingAccount.status.is_(None), EmailMarketingAccount.status == "ACTIVE")))
# The hand-over mark: one expression for the whole round instead of a CASE with a branch per row.
_HAND_OVER = HotStatement(update(DELIVERIES).where(
    _d.id.in_(bindparam("b_ids", expanding=True)), _d.state == "claimed", _d.worker == bindparam("b_worker"),
    STILL_SENDING).values(
    message_id=func.substr(bindparam("b_prefix", type_=String) + cast(_d.subscriber_id, String)
                           + bindparam("b_suffix", type_=String), 1, 255)), ("b_ids",))
_COUNT = {name: HotStatement(update(_campaigns).where(_campaigns.c.id == bindparam("b_campaign")).values(
    {_campaigns.c[name]: _campaigns.c[name] + bindparam("b_count")})) for name in ("total_sent", "total_failed")}


@dataclass
class Outcome:
    row_id: int
    campaign_id: int
    attempts: int          # attempts before this one
    state: str             # SENT | FAILED | RETRY | UNKNOWN | SKIPPED
    error: str = ""
    attempted: bool = True  # False when nothing reached a relay (unrenderable content)


@dataclass(frozen=True)
class HandOver:
    """A round about to go to the relays: row id -> subscriber id, and the Message-IDs' common parts
    (a message's Message-ID is prefix + subscriber id + suffix: engine/delivery/compose.py); its rows are
    handed over only while `campaign_id` is Sending (STILL_SENDING)."""

    subscribers: dict[int, int]
    prefix: str
    suffix: str
    campaign_id: int

    def message_id(self, subscriber_id: int) -> str:
        return (self.prefix + str(subscriber_id) + self.suffix)[:255]


NOTHING = HandOver({}, "", "", 0)


def settle(s, worker: str, round_: HandOver, outcomes: list[Outcome], release_ids: list[int], now: datetime,
           backoff: timedelta) -> tuple[set[int], int]:
    """A round's writes in one transaction, committed: the hand-over marks of `round_`, `outcomes` and the
    rows given back. The rows of `round_` still held by `worker`, and the count given back. (On PostgreSQL
    engine/delivery/ledger_pipeline.settle does the same in one round trip.)"""
    held = hand_over(s, worker, round_)
    record(s, worker, outcomes, now, backoff)
    released = release(s, worker, release_ids)
    s.commit()
    return held, released


def hand_over(s, worker: str, round_: HandOver) -> set[int]:
    """Write each row's Message-ID (the hand-over mark) and return the ids still held by `worker`; none
    when the campaign is no longer Sending. From the commit on, a crash makes these rows `unknown` rather
    than `pending`."""
    if not round_.subscribers:
        return set()
    result = _HAND_OVER.execute(s.connection(), {"b_ids": list(round_.subscribers), "b_worker": worker,
                                                 "b_prefix": round_.prefix, "b_suffix": round_.suffix,
                                                 "b_campaign": round_.campaign_id})
    return held_after_hand_over(s.connection(), worker, round_, result.rowcount)


def held_after_hand_over(conn, worker: str, round_: HandOver, rowcount: int) -> set[int]:
    """The rows of `round_` that carry this round's mark and are still `worker`'s, given the hand-over's
    row count (read only when some were taken from us: our lease expired)."""
    ids, d = list(round_.subscribers), DELIVERIES.c
    if rowcount == len(ids):
        return set(ids)
    held = conn.execute(select(d.id, d.message_id).where(d.id.in_(ids), d.state == "claimed", d.worker == worker)).all()
    return {row_id for row_id, mid in held if mid == round_.message_id(round_.subscribers[row_id])}


def record(s, worker: str, outcomes: list[Outcome], now: datetime, backoff: timedelta) -> None:
    """Store every outcome and move the campaigns' sent/failed counters by what was actually stored."""
    conn, d = s.connection(), DELIVERIES.c
    counters: Counter = Counter()
    sent = [o for o in outcomes if o.state == SENT]
    for campaign_id in {o.campaign_id for o in sent}:
        ids = [o.row_id for o in sent if o.campaign_id == campaign_id]
        result = _MARK_SENT.execute(conn, {"b_ids": ids, "b_worker": worker, "b_now": now})
        counters[(campaign_id, "total_sent")] += result.rowcount
    for outcome in outcomes:
        if outcome.state == SENT:
            continue
        values: dict = {"state": outcome.state, "last_error": outcome.error[:1000]}
        attempts = outcome.attempts + (1 if outcome.attempted else 0)
        if outcome.state == RETRY:
            values.update(worker="", attempts=attempts, message_id="",
                          lease_until=now + backoff * (2 ** (attempts - 1)))
        elif outcome.state in (FAILED, UNKNOWN):
            values.update(lease_until=None, attempts=attempts)
        else:   # skipped: nothing was attempted
            values.update(lease_until=None)
        result = conn.execute(update(DELIVERIES).where(d.id == outcome.row_id, *_HELD_BY_WORKER).values(**values),
                              {"b_worker": worker})
        if outcome.state == FAILED:
            counters[(outcome.campaign_id, "total_failed")] += result.rowcount
    for (campaign_id, name), count in counters.items():
        if count:
            _COUNT[name].execute(conn, {"b_campaign": campaign_id, "b_count": count})


def release(s, worker: str, ids: list[int]) -> int:
    """Claimed rows never handed over go back to `pending` for any worker."""
    if not ids:
        return 0
    d = DELIVERIES.c
    result = s.connection().execute(
        update(DELIVERIES).where(d.id.in_(ids), d.state == "claimed", d.worker == worker, d.message_id == "")
        .values(state="pending", worker="", lease_until=None))
    return result.rowcount
