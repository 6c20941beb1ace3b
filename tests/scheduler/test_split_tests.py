"""Split tests through the tick: the even, reproducible split; the winner by opens, by clicks, on a tie;
the rest of the audience gets only the winner; each address once, also with ticks racing."""
from __future__ import annotations

import multiprocessing
import os
from collections import Counter
import pytest
from sqlalchemy import select, update

from engine.accounts.auth import Actor
from engine.campaigns.service import RecipientRef
from engine.campaigns.split_tests import HELD_FOR_WINNER, VariationResult, pick_winner
from engine.campaigns.variations import VariationSpec
from engine.models import Delivery, SendInstance
from engine.models.activity import SubscriberActivity
from engine.models.split_tests import SplitTest, SplitTestDecision
from tests.conftest import TEST_SENDER_DOMAINS


def ab_campaign(world, owner, lists, *, variations=3, weights=None, split=None) -> tuple[int, list[int]]:
    """A Ready A/B campaign: `variations` emails, optional split test (size %, duration s, criterion)."""
    with world.engine.uow() as uow:
        emails = [uow.emails.create(owner.actor, f"Variation {chr(65 + i)}").id for i in range(variations)]
        campaign = uow.campaigns.create(owner.actor, "A/B")
        weights = weights or [1] * variations
        uow.campaigns.update(owner.actor, campaign.id, {
            "variations": [VariationSpec(e, w) for e, w in zip(emails, weights)],
            "recipients": [RecipientRef(i) for i in lists], "schedule_type": "Immediate"})
        if split is not None:
            size, duration, criterion = split
            uow.split_tests.create(owner.actor, campaign.id, test_size=size, test_duration=duration,
                                   criterion=criterion)
        uow.campaigns.update(owner.actor, campaign.id, {"status": "Ready"})
        uow.commit()
        return campaign.id, emails


def rows(world, campaign_id) -> list[Delivery]:
    with world.engine.uow() as uow:
        found = list(uow.session.scalars(select(Delivery).join(SendInstance, SendInstance.id == Delivery.instance_id)
                                         .where(SendInstance.campaign_id == campaign_id).order_by(Delivery.id)))
        uow.session.expunge_all()
        return found


def set_seed(world, campaign_id, seed):
    with world.engine.uow() as uow:
        uow.session.execute(update(SplitTest).where(SplitTest.campaign_id == campaign_id).values(seed=seed))
        uow.commit()


def engage(world, campaign_id, kind: str, addresses) -> None:
    """Opens or clicks, recorded as tracking records them (the row's variation email)."""
    with world.engine.uow() as uow:
        for row in rows(world, campaign_id):
            if row.email_normalized in addresses:
                uow.session.add(SubscriberActivity(subscriber_id=row.subscriber_id, campaign_id=campaign_id,
                                                   email_id=row.email_id, kind=kind, occurred_at=world.clock.now))
        uow.commit()


def send_claimable(world, campaign_id) -> int:
    """Play the delivery workers: the rows a claim can take (not those waiting for the winner) are sent."""
    with world.engine.uow() as uow:
        ids = select(SendInstance.id).where(SendInstance.campaign_id == campaign_id)
        result = uow.session.execute(update(Delivery).where(
            Delivery.instance_id.in_(ids), Delivery.state == "pending",
            (Delivery.lease_until.is_(None)) | (Delivery.lease_until <= world.clock.now))
            .values(state="sent", sent_at=world.clock.now))
        uow.commit()
        return result.rowcount


def people(world, owner, n, prefix="p"):
    return world.list_with(owner, *(f"{prefix}{i}@example.com" for i in range(n)))


# --- the split ------------------------------------------------------------------------------------
def test_the_test_group_is_split_evenly_and_the_rest_waits_for_the_winner(world):
    owner = world.owner()
    campaign_id, emails = ab_campaign(world, owner, [people(world, owner, 103)],
                                      split=(30, 3600, "Highest Open Rate"))
    summary = world.tick()
    assert summary.started == 1 and summary.recipients == 103
    ledger = rows(world, campaign_id)
    sizes = Counter(r.email_id for r in ledger if r.email_id is not None)
    assert sum(sizes.values()) == 31                         # ceil(103 * 30 %)
    assert set(sizes) == set(emails) and max(sizes.values()) - min(sizes.values()) <= 1
    held = [r for r in ledger if r.email_id is None]
    assert len(held) == 72 and all(r.lease_until == HELD_FOR_WINNER and r.state == "pending" for r in held)
    assert world.load(campaign_id).status == "Sending"
    # The tick does not close an instance whose rest is waiting, even once the test group is sent.
    assert send_claimable(world, campaign_id) == 31
    assert world.tick().finished == 0 and world.load(campaign_id).status == "Sending"


def test_the_split_is_reproducible_from_the_seed(world):
    owner = world.owner()
    audience = people(world, owner, 60)
    first, emails_1 = ab_campaign(world, owner, [audience], variations=2, split=(50, 60, "Most Unique Clicks"))
    second, emails_2 = ab_campaign(world, owner, [audience], variations=2, split=(50, 60, "Most Unique Clicks"))
    third, emails_3 = ab_campaign(world, owner, [audience], variations=2, split=(50, 60, "Most Unique Clicks"))
    set_seed(world, first, 4242)
    set_seed(world, second, 4242)
    set_seed(world, third, 99)
    world.tick()

    def split(campaign_id, emails):
        return {r.email_normalized: (emails.index(r.email_id) if r.email_id else None)
                for r in rows(world, campaign_id)}
    assert split(first, emails_1) == split(second, emails_2)
    assert split(first, emails_1) != split(third, emails_3)
    assert Counter(split(first, emails_1).values()) == {0: 15, 1: 15, None: 30}


def test_without_a_split_test_everyone_gets_a_variation_by_weight(world):
    owner = world.owner()
    campaign_id, emails = ab_campaign(world, owner, [people(world, owner, 100)], weights=[1, 1, 2])
    world.tick()
    ledger = rows(world, campaign_id)
    assert Counter(r.email_id for r in ledger) == {emails[0]: 25, emails[1]: 25, emails[2]: 50}
    assert all(r.lease_until is None for r in ledger)
    with world.engine.uow() as uow:
        assert uow.session.scalar(select(SplitTestDecision)) is None


# --- the winner ----------------------------------------------------------------------------------
def run_test(world, criterion, engaged: dict[int, int], kind: str, *, n=40, size=50):
    """Start a 2-variation test, send the test group, let `engaged[i]` people of variation i engage."""
    owner = world.owner()
    campaign_id, emails = ab_campaign(world, owner, [people(world, owner, n)], variations=2,
                                      split=(size, 3600, criterion))
    world.tick()
    send_claimable(world, campaign_id)   # only the test group is claimable: the rest stays pending
    for index, count in engaged.items():
        chosen = [r.email_normalized for r in rows(world, campaign_id) if r.email_id == emails[index]][:count]
        engage(world, campaign_id, kind, chosen)
    return campaign_id, emails


def test_the_winner_by_open_rate_goes_to_everyone_else_once_the_duration_is_over(world):
    campaign_id, emails = run_test(world, "Highest Open Rate", {0: 2, 1: 5}, "open")
    world.clock.advance(seconds=3599)
    assert world.tick().winners == 0
    assert sum(r.email_id is None for r in rows(world, campaign_id)) == 20
    world.clock.advance(seconds=1)
    assert world.tick().winners == 1
    ledger = rows(world, campaign_id)
    rest = [r for r in ledger if r.state == "pending"]
    assert len(rest) == 20 and all(r.email_id == emails[1] and r.lease_until is None for r in rest)
    assert len({r.email_normalized for r in ledger}) == len(ledger) == 40
    with world.engine.uow() as uow:
        decision = uow.session.scalar(select(SplitTestDecision))
        assert (decision.winner_email_id, decision.decided_at) == (emails[1], world.clock.now)
    assert world.tick().winners == 0          # decided once
    assert send_claimable(world, campaign_id) == 20
    world.tick()
    assert world.load(campaign_id).status == "Sent"


def test_the_winner_by_unique_clicks(world):
    campaign_id, emails = run_test(world, "Most Unique Clicks", {0: 3, 1: 1}, "click")
    engage(world, campaign_id, "open", [r.email_normalized for r in rows(world, campaign_id)
                                        if r.email_id == emails[1]])   # opens do not count here
    world.clock.advance(hours=1)
    world.tick()
    assert {r.email_id for r in rows(world, campaign_id) if r.state == "pending"} == {emails[0]}


@pytest.mark.parametrize("criterion, kind", [("Highest Open Rate", "open"), ("Most Unique Clicks", "click")])
def test_a_tie_goes_to_the_lowest_email_id(world, criterion, kind):
    campaign_id, emails = run_test(world, criterion, {0: 2, 1: 2}, kind)
    world.clock.advance(hours=1)
    world.tick()
    assert {r.email_id for r in rows(world, campaign_id) if r.state == "pending"} == {min(emails)}


def test_open_rate_compares_rates_not_counts():
    bigger = VariationResult(7, 11, 11, 0, 3, 0)     # 27 %
    smaller = VariationResult(3, 10, 4, 6, 2, 0)      # 50 % of those sent
    assert pick_winner([bigger, smaller], "Highest Open Rate") == 3
    assert pick_winner([bigger, smaller], "Most Unique Clicks") == 3   # tie at 0: lowest id


def test_a_canceled_campaign_skips_the_waiting_rows_and_picks_no_winner(world):
    campaign_id, _emails = run_test(world, "Highest Open Rate", {}, "open")
    owner_id = world.load(campaign_id).owner_user_id
    world.service("cancel", Actor("user", owner_id, "*"), campaign_id)
    world.clock.advance(hours=2)
    assert world.tick().winners == 0
    assert {r.state for r in rows(world, campaign_id) if r.email_id is None} == {"skipped"}


# --- racing ticks ---------------------------------------------------------------------------------
def _race(url: str, now_iso: str, barrier, results) -> None:
    from datetime import datetime

    from engine import bootstrap
    from engine.config import Settings
    from scheduler.tick import TickSummary, run_steps

    now = datetime.fromisoformat(now_iso)
    engine = bootstrap(Settings(database_url=url, secret_key="test-secret", allowed_sender_domains=TEST_SENDER_DOMAINS),
                       clock=lambda: now)
    summary = TickSummary(now=now, holder=f"racer-{os.getpid()}")
    barrier.wait()
    with engine.uow() as uow:
        run_steps(uow, now, summary, commit=uow.commit)
    results.put((summary.started, summary.winners, summary.errors))
    engine.db.dispose()


def _racing_ticks(world, database_url, racers=3) -> list[tuple[int, int, int]]:
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(racers), spawn.Queue()
    processes = [spawn.Process(target=_race, args=(database_url, world.clock.now.isoformat(), barrier, results))
                 for _ in range(racers)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return outcomes


def test_ticks_racing_without_the_lease_start_once_and_pick_the_winner_once(world, database_url):
    owner = world.owner()
    campaign_id, emails = ab_campaign(world, owner, [people(world, owner, 50)], variations=2,
                                      split=(20, 60, "Highest Open Rate"))
    outcomes = _racing_ticks(world, database_url)
    assert sum(started for started, _, _ in outcomes) == 1
    assert send_claimable(world, campaign_id) == 10
    world.clock.advance(minutes=5)
    outcomes = _racing_ticks(world, database_url)
    assert sum(winners for _, winners, _ in outcomes) == 1 and all(errors == 0 for _, _, errors in outcomes)
    ledger = rows(world, campaign_id)
    assert len(ledger) == len({r.email_normalized for r in ledger}) == 50
    assert Counter(r.email_id for r in ledger if r.state == "pending") == {emails[0]: 40}
