"""The scheduler tick on the three databases, with an injected clock (nothing sleeps)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from engine.accounts.auth import Actor
from engine.models import Delivery, SchedulerLease, SendInstance
from scheduler.tick import LEASE_NAME
from tests.scheduler.conftest import HOURS

UTC = timezone.utc


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- one-off campaigns ------------------------------------------------------------------------------
def test_immediate_campaign_goes_ready_sending_sent_with_one_message_per_person(world, clock):
    owner = world.owner()
    news = world.list_with(owner, "ann@example.com", "Bob@Example.com", "cy@example.com")
    offers = world.list_with(owner, "bob@example.com", "dee@example.com")
    cid = world.campaign(owner, [news, offers])
    assert world.load(cid).status == "Ready"

    summary = world.tick()
    assert (summary.started, summary.finished, summary.recipients) == (1, 0, 4)
    c = world.load(cid)
    assert c.status == "Sending" and c.send_process_started_on == clock.now and c.next_send_at is None
    assert c.total_recipients == 4
    # Bob is on both lists (in two spellings): one ledger row, one message.
    assert world.ledger(cid) == [("ann@example.com", "pending"), ("bob@example.com", "pending"),
                                 ("cy@example.com", "pending"), ("dee@example.com", "pending")]
    [instance] = world.instances(cid)
    assert (instance.number, instance.state, instance.total_recipients, instance.scheduled_for) == \
        (1, "queued", 4, clock.now)

    # Nothing is delivered yet: the tick must not pretend to send, nor start a second instance.
    clock.advance(minutes=1)
    assert world.tick().started == 0
    assert world.load(cid).status == "Sending" and len(world.instances(cid)) == 1
    assert {state for _, state in world.ledger(cid)} == {"pending"}

    world.drain(cid)
    clock.advance(minutes=1)
    summary = world.tick()
    assert (summary.started, summary.finished) == (0, 1)
    c = world.load(cid)
    assert c.status == "Sent" and c.send_process_finished_on == clock.now
    [instance] = world.instances(cid)
    assert instance.state == "done" and instance.finished_at == clock.now
    assert world.tick().line().endswith(": 0 started, 0 finished, 0 waiting approval")


def test_future_campaign_starts_at_its_local_time(world, clock):
    owner = world.owner()
    cid = world.future(owner, [world.list_with(owner, "ann@example.com")], date(2026, 11, 23), "14:30:00",
                       tz="Europe/Berlin")
    summary = world.tick()
    assert (summary.armed, summary.started) == (1, 0)
    assert world.load(cid).next_send_at == utc(2026, 11, 23, 13, 30)  # CET = UTC+1
    assert world.at(utc(2026, 11, 23, 13, 29)).started == 0
    assert world.at(utc(2026, 11, 23, 13, 30)).started == 1
    assert world.load(cid).status == "Sending"
    assert world.instances(cid)[0].scheduled_for == utc(2026, 11, 23, 13, 30)


def test_future_campaign_with_a_legacy_label_zone(world, clock):
    owner = world.owner()
    cid = world.future(owner, [world.list_with(owner, "ann@example.com")], date(2026, 11, 23), "10:00:00",
                       tz="(GMT-03:00) Brasilia")
    world.tick()
    assert world.load(cid).next_send_at == utc(2026, 11, 23, 13)


def test_editing_the_schedule_moves_the_computed_send_time(world, clock):
    owner = world.owner()
    cid = world.future(owner, [world.list_with(owner, "ann@example.com")], date(2026, 11, 23), "15:00:00")
    world.tick()
    assert world.load(cid).next_send_at == utc(2026, 11, 23, 15)
    world.service("update", owner.actor, cid, {"send_time": "16:00:00"})
    assert world.load(cid).next_send_at is None
    world.tick()
    assert world.load(cid).next_send_at == utc(2026, 11, 23, 16)
    assert world.at(utc(2026, 11, 23, 15, 30)).started == 0


def test_campaign_with_nobody_to_mail_is_sent_on_the_same_tick(world):
    owner = world.owner()
    cid = world.campaign(owner, [world.list_with(owner)])
    summary = world.tick()
    assert (summary.started, summary.finished, summary.recipients) == (1, 1, 0)
    assert world.load(cid).status == "Sent"
    assert world.instances(cid)[0].state == "done"


def test_unreadable_schedule_fails_the_campaign_instead_of_retrying_forever(world, engine):
    from tests.builders import set_campaign

    owner = world.owner()
    cid = world.future(owner, [world.list_with(owner, "ann@example.com")], date(2026, 11, 24), "09:00:00")
    set_campaign(engine, cid, send_timezone="Mars/Olympus_Mons")
    summary = world.tick()
    assert (summary.failed, summary.started) == (1, 0)
    c = world.load(cid)
    assert c.status == "Failed" and c.status_reason.startswith("Invalid schedule")
    assert "1 failed" in summary.line()


# --- status changes while the scheduler works --------------------------------------------------------
def test_paused_campaign_stays_paused_until_resumed(world, clock):
    owner = world.owner()
    cid = world.campaign(owner, [world.list_with(owner, "ann@example.com", "bob@example.com")])
    world.tick()
    world.service("pause", owner.actor, cid)
    world.drain(cid)
    clock.advance(minutes=1)
    assert world.tick().finished == 0
    assert world.load(cid).status == "Paused"
    assert world.instances(cid)[0].state == "queued"
    world.service("resume", owner.actor, cid)
    assert world.tick().finished == 1
    assert world.load(cid).status == "Sent"


def test_canceled_before_the_tick_never_sends(world):
    owner = world.owner()
    cid = world.campaign(owner, [world.list_with(owner, "ann@example.com")])
    world.service("cancel", owner.actor, cid)
    assert world.tick().started == 0
    assert world.load(cid).status == "Draft"
    assert world.instances(cid) == [] and world.count(Delivery) == 0


def test_canceled_while_sending_skips_everyone_not_yet_mailed(world, clock, engine):
    from tests.builders import set_campaign

    owner = world.owner()
    cid = world.campaign(owner, [world.list_with(owner, "ann@example.com", "bob@example.com", "cy@example.com")])
    world.tick()
    with engine.uow() as uow:  # a worker mailed Ann and is talking to the server about Bob
        uow.session.query(Delivery).filter_by(email_normalized="ann@example.com").update({"state": "sent"})
        uow.session.query(Delivery).filter_by(email_normalized="bob@example.com").update({"state": "claimed"})
        uow.commit()
    set_campaign(engine, cid, total_sent=1)
    world.service("cancel", owner.actor, cid)
    assert (world.load(cid).status, world.load(cid).status_reason) == ("Sent", "Canceled")

    summary = world.tick()
    assert (summary.canceled, summary.finished, summary.started) == (1, 0, 0)
    assert world.instances(cid)[0].state == "canceled"
    assert world.ledger(cid) == [("ann@example.com", "sent"), ("bob@example.com", "claimed"),
                                 ("cy@example.com", "skipped")]


def test_canceled_and_re_armed_starts_a_fresh_instance_and_drops_the_old_one(world, clock):
    owner = world.owner()
    cid = world.campaign(owner, [world.list_with(owner, "ann@example.com")])
    world.tick()
    world.service("cancel", owner.actor, cid)  # nothing sent yet: back to Draft
    world.service("update", owner.actor, cid, {"schedule_type": "Immediate", "status": "Ready"})
    clock.advance(minutes=1)
    summary = world.tick()
    assert (summary.started, summary.canceled) == (1, 1)
    assert [(i.number, i.state) for i in world.instances(cid)] == [(1, "canceled"), (2, "queued")]
    assert world.ledger(cid) == [("ann@example.com", "skipped"), ("ann@example.com", "pending")]


def test_pending_approval_waits_until_an_administrator_approves(world, clock):
    owner = world.owner(reputation_level="Untrusted")
    cid = world.campaign(owner, [world.list_with(owner, "ann@example.com")])
    assert world.load(cid).status == "Pending Approval"
    summary = world.tick()
    assert (summary.started, summary.waiting_approval) == (0, 1)
    assert summary.line().endswith("0 started, 0 finished, 1 waiting approval")
    clock.advance(hours=5)
    assert world.tick().started == 0 and world.instances(cid) == []

    world.service("approve", Actor("admin", 1), cid)
    summary = world.tick()
    assert (summary.started, summary.waiting_approval) == (1, 0)
    assert world.load(cid).status == "Sending"


# --- recurring campaigns --------------------------------------------------------------------------------
def test_recurring_campaign_stops_after_its_maximum_instances(world, clock):
    owner = world.owner()
    cid = world.recurring(owner, [world.list_with(owner, "ann@example.com")], hours="9", tz="Europe/Berlin",
                          max_instances=2)
    world.tick()
    assert world.load(cid).next_send_at == utc(2026, 11, 24, 8)  # 09:00 CET
    assert world.at(utc(2026, 11, 24, 8)).started == 1
    world.drain(cid)
    summary = world.at(utc(2026, 11, 24, 8, 5))
    assert summary.finished == 1
    c = world.load(cid)
    assert (c.status, c.schedule_rec_sent_instances, c.next_send_at) == ("Ready", 1, utc(2026, 11, 25, 8))

    assert world.at(utc(2026, 11, 25, 8)).started == 1
    world.drain(cid)
    world.at(utc(2026, 11, 25, 8, 5))
    c = world.load(cid)
    assert (c.status, c.schedule_rec_sent_instances) == ("Sent", 2)
    assert world.at(utc(2026, 11, 26, 8)).started == 0
    assert [(i.number, i.scheduled_for, i.state) for i in world.instances(cid)] == [
        (1, utc(2026, 11, 24, 8), "done"), (2, utc(2026, 11, 25, 8), "done")]


def _tick_through(world, cid, start: datetime, end: datetime, step=timedelta(minutes=10)):
    moment = start
    while moment <= end:
        world.at(moment)
        world.drain(cid)
        moment += step


def test_recurring_time_in_the_spring_forward_gap_fires_once(world, clock):
    clock.now = utc(2027, 3, 27, 22)  # 23:00 CET, the evening before clocks go 02:00 → 03:00
    owner = world.owner()
    cid = world.recurring(owner, [world.list_with(owner, "ann@example.com")], hours="2", minutes="30",
                          tz="Europe/Berlin")
    _tick_through(world, cid, clock.now, utc(2027, 3, 28, 6))
    # 02:30 does not exist that night: sent at the first valid minute after the gap, 03:00 CEST.
    assert [i.scheduled_for for i in world.instances(cid)] == [utc(2027, 3, 28, 1)]


def test_recurring_time_in_the_fall_back_hour_fires_once(world, clock):
    clock.now = utc(2026, 10, 24, 21)  # 23:00 CEST, the evening before clocks go 03:00 → 02:00
    owner = world.owner()
    cid = world.recurring(owner, [world.list_with(owner, "ann@example.com")], hours="2", minutes="30",
                          tz="Europe/Berlin")
    _tick_through(world, cid, clock.now, utc(2026, 10, 25, 6))
    # 02:30 happens twice: sent at the first one (02:30 CEST = 00:30 UTC) only.
    assert [i.scheduled_for for i in world.instances(cid)] == [utc(2026, 10, 25, 0, 30)]


def test_after_three_hours_without_cron_a_series_sends_once_and_a_one_off_still_goes_out(world, clock):
    owner = world.owner()
    people = world.list_with(owner, "ann@example.com", "bob@example.com")
    hourly = world.recurring(owner, [people], hours=HOURS, minutes="0")
    one_off = world.future(owner, [people], date(2026, 11, 23), "13:00:00")
    world.tick()  # 12:00: both armed for 13:00, then cron stops
    assert world.load(hourly).next_send_at == utc(2026, 11, 23, 13)

    summary = world.at(utc(2026, 11, 23, 15, 30))
    assert summary.started == 2
    [instance] = world.instances(hourly)
    assert instance.scheduled_for == utc(2026, 11, 23, 15)  # the most recent missed occurrence
    assert len(world.instances(one_off)) == 1

    world.drain(hourly)
    world.drain(one_off)
    summary = world.at(utc(2026, 11, 23, 15, 31))
    assert (summary.finished, summary.started) == (2, 0)
    c = world.load(hourly)
    assert (c.status, c.schedule_rec_sent_instances, c.next_send_at) == ("Ready", 1, utc(2026, 11, 23, 16))
    assert world.load(one_off).status == "Sent"
    assert len(world.instances(hourly)) == 1 and len(world.ledger(hourly)) == 2


def test_occurrences_before_a_series_was_armed_are_not_missed_ones(world, clock):
    clock.now = utc(2026, 11, 23, 12, 40)
    owner = world.owner()
    cid = world.recurring(owner, [world.list_with(owner, "ann@example.com")], hours=HOURS, minutes="0")
    assert world.tick().started == 0
    assert world.load(cid).next_send_at == utc(2026, 11, 23, 13)


# --- the lease and dry runs ------------------------------------------------------------------------------
def _hold_lease(engine, holder: str, until: datetime) -> None:
    with engine.uow() as uow:
        uow.session.add(SchedulerLease(name=LEASE_NAME, holder=holder, expires_at=until))
        uow.commit()


def test_a_held_lease_makes_a_second_tick_do_nothing(world, clock, engine):
    owner = world.owner()
    cid = world.campaign(owner, [world.list_with(owner, "ann@example.com")])
    _hold_lease(engine, "other-host:42", clock.now + timedelta(minutes=5))
    summary = world.tick()
    assert summary.lease_taken is False and summary.started == 0
    assert summary.line() == "tick 2026-11-23T12:00Z: skipped, the lease is held by other-host:42"
    assert world.load(cid).status == "Ready"


def test_an_expired_lease_is_taken_over_and_released_afterwards(world, clock, engine):
    owner = world.owner()
    cid = world.campaign(owner, [world.list_with(owner, "ann@example.com")])
    _hold_lease(engine, "crashed-host:7", clock.now - timedelta(seconds=1))
    summary = world.tick(holder="me:1")
    assert summary.lease_taken is True and summary.started == 1
    assert world.load(cid).status == "Sending"
    with engine.uow() as uow:
        assert uow.session.get(SchedulerLease, LEASE_NAME).holder == ""


def test_dry_run_reports_the_work_but_writes_nothing(world, clock, engine):
    owner = world.owner()
    cid = world.campaign(owner, [world.list_with(owner, "ann@example.com", "bob@example.com")])
    summary = world.tick(dry_run=True)
    assert (summary.started, summary.recipients) == (1, 2)
    assert summary.line() == "tick 2026-11-23T12:00Z: 1 started, 0 finished, 0 waiting approval " \
                             "(dry run: nothing written)"
    c = world.load(cid)
    assert (c.status, c.next_send_at) == ("Ready", None)
    assert world.count(SendInstance) == 0 and world.count(Delivery) == 0 and world.count(SchedulerLease) == 0


# --- the guards under the tick ------------------------------------------------------------------------------
def test_start_instance_is_a_compare_and_set_on_the_instant_the_caller_saw(world, clock, engine):
    owner = world.owner()
    cid = world.campaign(owner, [world.list_with(owner, "ann@example.com")])
    with engine.uow() as uow:
        assert uow.scheduling.set_next_send(cid, clock.now) is True
        assert uow.scheduling.set_next_send(cid, clock.now) is False  # only a campaign still waiting
        uow.commit()
    with engine.uow() as uow:  # a tick that read an older instant loses
        assert uow.scheduling.start_instance(cid, clock.now - timedelta(minutes=1), clock.now) is None
    with engine.uow() as uow:
        assert uow.scheduling.start_instance(cid, clock.now, clock.now).number == 1
        uow.commit()
    with engine.uow() as uow:  # and so does the second of two ticks that read the same instant
        assert uow.scheduling.start_instance(cid, clock.now, clock.now) is None
    assert len(world.instances(cid)) == 1 and len(world.ledger(cid)) == 1


def test_the_database_refuses_a_second_instance_number_and_a_second_message_per_person(world, clock, engine):
    import pytest
    from sqlalchemy.exc import IntegrityError

    owner = world.owner()
    cid = world.campaign(owner, [world.list_with(owner, "ann@example.com")])
    world.tick()
    instance = world.instances(cid)[0]
    with engine.uow() as uow:
        uow.session.add(SendInstance(campaign_id=cid, number=1, scheduled_for=clock.now, started_at=clock.now))
        with pytest.raises(IntegrityError):
            uow.session.flush()
    with engine.uow() as uow:
        uow.session.add(Delivery(instance_id=instance.id, subscriber_id=1, email_normalized="ann@example.com"))
        with pytest.raises(IntegrityError):
            uow.session.flush()


def test_a_schedule_computed_before_an_edit_is_not_stored(world, clock, engine):
    owner = world.owner()
    cid = world.future(owner, [world.list_with(owner, "ann@example.com")], date(2026, 11, 24), "09:00:00")
    seen = world.load(cid).last_activity_at
    clock.advance(seconds=5)
    world.service("update", owner.actor, cid, {"send_time": "10:00:00"})
    with engine.uow() as uow:
        assert uow.scheduling.set_next_send(cid, utc(2026, 11, 24, 9), seen_activity=seen) is False


def test_an_audience_that_cannot_be_built_fails_the_campaign_and_writes_no_instance(world, monkeypatch):
    from engine.errors import InvalidRules
    from engine.campaigns.scheduling import SchedulingService

    def broken(self, campaign):
        raise InvalidRules("unknown field 'Shoe size'")

    owner = world.owner()
    cid = world.campaign(owner, [world.list_with(owner, "ann@example.com")])
    monkeypatch.setattr(SchedulingService, "_audience", broken)
    summary = world.tick()
    assert (summary.started, summary.failed) == (0, 1)
    c = world.load(cid)
    assert (c.status, c.status_reason) == ("Failed", "unknown field 'Shoe size'")
    assert world.instances(cid) == [] and world.count(Delivery) == 0


def test_deleting_a_campaign_that_is_sending_removes_its_instances_and_ledger(world, engine):
    owner = world.owner()
    cid = world.campaign(owner, [world.list_with(owner, "ann@example.com")])
    world.tick()
    with engine.uow() as uow:
        assert uow.campaigns.delete(owner.actor, [cid]) == 1
        uow.commit()
    assert world.count(SendInstance) == 0 and world.count(Delivery) == 0
    assert world.tick().errors == 0


def test_the_ledger_holds_only_people_who_may_be_mailed(world, engine):
    from engine.models import Subscriber

    owner = world.owner()
    people = world.list_with(owner, "ann@example.com", "bob@example.com", "cy@example.com")
    with engine.uow() as uow:
        for email, column, value in (("bob@example.com", "subscription_status", "Unsubscribed"),
                                     ("cy@example.com", "bounce_type", "Hard")):
            uow.session.query(Subscriber).filter_by(email_normalized=email).update({column: value})
        uow.commit()
    cid = world.campaign(owner, [people])
    assert world.tick().recipients == 1
    assert world.ledger(cid) == [("ann@example.com", "pending")]


def test_the_ledger_is_written_in_address_order(world, engine):
    # Rows in address order grow UNIQUE(instance_id, email_normalized) at its end (bench/tick.py); workers
    # claim by id, so the ids must follow the addresses, not the order the people subscribed in.
    from sqlalchemy import select

    owner = world.owner()
    people = world.list_with(owner, "dee@example.com", "ann@example.com", "cy@example.com", "bob@example.com")
    cid = world.campaign(owner, [people])
    assert world.tick().recipients == 4
    with engine.uow() as uow:
        by_id = list(uow.session.scalars(
            select(Delivery.email_normalized).join(SendInstance, SendInstance.id == Delivery.instance_id)
            .where(SendInstance.campaign_id == cid).order_by(Delivery.id)))
    assert by_id == ["ann@example.com", "bob@example.com", "cy@example.com", "dee@example.com"]
