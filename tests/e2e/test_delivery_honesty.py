"""Delivery that says what happened: what a killed worker leaves in doubt, and how every surface reports it."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from engine.delivery.relays import parse_relays
from engine.delivery.transport import SmtpPool
from engine.models import Delivery
from tests.e2e.test_send import SMALL, campaign_row, runner, started, states


class WorkerKilled(BaseException):
    """kill -9: nothing after this point runs, nothing uncommitted is kept."""


class KilledWhileItsFirstRoundIsOut:
    """The relay pool, but the worker dies as soon as it waits for its first round's replies."""

    def __init__(self, pool: SmtpPool):
        self.pool = pool

    def start_many(self, envelopes):
        sending = self.pool.start_many(envelopes)

        def killed(*_args, **_kwargs):
            raise WorkerKilled()
        sending.wait = killed
        return sending


def test_a_killed_worker_has_handed_over_no_more_messages_than_it_had_connections(engine, clock, smtp):
    """A round of 6 on a relay allowing 2 connections: the 4 messages waiting for a connection were never
    handed over, so they go back to pending instead of becoming unknown (the old runner marked all 6)."""
    campaign_id = started(engine, clock, 120)
    dying = SmtpPool(parse_relays(f"{smtp.url}?max_connections=2"))
    try:
        try:
            runner(engine, KilledWhileItsFirstRoundIsOut(dying), clock, concurrency=6, batch_size=30).run_once(60)
            raise AssertionError("the worker was not killed")
        except WorkerKilled:
            pass
        assert dying.status()[0]["open"] <= 2
    finally:
        dying.close()
    with engine.uow() as uow:
        handed_over = uow.session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.state == "claimed", Delivery.message_id != ""))
        claimed = uow.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.state == "claimed"))
    assert 1 <= handed_over <= 2 and claimed == 30

    clock.advance(minutes=6)                                   # the dead worker's lease runs out
    with SmtpPool(parse_relays(f"{smtp.url}?max_connections=2")) as pool:
        rest = runner(engine, pool, clock, worker_id="next", concurrency=6).run_once(60)
    assert rest.unknown == handed_over and rest.sent == len(SMALL) - handed_over
    assert max(Counter(smtp.recipients()).values()) == 1       # nobody got a second copy
    assert Counter(states(engine, campaign_id).values()) == {"sent": len(SMALL) - handed_over,
                                                              "unknown": handed_over}
