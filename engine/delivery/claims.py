"""Which ledger rows a worker sends next: claiming batches, and taking over what crashed workers left.

PostgreSQL and MariaDB: `SELECT … FOR UPDATE SKIP LOCKED` on the pending rows, then an UPDATE to
`claimed` (worker, lease_until), committed; concurrent workers never wait on each other. SQLite (one
writer at a time): a compare-and-set `UPDATE … WHERE id IN (…) AND state='pending'`. PostgreSQL and
SQLite read the claimed rows back with `RETURNING`; MariaDB by (worker, lease_until). The scan is
keyset-paged (`id > last claimed id`, on the (instance_id, state, id) index), so a claim costs the same
at row 1,000,000 as at row 1; it wraps to the start once the tail is exhausted (retries wait behind).

Crash rule (at-most-once): a claimed row whose lease expired was handed to a relay if it carries a
Message-ID (engine/delivery/ledger.hand_over); it becomes `unknown` and is never retried. One without
goes back to `pending`.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import Row, bindparam, func, or_, select, update

from engine.db import UTCDateTime
from engine.delivery.ledger import DELIVERIES
from engine.hot_sql import HotStatement
from engine.models import Campaign, Delivery, SendInstance
from engine.models.senders import EmailMarketingAccount
from engine.models.sending import OPEN_INSTANCE_STATES

log = logging.getLogger("sendmill.delivery")

_d = DELIVERIES.c
# The statements of a claim, built once. Candidates: the next pending rows of an instance after the
# keyset hint whose retry time (lease_until) has come.
_CANDIDATES = (select(_d.id)
               .where(_d.instance_id == bindparam("b_instance"), _d.state == "pending", _d.id > bindparam("b_after"),
                      or_(_d.lease_until.is_(None), _d.lease_until <= bindparam("b_now", type_=UTCDateTime)))
               .order_by(_d.id).limit(bindparam("b_limit")))
_CLAIM = update(DELIVERIES).values(state="claimed", worker=bindparam("b_worker"),
                                   lease_until=bindparam("b_lease_until", type_=UTCDateTime))
# email_id: the A/B variation of the row (NULL = the campaign's email).
_CLAIMED_COLUMNS = (_d.id, _d.instance_id, _d.subscriber_id, _d.attempts, _d.email_id)


def _claim_returning(candidates) -> HotStatement:
    return HotStatement(_CLAIM.where(_d.id.in_(candidates), _d.state == "pending")
                        .returning(*_CLAIMED_COLUMNS))


# SQLite runs one writer at a time; PostgreSQL takes the candidates FOR UPDATE SKIP LOCKED, in a
# MATERIALIZED CTE: as a plain `IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` the planner may rescan the
# subquery for every outer row, and one claim then took a whole 120-row instance instead of its batch.
_LOCKED_CANDIDATES = _CANDIDATES.with_for_update(skip_locked=True).cte("claim_candidates").prefix_with("MATERIALIZED")
_CLAIM_RETURNING = {"sqlite": _claim_returning(_CANDIDATES.scalar_subquery()),
                    "postgresql": _claim_returning(select(_LOCKED_CANDIDATES.c.id).scalar_subquery())}
# Mail goes out only for an ACTIVE email-marketing account (no account row = ACTIVE): a campaign whose
# account was suspended while Sending gets nothing claimed from the next batch on (the tick then pauses it).
_ACCOUNT_ACTIVE = or_(EmailMarketingAccount.status.is_(None), EmailMarketingAccount.status == "ACTIVE")
_SENDING_INSTANCES = HotStatement(
    select(SendInstance.id, SendInstance.campaign_id)
    .join(Campaign, Campaign.id == SendInstance.campaign_id)
    .outerjoin(EmailMarketingAccount, EmailMarketingAccount.user_id == Campaign.owner_user_id)
    .where(SendInstance.state.in_(OPEN_INSTANCE_STATES), Campaign.status == "Sending", _ACCOUNT_ACTIVE)
    .order_by(SendInstance.id))


class Claims:
    """One worker's claims: `next_batch()` in a loop, `expire_leases()` when a run starts."""

    def __init__(self, worker_id: str, batch_size: int, lease: timedelta, clock: Callable[[], datetime]):
        self.worker_id = worker_id
        self.batch_size = batch_size
        self.lease = lease
        self.clock = clock
        self.live: set[int] = set()           # the instances being sent at the last claim
        self._hint: dict[int, int] = {}       # instance id -> last id claimed (keyset scan)

    def expire_leases(self, s) -> int:
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

    def next_batch(self, s) -> list[tuple[Row, int]]:
        """The next batch of rows claimed by this worker: [(row (id, instance_id, subscriber_id, attempts, email_id),
        campaign id)], one instance's. The campaigns being sent are read in the claim's transaction: one
        commit."""
        sending = [(row[0], row[1]) for row in _SENDING_INSTANCES.execute(s.connection(), {})]
        self.live = {instance_id for instance_id, _ in sending}
        for gone in [i for i in self._hint if i not in self.live]:
            del self._hint[gone]
        for instance_id, campaign_id in sending:
            first_claim = instance_id not in self._hint
            rows = self._claim_from(s, instance_id, self._hint.get(instance_id, 0))
            if not rows and self._hint.get(instance_id):
                rows = self._claim_from(s, instance_id, 0)   # wrap: retries wait behind the hint
            if rows:
                self._hint[instance_id] = max(r.id for r in rows)
                if first_claim:   # queued → sending the first time anything of the instance is claimed
                    s.connection().execute(update(SendInstance.__table__).where(
                        SendInstance.id == instance_id, SendInstance.state == "queued").values(state="sending"))
                s.commit()
                return [(r, campaign_id) for r in rows]
        s.commit()
        return []

    def _claim_from(self, s, instance_id: int, after_id: int) -> list[Row]:
        now = self.clock()
        params = {"b_instance": instance_id, "b_after": after_id, "b_now": now, "b_limit": self.batch_size,
                  "b_worker": self.worker_id, "b_lease_until": now + self.lease}
        conn = s.connection()
        dialect = conn.dialect
        if dialect.update_returning:
            # SQLite, PostgreSQL: scan, claim and read back in one statement (no list of 500 ids sent
            # twice). SQLite runs one writer at a time, so no other worker can come between scan and claim.
            rows = _CLAIM_RETURNING[dialect.name].execute(conn, params).all()
        else:   # MariaDB has no UPDATE … RETURNING
            ids = list(conn.execute(_CANDIDATES.with_for_update(skip_locked=True), params).scalars())
            rows = []
            if ids:
                conn.execute(_CLAIM.where(_d.id.in_(ids), _d.state == "pending"), params)
                rows = conn.execute(select(*_CLAIMED_COLUMNS).where(
                    _d.id.in_(ids), _d.state == "claimed", _d.worker == self.worker_id,
                    _d.lease_until == params["b_lease_until"])).all()
        return sorted(rows, key=lambda row: row.id)


def waiting_for_retry(s) -> int:
    """Pending rows of campaigns being sent: after a run found nothing to claim, those waiting for
    their retry time."""
    count = s.scalar(select(func.count()).select_from(Delivery).join(
        SendInstance, SendInstance.id == Delivery.instance_id).join(
        Campaign, Campaign.id == SendInstance.campaign_id).outerjoin(
        EmailMarketingAccount, EmailMarketingAccount.user_id == Campaign.owner_user_id).where(
        SendInstance.state.in_(OPEN_INSTANCE_STATES), Campaign.status == "Sending", _ACCOUNT_ACTIVE,
        Delivery.state == "pending"))
    s.commit()
    return count or 0


def campaigns_awaiting_delivery(s) -> int:
    """Sending campaigns with recipients still to be mailed: what a tick that cannot send leaves waiting."""
    count = s.scalar(select(func.count(func.distinct(SendInstance.campaign_id))).select_from(Delivery).join(
        SendInstance, SendInstance.id == Delivery.instance_id).join(
        Campaign, Campaign.id == SendInstance.campaign_id).where(
        SendInstance.state.in_(OPEN_INSTANCE_STATES), Campaign.status == "Sending",
        Delivery.state.in_(("pending", "claimed"))))
    return count or 0
