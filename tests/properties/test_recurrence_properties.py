"""The schedule evaluator against an independent brute force that walks UTC minute by minute.

The brute force knows nothing of the evaluator's day iteration or bisection. A UTC minute is a send
instant when
* its local wall time matches the schedule and is the first occurrence of that wall time, or
* it is the first local minute after a spring-forward gap into which a matching wall time fell.
To stay fast it skips an hour of UTC in one step when no offset change touches that hour and none
of the hour's wall times lies on a matching day at a scheduled hour.
"""
from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings, strategies as st

from scheduler.recurrence import (
    RecurringSchedule, future_send_instant, latest_run_at_or_before, next_run_after, next_runs,
)

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
SEARCH_LIMIT = timedelta(days=366)
ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "America/Sao_Paulo"]
# Every offset difference in these zones is a multiple of 30 minutes and at most two hours.
REPEAT_PROBES = [timedelta(minutes=30 * k) for k in range(1, 5)]

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.too_slow])


# --- the brute force ---------------------------------------------------------------------------
def day_is_scheduled(s: RecurringSchedule, day: date) -> bool:
    if s.months and day.month not in s.months:
        return False
    restricted = []
    if s.days_of_week:
        restricted.append(day.isoweekday() in s.days_of_week)
    if s.days_of_month:
        restricted.append(day.day in s.days_of_month)
    return any(restricted) if restricted else True


def wall_is_scheduled(s: RecurringSchedule, wall: datetime) -> bool:
    return day_is_scheduled(s, wall.date()) and wall.hour in s.hours and wall.minute in s.minutes


def wall(u: datetime, tz) -> datetime:
    return u.astimezone(tz).replace(tzinfo=None)


def is_send_minute(s: RecurringSchedule, u: datetime) -> bool:
    here = wall(u, s.tz)
    if wall_is_scheduled(s, here) and all(wall(u - back, s.tz) != here for back in REPEAT_PROBES):
        return True
    before = wall(u - MINUTE, s.tz)
    skipped = before + MINUTE
    while skipped < here:  # wall times the clock jumped over between the previous minute and this one
        if wall_is_scheduled(s, skipped):
            return True
        skipped += MINUTE
    return False


def hour_may_send(s: RecurringSchedule, start: datetime) -> bool:
    tz = s.tz
    if (start - MINUTE).astimezone(tz).utcoffset() != (start + 59 * MINUTE).astimezone(tz).utcoffset():
        return True  # an offset change somewhere in this hour: look at every minute
    first, last = wall(start, tz), wall(start + 59 * MINUTE, tz)
    return any(day_is_scheduled(s, w.date()) and w.hour in s.hours for w in (first, last))


def brute_next_run(s: RecurringSchedule, after: datetime) -> datetime | None:
    u = after.astimezone(UTC).replace(second=0, microsecond=0)
    if u <= after:
        u += MINUTE
    end = after + SEARCH_LIMIT
    while u <= end:
        if hour_may_send(s, u):
            for k in range(60):
                if is_send_minute(s, u + k * MINUTE):
                    return u + k * MINUTE
        u += HOUR
    return None


# --- strategies --------------------------------------------------------------------------------
def small_sets(values: st.SearchStrategy[int], max_size: int, min_size: int = 0) -> st.SearchStrategy:
    return st.frozensets(values, min_size=min_size, max_size=max_size)


# Hours 0–3 are where DST transitions happen in these zones, so they are drawn often.
hours_strategy = small_sets(st.one_of(st.integers(0, 23), st.integers(0, 3)), 3, min_size=1)
minutes_strategy = small_sets(st.one_of(st.integers(0, 59), st.sampled_from([0, 15, 30, 45])), 3, min_size=1)


@st.composite
def schedules(draw, dense_days: bool = False) -> RecurringSchedule:
    if dense_days:
        dow, dom, months = frozenset(), frozenset(), frozenset()
    else:
        dow = draw(small_sets(st.integers(1, 7), 3))
        dom = draw(small_sets(st.one_of(st.integers(1, 31), st.integers(28, 31)), 3))
        months = draw(st.one_of(st.just(frozenset()), small_sets(st.integers(1, 12), 6, min_size=1)))
    return RecurringSchedule(dow, dom, months, draw(hours_strategy), draw(minutes_strategy),
                             ZoneInfo(draw(st.sampled_from(ZONES))))


instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31),
                        timezones=st.just(UTC))


def transitions(tz, year: int) -> list[datetime]:
    """UTC hours at which the zone's offset changes during `year` (found hour by hour)."""
    found, u = [], datetime(year, 1, 1, tzinfo=UTC)
    while u.year == year:
        if u.astimezone(tz).utcoffset() != (u + HOUR).astimezone(tz).utcoffset():
            found.append(u + HOUR)
        u += HOUR
    return found


@st.composite
def near_a_transition(draw) -> tuple[RecurringSchedule, datetime]:
    """A daily schedule and a start a little before one of its zone's DST changes."""
    s = draw(schedules(dense_days=True).filter(lambda s: str(s.tz) != "UTC" and str(s.tz) != "Asia/Kolkata"))
    year = draw(st.integers(2005, 2018))  # São Paulo still had DST then
    change = draw(st.sampled_from(transitions(s.tz, year)))
    return s, change - draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=30)))


# --- properties --------------------------------------------------------------------------------
def assert_matches_brute_force(s: RecurringSchedule, after: datetime) -> None:
    expected = brute_next_run(s, after)
    actual = next_run_after(s, after)
    if expected is None:
        assert actual is None or actual > after + SEARCH_LIMIT
    else:
        assert actual == expected, (s, after)
        assert actual.tzinfo == UTC


@PROPERTY_SETTINGS
@given(schedules(), instants)
def test_next_run_after_equals_a_minute_by_minute_search(s, after):
    assert_matches_brute_force(s, after)


@PROPERTY_SETTINGS
@given(near_a_transition())
def test_next_run_after_equals_the_search_across_dst_changes(case):
    s, after = case
    start, chain = after, []
    # Walk on through the change: each next run must also agree with the brute force.
    for _ in range(6):
        assert_matches_brute_force(s, after)
        after = next_run_after(s, after)
        chain.append(after)
    assert next_runs(s, start, 6) == chain  # and a gap that swallows several times sends once


@PROPERTY_SETTINGS
@given(schedules(dense_days=True), instants)
def test_runs_are_strictly_increasing_and_catch_up_finds_each_one(s, after):
    runs = next_runs(s, after, 8)
    assert runs == sorted(set(runs)) and all(run > after for run in runs)
    assert runs[0] == next_run_after(s, after)
    for earlier, later in zip(runs, runs[1:]):
        assert next_run_after(s, earlier) == later
        assert latest_run_at_or_before(s, later) == later
        assert latest_run_at_or_before(s, later - timedelta(microseconds=1)) == earlier
        assert latest_run_at_or_before(s, later, not_before=earlier) == later
        assert latest_run_at_or_before(s, later - timedelta(microseconds=1), not_before=earlier) is None


@PROPERTY_SETTINGS
@given(schedules(), instants, st.integers(0, 5), st.integers(0, 8))
def test_max_instances_caps_the_remaining_runs(s, after, max_instances, sent):
    capped = dataclasses.replace(s, max_instances=max_instances)
    runs = next_runs(capped, after, 10, sent_instances=sent)
    unlimited = next_runs(s, after, 10)
    expected = len(unlimited) if max_instances == 0 else min(len(unlimited), max(max_instances - sent, 0))
    assert runs == unlimited[:expected]


@PROPERTY_SETTINGS
@given(st.sampled_from(ZONES), st.dates(date(2000, 1, 1), date(2035, 12, 31)),
       st.times().map(lambda t: t.replace(microsecond=0)))
def test_future_send_instant_follows_the_dst_rules(zone, send_date, send_time):
    tz = ZoneInfo(zone)
    target = datetime.combine(send_date, send_time)
    sent = future_send_instant(send_date, send_time, tz)
    here = wall(sent, tz)
    if here == target:
        # The wall time exists: it must be its first occurrence.
        assert all(wall(sent - back, tz) != target for back in REPEAT_PROBES)
    else:
        # It does not exist: sent at the first whole minute after the gap that swallowed it.
        assert here > target and here.second == 0 and wall(sent - MINUTE, tz) < target
