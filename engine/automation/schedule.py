"""When an autoresponder's sends are due (pure: no database).

A delay (TriggerTimeType + TriggerTime) counts from the trigger instant:
* Seconds / Minutes / Hours later are elapsed time (a 2-hour delay is two real hours, also across a
  DST change);
* Days / Weeks / Months later are calendar steps in the sending account's time zone: the local
  wall-clock time is kept (a subscription at 10:00 with "1 Day later" is due at 10:00 the next local day
  even when the clocks changed overnight), and a month step that lands on a day the month lacks takes
  the month's last day (31 January + 1 month = 28/29 February). A wall-clock time that a DST change
  skips moves forward by the gap; one that occurs twice takes the first.

Repeat `R{count}/P{interval}{unit}` adds `n × interval` to the first due time for the n-th send
(n = 0 … count-1), H as elapsed hours and D / W / M as calendar steps like the delays; counting each
send from the first (not from the previous one) keeps month-end clamping from drifting
(31 Jan, 28 Feb, 31 Mar, not 31 Jan, 28 Feb, 28 Mar).

Date triggers: `date_for_day` says which stored date a local day answers, with 29 February's
anniversary on 28 February in years without one.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

_ELAPSED = {"Seconds later": 1, "Minutes later": 60, "Hours later": 3600}
_CALENDAR_DAYS = {"Days later": 1, "Weeks later": 7}


def zone(name: str | None) -> tzinfo:
    """The IANA zone `name`; UTC when it is empty or unknown (the account setting is free text)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError, OSError):   # ZoneInfoNotFoundError is a KeyError
        return timezone.utc


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _local(wall: datetime, tz: tzinfo) -> datetime:
    """A naive local wall-clock time as UTC. fold=0 (PEP 495) reads a time a DST change skips with the
    offset before the change, which lands as far after the gap as the time was into it (02:30 on a
    spring-forward night is 03:30), and a time that occurs twice as its first occurrence."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(timezone.utc)


def _calendar_step(start: datetime, tz: tzinfo, days: int = 0, months: int = 0) -> datetime:
    wall = start.astimezone(tz).replace(tzinfo=None)
    day = add_months(wall.date(), months) + timedelta(days=days)
    return _local(datetime.combine(day, wall.time()), tz)


def delayed(start: datetime, time_type: str, amount: int, tz: tzinfo) -> datetime:
    """`start` + the autoresponder's delay, in UTC."""
    start = start.astimezone(timezone.utc)
    if time_type == "Immediately" or not amount:
        return start
    if time_type in _ELAPSED:
        return start + timedelta(seconds=_ELAPSED[time_type] * amount)
    if time_type in _CALENDAR_DAYS:
        return _calendar_step(start, tz, days=_CALENDAR_DAYS[time_type] * amount)
    if time_type == "Months later":
        return _calendar_step(start, tz, months=amount)
    raise ValueError(f"unknown trigger time type {time_type!r}")


def repeated(first: datetime, n: int, interval: int, unit: str, tz: tzinfo) -> datetime:
    """The n-th send (0 = the first) of a Repeat pattern whose first send is due at `first`."""
    if n == 0:
        return first
    steps = n * interval
    if unit == "H":
        return first + timedelta(hours=steps)
    if unit == "D":
        return _calendar_step(first, tz, days=steps)
    if unit == "W":
        return _calendar_step(first, tz, days=7 * steps)
    if unit == "M":
        return _calendar_step(first, tz, months=steps)
    raise ValueError(f"unknown repeat unit {unit!r}")


def due_times(trigger_at: datetime, responder, tz: tzinfo) -> list[datetime]:
    """Every send of one trigger, in order: one, or `repeat_count` with Repeat enabled."""
    first = delayed(trigger_at, responder.trigger_time_type, responder.trigger_time, tz)
    count = responder.repeat_count if responder.repeat_status == "Enabled" and responder.repeat_count else 1
    return [repeated(first, n, responder.repeat_interval, responder.repeat_unit, tz) for n in range(count)]


def day_start(day: date, tz: tzinfo) -> datetime:
    """The first instant of a local day, in UTC."""
    return _local(datetime.combine(day, time(0)), tz)


def local_day(instant: datetime, tz: tzinfo) -> date:
    return instant.astimezone(tz).date()


def anniversary_days(day: date) -> list[tuple[int, int]]:
    """(month, day) pairs a yearly trigger fires for on `day`: 28 February also answers 29 February
    in a year that has none."""
    pairs = [(day.month, day.day)]
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        pairs.append((2, 29))
    return pairs
