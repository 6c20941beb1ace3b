"""A round's ledger writes on PostgreSQL in one round trip: psycopg 3's pipeline mode.

The same writes as engine/delivery/ledger.py (hand-over marks, outcomes, counters, releases), with the
same guards (`worker = me`, the row's state), in one transaction; but where ledger.py sends BEGIN, each
statement and COMMIT one after the other and waits for each answer (five round trips for a round that
hands over and records its sends), here they are queued and sent in one write, and the commit waits
once for all of them. On a loaded machine a round trip is a switch to the server process and back: those
waits, not the SQL, were most of a PostgreSQL worker's time in the ledger.

Two things differ in form, not in effect:

* a campaign counter moves in the statement that stores the outcomes (a data-modifying CTE counts the
  rows it changed), since in a pipeline no row count is known before the commit;
* ids go as one array parameter (`id = ANY(…)`), so each statement is one prepared statement whatever
  the round's size (an expanded IN list is a new statement text per list length).

An error anywhere rolls the whole transaction back (the pipeline aborts at the first failure) and is
raised as SQLAlchemy's DBAPIError, so the runner's deadlock retry sees it as it sees any other.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import ARRAY, BigInteger, Boolean, Integer, String, Text, any_, bindparam, case, cast, exists, \
    func, select, update
from sqlalchemy.exc import DBAPIError

from engine.db import UTCDateTime
from engine.delivery.ledger import (
    DELIVERIES, FAILED, RETRY, SENT, STILL_SENDING, HandOver, Outcome, held_after_hand_over,
)
from engine.hot_sql import HotStatement
from engine.models import Campaign

_d = DELIVERIES.c
_campaigns = Campaign.__table__
_IDS = any_(bindparam("b_ids", type_=ARRAY(BigInteger)))
_HELD_BY_WORKER = (_d.worker == bindparam("b_worker"), _d.state.in_(("claimed", "unknown")))

_HAND_OVER = HotStatement(update(DELIVERIES).where(
    _d.id == _IDS, _d.state == "claimed", _d.worker == bindparam("b_worker"), STILL_SENDING).values(
    message_id=func.substr(bindparam("b_prefix", type_=String) + cast(_d.subscriber_id, String)
                           + bindparam("b_suffix", type_=String), 1, 255)))


def _counting(stored, counter: str, moved_by) -> HotStatement:
    """`stored` (an UPDATE … RETURNING as a CTE) and the campaign's `counter` moved by `moved_by`, only
    when `stored` changed a row: one statement."""
    return HotStatement(update(_campaigns).add_cte(stored).where(
        _campaigns.c.id == bindparam("b_campaign"), exists(select(stored.c.id))).values(
        {_campaigns.c[counter]: _campaigns.c[counter] + moved_by}))


# The sends of one campaign, and its total_sent moved by the rows stored.
_SENT_ROWS = update(DELIVERIES).where(_d.id == _IDS, *_HELD_BY_WORKER).values(
    state=SENT, sent_at=bindparam("b_now", type_=UTCDateTime), lease_until=None, last_error="",
    attempts=_d.attempts + 1).returning(_d.id).cte("stored_sends")
_MARK_SENT = _counting(_SENT_ROWS, "total_sent", select(func.count()).select_from(_SENT_ROWS).scalar_subquery())
# Any other outcome, one row at a time (executemany): a retry also gives the row back (worker and
# Message-ID cleared); a failure moves total_failed by one when the row was stored.
_release_it = bindparam("b_release", type_=Boolean)
_OUTCOME_ROW = update(DELIVERIES).where(_d.id == bindparam("b_id", type_=BigInteger), *_HELD_BY_WORKER).values(
    state=bindparam("b_state", type_=String), last_error=bindparam("b_error", type_=Text),
    lease_until=bindparam("b_lease_until", type_=UTCDateTime), attempts=bindparam("b_attempts", type_=Integer),
    worker=case((_release_it, ""), else_=_d.worker), message_id=case((_release_it, ""), else_=_d.message_id),
).returning(_d.id).cte("stored_outcome")
_RECORD = _counting(_OUTCOME_ROW, "total_failed", bindparam("b_failed", type_=Integer))
_RELEASE = HotStatement(update(DELIVERIES).where(
    _d.id == _IDS, _d.state == "claimed", _d.worker == bindparam("b_worker"), _d.message_id == "").values(
    state="pending", worker="", lease_until=None))


def applies(conn) -> bool:
    """Whether the SQLAlchemy Connection (or Engine) `conn` talks to PostgreSQL through psycopg 3."""
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


def settle(s, worker: str, round_: HandOver, outcomes: list[Outcome], release: list[int], now: datetime,
           backoff: timedelta) -> tuple[set[int], int]:
    """engine/delivery/ledger.settle in one round trip: hand `round_` over, store `outcomes`, give `release`
    back, commit; the rows still held by `worker` among those handed over, and the count released."""
    conn = s.connection()
    raw = conn.connection.driver_connection
    dialect = conn.dialect
    cursors = []

    def run(statement: HotStatement, params: dict):
        cursor = raw.cursor()
        cursors.append(cursor)
        cursor.execute(*statement.bound(dialect, params))
        return cursor

    try:
        with raw.pipeline():
            handed = run(_HAND_OVER, {"b_ids": list(round_.subscribers), "b_worker": worker,
                                      "b_prefix": round_.prefix, "b_suffix": round_.suffix,
                                      "b_campaign": round_.campaign_id}) \
                if round_.subscribers else None
            sent: dict[int, list[int]] = defaultdict(list)
            for outcome in outcomes:
                if outcome.state == SENT:
                    sent[outcome.campaign_id].append(outcome.row_id)
            for campaign_id, ids in sent.items():
                run(_MARK_SENT, {"b_ids": ids, "b_worker": worker, "b_now": now, "b_campaign": campaign_id})
            others = [_outcome_params(o, worker, now, backoff) for o in outcomes if o.state != SENT]
            if others:
                cursor = raw.cursor()
                cursors.append(cursor)
                cursor.executemany(_RECORD.bound(dialect, others[0])[0],
                                   [_RECORD.bound(dialect, params)[1] for params in others])
            released = run(_RELEASE, {"b_ids": release, "b_worker": worker}) if release else None
            raw.commit()
        handed_count = handed.rowcount if handed is not None else 0
        released_count = released.rowcount if released is not None else 0
    except dialect.loaded_dbapi.Error as exc:   # psycopg's; not imported here: a SQLite worker never loads it
        raise DBAPIError.instance(None, None, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc
    finally:
        for cursor in cursors:   # (a closed cursor forgets its row count)
            cursor.close()
    # Rows taken from this worker show in the count; which ones is read after the commit.
    held = held_after_hand_over(conn, worker, round_, handed_count) if handed is not None else set()
    s.commit()
    return held, released_count


def _outcome_params(outcome: Outcome, worker: str, now: datetime, backoff: timedelta) -> dict:
    attempts = outcome.attempts + (1 if outcome.attempted else 0)
    retry = outcome.state == RETRY
    return {"b_id": outcome.row_id, "b_worker": worker, "b_state": outcome.state, "b_error": outcome.error[:1000],
            "b_lease_until": now + backoff * (2 ** (attempts - 1)) if retry else None,
            "b_attempts": attempts, "b_release": retry, "b_campaign": outcome.campaign_id,
            "b_failed": 1 if outcome.state == FAILED else 0}
