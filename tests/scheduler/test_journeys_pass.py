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


# --- the account's clock (Europe/Berlin: CET +01:00 until 2026-03-29 02:00, CEST +02:00 after) ----------------
BERLIN_WINDOW = {"TimeConstraintEnabled": True, "AllowedDays": ["mon", "tue", "wed", "thu", "fri"],
                 "DontSendBefore": "09:00", "DontSendAfter": "09:59"}
FRIDAY_BEFORE = datetime(2026, 3, 27, tzinfo=timezone.utc)     # CET
MONDAY_AFTER = datetime(2026, 3, 30, tzinfo=timezone.utc)      # CEST


def test_pull_windows_are_read_on_the_accounts_clock_across_a_dst_change():
    from zoneinfo import ZoneInfo

    berlin, settings = ZoneInfo("Europe/Berlin"), pull_settings(BERLIN_WINDOW)
    assert pull_due(settings, None, FRIDAY_BEFORE.replace(hour=8, minute=30), berlin)       # 09:30 CET
    assert not pull_due(settings, None, FRIDAY_BEFORE.replace(hour=7, minute=30), berlin)   # 08:30 CET
    assert pull_due(settings, None, MONDAY_AFTER.replace(hour=7, minute=30), berlin)        # 09:30 CEST
    assert not pull_due(settings, None, MONDAY_AFTER.replace(hour=8, minute=30), berlin)    # 10:30 CEST
    assert pull_due(settings, None, MONDAY_AFTER.replace(hour=9, minute=30))                # UTC without a zone
    assert not pull_due(settings, None, MONDAY_AFTER.replace(hour=9, minute=30), berlin)    # 11:30 CEST
    # Sunday 23:30 UTC is Monday 01:30 in Berlin; Friday 23:30 UTC is already Saturday there.
    late = pull_settings({**BERLIN_WINDOW, "DontSendBefore": "00:00", "DontSendAfter": "23:59"})
    assert pull_due(late, None, datetime(2026, 3, 29, 23, 30, tzinfo=timezone.utc), berlin)
    assert not pull_due(late, None, datetime(2026, 3, 27, 23, 30, tzinfo=timezone.utc), berlin)


def test_wait_windows_open_at_local_hours_across_a_dst_change():
    from zoneinfo import ZoneInfo

    from engine.automation.journeys.waits import window_start

    berlin = ZoneInfo("Europe/Berlin")
    # Before the change 09:00 in Berlin is 08:00 UTC; after it, 07:00 UTC.
    assert window_start(BERLIN_WINDOW, FRIDAY_BEFORE.replace(hour=6), berlin) == FRIDAY_BEFORE.replace(hour=8)
    assert window_start(BERLIN_WINDOW, MONDAY_AFTER.replace(hour=6), berlin) == MONDAY_AFTER.replace(hour=7)
    assert window_start(BERLIN_WINDOW, MONDAY_AFTER.replace(hour=7, minute=20), berlin) == \
        MONDAY_AFTER.replace(hour=7, minute=20)                                              # open now
    # Friday 10:00 CET is past the window: the next opening is Monday 09:00 CEST = 07:00 UTC, across the change.
    assert window_start(BERLIN_WINDOW, FRIDAY_BEFORE.replace(hour=9), berlin) == MONDAY_AFTER.replace(hour=7)
    assert window_start(BERLIN_WINDOW, MONDAY_AFTER.replace(hour=6)) == MONDAY_AFTER.replace(hour=9)  # UTC


def test_the_pass_reads_each_owners_time_zone(engine, user, clock):
    from engine.models import User

    list_id = make_list(engine, user, "Local")
    for n in range(3):
        make_subscriber(engine, list_id, f"l{n}@example.com")
    with engine.uow() as uow:
        uow.session.get(User, user.id).time_zone = "Europe/Berlin"
        actor = user_actor(user)
        journey = uow.journeys.create(actor, {"name": "Local", "trigger": "ScheduledPull", "trigger_list_id": list_id,
                                              "trigger_parameters": {**BERLIN_WINDOW, "IntervalValue": 1,
                                                                     "IntervalUnit": "minutes",
                                                                     "SubscriberCountFixed": 1}})
        uow.journeys.set_status(actor, journey.id, True)
        uow.commit()
    assert journeys_pass(engine, MONDAY_AFTER.replace(hour=8, minute=30))[0] == 0   # 10:30 in Berlin
    assert journeys_pass(engine, MONDAY_AFTER.replace(hour=7, minute=30))[0] == 1   # 09:30 in Berlin
    next_friday = FRIDAY_BEFORE + timedelta(days=7)                                 # CEST now
    assert journeys_pass(engine, next_friday.replace(hour=8, minute=30))[0] == 0     # 09:30 CET would have pulled
    assert journeys_pass(engine, next_friday.replace(hour=7, minute=30))[0] == 1
