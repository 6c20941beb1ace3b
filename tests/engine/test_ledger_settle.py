"""A round's ledger writes (engine/delivery/ledger.settle) and, on PostgreSQL, the same in one round trip
(engine/delivery/ledger_pipeline.settle): both must store exactly the same thing, guards included."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from engine.delivery import ledger, ledger_pipeline
from engine.delivery.claims import Claims
from engine.models import Campaign, Delivery
from scheduler.tick import tick
from tests.e2e.support import make_campaign, make_list, make_owner
from tests.helpers import stored_state

BACKOFF = timedelta(minutes=1)
PATHS = {"steps": ledger.settle, "pipeline": ledger_pipeline.settle}


@pytest.fixture(params=sorted(PATHS))
def write(request, engine):
    if request.param == "pipeline" and not ledger_pipeline.applies(engine.db):
        pytest.skip("the pipelined writes are PostgreSQL's (psycopg 3)")
    return PATHS[request.param]


def claimed_round(engine, clock, total: int) -> tuple[int, list]:
    owner = make_owner(engine)
    campaign_id = make_campaign(engine, owner, [make_list(engine, owner, [f"p{i:02d}@example.com" for i in
                                                                         range(total)], "People")])
    tick(engine, clock())
    with engine.uow() as uow:
        batch = Claims("me", total, timedelta(minutes=5), clock).next_batch(uow.session)
    return campaign_id, [row for row, _ in batch]


def take_over(engine, *row_ids: int) -> None:
    """What another runner does to rows whose lease expired: they are no longer ours."""
    with engine.uow() as uow:
        uow.session.execute(update(Delivery).where(Delivery.id.in_(row_ids)).values(worker="other"))
        uow.commit()


def ledger_rows(engine, ids) -> list[tuple]:
    d = Delivery
    with engine.uow() as uow:
        return [tuple(row) for row in uow.session.execute(
            select(d.state, d.worker, d.attempts, d.lease_until, d.last_error, d.message_id, d.sent_at)
            .where(d.id.in_(ids)).order_by(d.id))]


def test_a_mixed_round_stores_every_outcome_once_and_only_on_rows_still_held(engine, clock, write):
    campaign_id, rows = claimed_round(engine, clock, 12)
    ids = [row.id for row in rows]
    take_over(engine, ids[7], ids[10])
    outcome = {i: ledger.Outcome(ids[i], campaign_id, 0, state, error, attempted) for i, (state, error, attempted) in {
        0: (ledger.SENT, "", True), 1: (ledger.SENT, "", True), 2: (ledger.SENT, "", True),
        3: (ledger.FAILED, "550 no such user", True), 4: (ledger.RETRY, "451 try later", True),
        5: (ledger.UNKNOWN, "421 closing after DATA", True), 6: (ledger.SKIPPED, "the subscriber is unsubscribed", False),
        7: (ledger.SENT, "", True)}.items()}   # 7 is no longer ours: nothing stored, nothing counted
    round_ = ledger.HandOver({ids[i]: rows[i].subscriber_id for i in (8, 9, 10)}, "<prefix.", "@example.com>",
                            campaign_id)
    now = clock()
    with engine.uow() as uow:
        held, released = write(uow.session, "me", round_, list(outcome.values()), [ids[11]], now, BACKOFF)

    assert (held, released) == ({ids[8], ids[9]}, 1)
    mark = {i: round_.message_id(rows[i].subscriber_id) for i in (8, 9)}
    assert ledger_rows(engine, ids) == [
        ("sent", "me", 1, None, "", "", now), ("sent", "me", 1, None, "", "", now),
        ("sent", "me", 1, None, "", "", now),
        ("failed", "me", 1, None, "550 no such user", "", None),
        ("pending", "", 1, now + BACKOFF, "451 try later", "", None),
        ("unknown", "me", 1, None, "421 closing after DATA", "", None),
        ("skipped", "me", 0, None, "the subscriber is unsubscribed", "", None),
        ("claimed", "other", 0, rows_lease(engine, ids[7]), "", "", None),
        ("claimed", "me", 0, rows_lease(engine, ids[8]), "", mark[8], None),
        ("claimed", "me", 0, rows_lease(engine, ids[9]), "", mark[9], None),
        ("claimed", "other", 0, rows_lease(engine, ids[10]), "", "", None),
        ("pending", "", 0, None, "", "", None)]
    with engine.uow() as uow:
        campaign = uow.session.get(Campaign, campaign_id)
        assert (campaign.total_sent, campaign.total_failed) == (3, 1)

    # Recorded again (a retried transaction after a deadlock): the guards make it change nothing.
    before = stored_state(engine, Delivery, Campaign)
    with engine.uow() as uow:
        write(uow.session, "me", ledger.NOTHING, [outcome[i] for i in (0, 1, 2, 3)], [ids[11]], now, BACKOFF)
    after = stored_state(engine, Delivery, Campaign)
    assert after["deliveries"] == before["deliveries"]


def rows_lease(engine, row_id: int):
    with engine.uow() as uow:
        return uow.session.scalar(select(Delivery.lease_until).where(Delivery.id == row_id))


def test_a_round_the_database_refuses_leaves_nothing_half_written(engine, clock, write):
    campaign_id, rows = claimed_round(engine, clock, 4)
    before = stored_state(engine, Delivery, Campaign)
    bad = ledger.Outcome(rows[1].id, campaign_id, 0, "bogus", "", True)      # the state CHECK refuses it
    with engine.uow() as uow:
        with pytest.raises(DBAPIError) as refused:
            write(uow.session, "me", ledger.HandOver({rows[0].id: rows[0].subscriber_id}, "<a.", "@b>", campaign_id),
                  [ledger.Outcome(rows[2].id, campaign_id, 0, ledger.SENT), bad], [rows[3].id], clock(), BACKOFF)
        uow.session.rollback()
    assert refused.value.orig is not None          # what the runner's deadlock retry looks at
    assert stored_state(engine, Delivery, Campaign) == before


@pytest.mark.parametrize("stopped_by", ["Paused", "Sent", "account suspended"])   # Sent: also a cancel
def test_nothing_is_handed_over_once_the_campaign_left_sending(engine, clock, write, stopped_by):
    campaign_id, rows = claimed_round(engine, clock, 3)
    ids = [row.id for row in rows]
    with engine.uow() as uow:
        campaign = uow.session.get(Campaign, campaign_id)
        if stopped_by == "account suspended":
            uow.email_account.update(campaign.owner_user_id, {"status": "SUSPENDED"})
        else:
            campaign.status = stopped_by
        uow.commit()
    before = ledger_rows(engine, ids[:2])
    round_ = ledger.HandOver({row.id: row.subscriber_id for row in rows[:2]}, "<a.", "@b>", campaign_id)
    with engine.uow() as uow:
        held, released = write(uow.session, "me", round_, [], [ids[2]], clock(), BACKOFF)
    assert (held, released) == (set(), 1)        # the release still happens: the runner gives its batch back
    assert ledger_rows(engine, ids[:2]) == before and before[0][:2] == ("claimed", "me")   # no Message-ID


def test_an_active_account_row_does_not_stop_the_hand_over(engine, clock, write):
    campaign_id, rows = claimed_round(engine, clock, 2)
    with engine.uow() as uow:
        owner_id = uow.session.get(Campaign, campaign_id).owner_user_id
        uow.email_account.update(owner_id, {"status": "ACTIVE"})
        uow.commit()
    round_ = ledger.HandOver({row.id: row.subscriber_id for row in rows}, "<a.", "@b>", campaign_id)
    with engine.uow() as uow:
        held, _ = write(uow.session, "me", round_, [], [], clock(), BACKOFF)
    assert held == {row.id for row in rows}
