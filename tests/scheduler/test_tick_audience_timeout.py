"""A campaign whose audience hits the tick's time limit does not hold up the others (three databases)."""
from __future__ import annotations

import pytest

from engine.campaigns.service import RecipientRef
from scheduler.tick import RETRY_AFTER_TIMEOUT
from tests.audience_stall import limit_audience_queries, make_stalled_audience, stalled_field_values


def heavy_campaign(world, owner) -> int:
    """Ready and due now, targeting a segment that reads custom-field values by regex."""
    audience = make_stalled_audience(world.engine, owner.id)
    with world.engine.uow() as uow:
        email = uow.emails.create(owner.actor, "Content")
        campaign = uow.campaigns.create(owner.actor, "Heavy")
        uow.campaigns.update(owner.actor, campaign.id, {
            "email_id": email.id, "recipients": [RecipientRef(audience.list_id, audience.segment_id)],
            "status": "Ready", "schedule_type": "Immediate"})
        uow.commit()
        return campaign.id


def test_a_timed_out_campaign_is_postponed_and_the_next_one_still_starts(world, engine, backend, clock, monkeypatch):
    owner = world.owner()
    heavy = heavy_campaign(world, owner)  # first in line: due first, lower ID
    light = world.campaign(owner, [world.list_with(owner, "ann@example.com", "bob@example.com")])
    limit_audience_queries(engine, tick_seconds=0.3)
    due_at = clock.now

    with stalled_field_values(engine, backend, monkeypatch):
        summary = world.tick()  # arms both (Immediate: due now) and starts what it can
    assert (summary.armed, summary.started, summary.postponed, summary.failed, summary.errors) == (2, 1, 1, 0, 0)
    assert summary.line().endswith(", 1 postponed")
    # The light campaign started with its whole ledger …
    assert world.load(light).status == "Sending"
    assert world.ledger(light) == [("ann@example.com", "pending"), ("bob@example.com", "pending")]
    # … the heavy one kept nothing of its attempt: still Ready, no instance, no ledger, no quota used,
    # and it comes back RETRY_AFTER_TIMEOUT later instead of on every tick.
    stalled = world.load(heavy)
    assert (stalled.status, stalled.next_send_at, stalled.send_process_started_on, stalled.total_recipients) == \
        ("Ready", clock.now + RETRY_AFTER_TIMEOUT, None, 0)
    assert world.instances(heavy) == [] and world.ledger(heavy) == []
    with engine.uow() as uow:
        used = uow.email_account.details(owner.id)
        assert (used.campaigns_used, used.emails_used) == (1, 2)  # the light campaign's only

    clock.advance(minutes=1)
    assert world.tick().started == 0  # not yet due again
    clock.now = due_at + RETRY_AFTER_TIMEOUT
    summary = world.tick()  # the database is quick again
    assert (summary.started, summary.postponed) == (1, 0)
    assert world.load(heavy).status == "Sending" and len(world.ledger(heavy)) == 111
    [instance] = world.instances(heavy)
    assert instance.scheduled_for == due_at + RETRY_AFTER_TIMEOUT and instance.total_recipients == 111


def test_the_tick_limit_is_its_own_setting(world, engine, backend, clock, monkeypatch):
    """The tick's ledger write runs under the tick's limit, not the short request limit. Shown on
    SQLite, whose injected timer can make a statement 'take' 300 s without anyone waiting; on the
    servers the same would need a real wait."""
    if backend != "sqlite":
        pytest.skip("needs a statement that takes minutes; SQLite's injected timer provides one")
    owner = world.owner()
    heavy = heavy_campaign(world, owner)
    limit_audience_queries(engine, seconds=0.3, tick_seconds=3600)
    with stalled_field_values(engine, backend, monkeypatch):  # each regexp call 'takes' a second
        summary = world.tick()
    assert (summary.started, summary.postponed) == (1, 0)
    assert len(world.ledger(heavy)) == 111
