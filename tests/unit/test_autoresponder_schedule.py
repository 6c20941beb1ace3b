"""When autoresponder sends are due (engine/automation/schedule.py): delays, Repeat, DST, month ends, 29 February."""
from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from engine.automation.schedule import (
    add_months, anniversary_days, day_start, delayed, due_times, repeated, zone,
)

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc


def at(*parts, tz=UTC) -> datetime:
    return datetime(*parts, tzinfo=tz)


def responder(time_type="Immediately", amount=0, repeat=None):
    count, interval, unit = repeat or (0, 0, "")
    return SimpleNamespace(trigger_time_type=time_type, trigger_time=amount, repeat_status="Enabled" if repeat else None,
                           repeat_count=count, repeat_interval=interval, repeat_unit=unit)


def test_immediately_is_the_trigger_instant():
    assert delayed(at(2026, 3, 1, 9, 30), "Immediately", 0, BERLIN) == at(2026, 3, 1, 9, 30)


@pytest.mark.parametrize("time_type, amount, expected", [
    ("Seconds later", 90, at(2026, 3, 1, 9, 31, 30)),
    ("Minutes later", 45, at(2026, 3, 1, 10, 15)),
    ("Hours later", 25, at(2026, 3, 2, 10, 30)),
])
def test_seconds_minutes_and_hours_are_elapsed_time(time_type, amount, expected):
    assert delayed(at(2026, 3, 1, 9, 30), time_type, amount, BERLIN) == expected


def test_days_keep_the_local_wall_clock_across_the_spring_dst_change():
    # Saturday 28 March 2026 10:00 in Berlin is 09:00 UTC; Sunday the clocks go forward: 10:00 is 08:00 UTC.
    start = at(2026, 3, 28, 10, 0, tz=BERLIN)
    assert delayed(start, "Days later", 1, BERLIN) == at(2026, 3, 29, 8, 0)
    # Hours stay elapsed time: 24 hours later is 11:00 local on the Sunday.
    assert delayed(start, "Hours later", 24, BERLIN).astimezone(BERLIN).hour == 11


def test_weeks_keep_the_local_wall_clock_across_the_autumn_dst_change():
    start = at(2026, 10, 20, 18, 0, tz=BERLIN)   # UTC+2
    assert delayed(start, "Weeks later", 1, BERLIN) == at(2026, 10, 27, 17, 0)   # UTC+1


def test_a_wall_clock_time_the_spring_change_skips_moves_forward_by_the_gap():
    start = at(2026, 3, 28, 2, 30, tz=BERLIN)
    assert delayed(start, "Days later", 1, BERLIN).astimezone(BERLIN) == at(2026, 3, 29, 3, 30, tz=BERLIN)


def test_a_wall_clock_time_that_occurs_twice_takes_the_first():
    start = at(2026, 10, 24, 2, 30, tz=BERLIN)
    assert delayed(start, "Days later", 1, BERLIN) == at(2026, 10, 25, 0, 30)   # 02:30 CEST


@pytest.mark.parametrize("day, months, expected", [
    (date(2026, 1, 31), 1, date(2026, 2, 28)), (date(2028, 1, 31), 1, date(2028, 2, 29)),
    (date(2026, 3, 31), 1, date(2026, 4, 30)), (date(2026, 11, 30), 3, date(2027, 2, 28)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)), (date(2026, 5, 31), 120, date(2036, 5, 31)),
])
def test_months_are_calendar_months_clamped_to_the_month_end(day, months, expected):
    assert add_months(day, months) == expected


def test_months_later_keeps_the_local_time():
    assert delayed(at(2026, 1, 31, 9, 0, tz=BERLIN), "Months later", 1, BERLIN) == at(2026, 2, 28, 8, 0)


def test_monthly_repeats_count_from_the_first_send_so_month_ends_do_not_drift():
    first = at(2026, 1, 31, 12, 0)
    assert [repeated(first, n, 1, "M", UTC).date() for n in range(4)] == \
        [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]


def test_due_times_of_a_repeated_delay():
    r = responder("Days later", 2, (3, 1, "W"))
    assert due_times(at(2026, 3, 1, 9, 0), r, UTC) == [at(2026, 3, 3, 9, 0), at(2026, 3, 10, 9, 0),
                                                      at(2026, 3, 17, 9, 0)]
    assert due_times(at(2026, 3, 1, 9, 0), responder("Hours later", 1, (2, 5, "H")), UTC) == \
        [at(2026, 3, 1, 10, 0), at(2026, 3, 1, 15, 0)]
    assert due_times(at(2026, 3, 1, 9, 0), responder(), UTC) == [at(2026, 3, 1, 9, 0)]


def test_the_29th_of_february_is_celebrated_on_the_28th_in_other_years():
    assert anniversary_days(date(2027, 2, 28)) == [(2, 28), (2, 29)]
    assert anniversary_days(date(2028, 2, 28)) == [(2, 28)]
    assert anniversary_days(date(2028, 2, 29)) == [(2, 29)]
    assert anniversary_days(date(2027, 3, 1)) == [(3, 1)]


def test_a_local_day_starts_at_local_midnight():
    assert day_start(date(2026, 7, 1), BERLIN) == at(2026, 6, 30, 22, 0)
    assert day_start(date(2026, 7, 1), zone("Not/AZone")) == at(2026, 7, 1, 0, 0)
    assert zone("").utcoffset(datetime(2026, 7, 1)) == UTC.utcoffset(None)
