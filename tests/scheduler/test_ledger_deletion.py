"""Ledgers go with their campaigns: deliveries.instance_id has no foreign key since 0017_tick_scale, so
deleting campaigns or users deletes their ledgers (engine/campaigns/ledgers.py), never anyone else's, and a
campaign deleted while a tick writes its ledger leaves no ledger behind."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text

from engine.errors import InvalidValue
from engine.models import Campaign, Delivery, SendInstance


def ledger_sizes(engine) -> dict[int, int]:
    """Ledger rows per instance id, instances or not (an orphan shows as an id no instance has)."""
    with engine.uow() as uow:
        rows = uow.session.execute(select(Delivery.instance_id, func.count()).group_by(Delivery.instance_id))
        return dict(rows.all())


def instance_ids(engine) -> set[int]:
    with engine.uow() as uow:
        return set(uow.session.scalars(select(SendInstance.id)))


def two_owners_sending(world):
    first, second = world.owner(), world.owner()
    kept_list = world.list_with(second, "kim@example.com", "lee@example.com")
    ours = [world.campaign(first, [world.list_with(first, "ann@example.com", "bob@example.com")]),
            world.campaign(first, [world.list_with(first, "cy@example.com", name="Other")])]
    kept = world.campaign(second, [kept_list])
    assert world.tick().started == 3
    return first, second, ours, kept


def test_deleting_a_campaign_deletes_its_ledger_and_no_other(world, engine):
    first, _second, (gone, stays), kept = two_owners_sending(world)
    before = ledger_sizes(engine)
    with engine.uow() as uow:
        assert uow.campaigns.delete(first.actor, [gone]) == 1
        uow.commit()
    after = ledger_sizes(engine)
    assert set(after) == instance_ids(engine)            # no ledger without its instance
    assert sorted(after.values()) == [1, 2] and len(before) == 3
    assert world.ledger(stays) == [("cy@example.com", "pending")]
    assert world.ledger(kept) == [("kim@example.com", "pending"), ("lee@example.com", "pending")]


def test_deleting_a_user_deletes_the_ledgers_of_their_campaigns_and_no_other(world, engine):
    first, _second, _ours, kept = two_owners_sending(world)
    with engine.uow() as uow:
        assert uow.accounts.delete_users([first.id]) == 1
        uow.commit()
    assert set(ledger_sizes(engine)) == instance_ids(engine)
    assert world.ledger(kept) == [("kim@example.com", "pending"), ("lee@example.com", "pending")]
    assert world.count(Delivery) == 2


def test_a_refused_deletion_deletes_no_ledger(world, engine):
    _first, second, (gone, _stays), _kept = two_owners_sending(world)
    before = ledger_sizes(engine)
    with engine.uow() as uow:   # the other owner's campaign: refused, as a whole
        with pytest.raises(InvalidValue):
            uow.campaigns.delete(second.actor, [gone])
        uow.rollback()
    assert ledger_sizes(engine) == before


def _waiting_on_a_lock(engine) -> bool:
    with engine.db.connect() as conn:
        if engine.db.dialect.name == "postgresql":
            return bool(conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                         "AND datname = current_database()")))
        # MariaDB reads a primary-key row while optimising (state "Statistics"), so a locking read of one
        # campaign waits there without ever showing as LOCK WAIT in innodb_trx: the deletion's statement
        # still running on this database (the tick's connection is idle in its transaction) is the sign.
        return bool(conn.scalar(text("SELECT count(*) FROM information_schema.processlist "
                                     "WHERE db = DATABASE() AND command = 'Query' AND id <> CONNECTION_ID()")))


def test_a_campaign_deleted_while_its_ledger_is_written_leaves_no_ledger(world, engine, clock):
    if engine.db.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: the deletion cannot overlap the ledger's transaction")
    owner = world.owner()
    cid = world.campaign(owner, [world.list_with(owner, "ann@example.com", "bob@example.com")])
    due = clock.now
    with engine.uow() as uow:   # armed as the tick arms it, and due now
        assert uow.scheduling.set_next_send(cid, due)
        uow.commit()
    deleted = {}

    def delete_it():
        with engine.uow() as uow:
            deleted["count"] = uow.campaigns.delete(owner.actor, [cid])
            uow.commit()

    with engine.uow() as tick_uow:
        # The tick's start, not yet committed: the campaign's row is claimed, its instance and ledger written.
        instance = tick_uow.scheduling.start_instance(cid, due, clock.now)
        assert instance is not None and instance.total_recipients == 2
        deleting = threading.Thread(target=delete_it)
        deleting.start()
        deadline = time.monotonic() + 20
        while not _waiting_on_a_lock(engine):
            assert time.monotonic() < deadline, "the deletion never waited for the ledger's transaction"
            time.sleep(0.02)
        tick_uow.commit()
    deleting.join(30)
    assert deleted == {"count": 1}
    assert world.count(Campaign) == 0 and world.count(SendInstance) == 0
    assert world.count(Delivery) == 0
