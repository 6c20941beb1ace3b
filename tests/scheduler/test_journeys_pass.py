"""ScheduledPull through the scheduler's journeys pass: interval, time window, subscriber count and frequency
cap, with the injected clock; and pull_due alone."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from engine.automation.journeys.triggers import pull_settings
from engine.models import Journey, JourneyEnrollment
from scheduler.journeys import journeys_pass, pull_due
from tests.builders import make_list, make_subscriber, user_actor

MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def test_pull_due_follows_interval_and_window():
    settings = pull_settings({"IntervalValue": 30, "IntervalUnit": "minutes"})
    assert pull_due(settings, None, MONDAY_NOON)
    assert not pull_due(settings, MONDAY_NOON, MONDAY_NOON + timedelta(minutes=29))
    assert pull_due(settings, MONDAY_NOON, MONDAY_NOON + timedelta(minutes=30))
    windowed = pull_settings({"TimeConstraintEnabled": True, "AllowedDays": ["tue"], "DontSendBefore": "09:00",
                              "DontSendAfter": "17:00"})
    assert not pull_due(windowed, None, MONDAY_NOON)                       # Monday
    assert pull_due(windowed, None, MONDAY_NOON + timedelta(days=1))       # Tuesday noon
    assert not pull_due(windowed, None, MONDAY_NOON + timedelta(days=1, hours=6))  # Tuesday 18:00
    assert not pull_due(pull_settings({"TimeConstraintEnabled": True, "AllowedDays": []}), None, MONDAY_NOON)
    assert pull_settings({"IntervalValue": 0})["IntervalValue"] == 0 and not pull_due(
        pull_settings({"IntervalValue": 0}), MONDAY_NOON, MONDAY_NOON + timedelta(seconds=59))  # floored at 60 s


def test_scheduled_pull_enrolls_batches_under_the_frequency_cap(engine, user, clock):
    list_id = make_list(engine, user, "Warm-up")
    for n in range(5):
        make_subscriber(engine, list_id, f"w{n}@example.com")
    make_subscriber(engine, list_id, "gone@example.com", subscription_status="Unsubscribed")
    with engine.uow() as uow:
        actor = user_actor(user)
        journey = uow.journeys.create(actor, {"name": "Warm", "trigger": "ScheduledPull", "trigger_list_id": list_id,
                                              "trigger_parameters": {"IntervalValue": 1, "IntervalUnit": "hours",
                                                                     "SubscriberCountFixed": 2,
                                                                     "FrequencyCapEnabled": True, "FrequencyCapCount": 1,
                                                                     "FrequencyCapPeriod": 1, "FrequencyCapUnit": "days"}})
        uow.journeys.set_status(actor, journey.id, True)
        uow.commit()
        journey_id = journey.id

    def enrolled() -> int:
        with engine.uow() as uow:
            return uow.session.scalar(select(func.count()).select_from(JourneyEnrollment))

    assert journeys_pass(engine, clock())[0] == 2        # no actions: the runs complete at once
    assert journeys_pass(engine, clock())[0] == 0        # not due again yet
    clock.advance(hours=1)
    assert journeys_pass(engine, clock())[0] == 2
    clock.advance(hours=1)
    assert journeys_pass(engine, clock())[0] == 1        # the cap: one a day each, one left
    clock.advance(hours=1)
    assert journeys_pass(engine, clock())[0] == 0 and enrolled() == 5
    clock.advance(days=1)
    assert journeys_pass(engine, clock())[0] == 2
    with engine.uow() as uow:
        assert uow.session.get(Journey, journey_id).last_pull_at == clock()


def test_a_pull_already_taken_by_another_tick_pulls_nobody(engine, user, clock):
    from engine.automation.journeys.pull import pull

    list_id = make_list(engine, user, "Race")
    make_subscriber(engine, list_id, "r@example.com")
    with engine.uow() as uow:
        actor = user_actor(user)
        journey = uow.journeys.create(actor, {"name": "R", "trigger": "ScheduledPull", "trigger_list_id": list_id})
        uow.journeys.set_status(actor, journey.id, True)
        uow.commit()
        journey_id = journey.id
    with engine.uow() as reader:           # a tick reads the journey as due (never pulled) ...
        stale = reader.session.get(Journey, journey_id)
        reader.session.expunge(stale)
    assert stale.last_pull_at is None
    with engine.uow() as fast:             # ... while another tick pulls first
        assert pull(fast.session, fast.session.get(Journey, journey_id), clock()) == 1
        fast.commit()
    with engine.uow() as slow:             # the first tick, acting on what it read, pulls nobody
        assert pull(slow.session, slow.session.merge(stale, load=False), clock()) == 0
        slow.commit()
    with engine.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(JourneyEnrollment)) == 1
