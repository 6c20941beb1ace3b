"""When recurring and one-off campaigns send: a pure evaluator (no database, no clock).

Rules (protocol.md Part 1 §6–8):
* Days of week are ISO (1 = Monday … 7 = Sunday). Days of week, days of month and months use
  `0` or `*` for "every"; hours and minutes are literal (`0` is midnight / minute zero).
* When both days of week and days of month are restricted, a day matching either is a send day
  (a union, as cron does); when only one is restricted, only it applies. Months always restrict.
* Days 29–31 that a month lacks are skipped, never shifted.
* A local time that does not exist (spring-forward gap) is sent at the first valid minute after the
  gap, once even if several scheduled times fall into the gap; a local time that occurs twice
  (fall back) is sent once, at its first occurrence.

Under these rules the map "local wall time → UTC send instant" never decreases, which is what lets
the search below bisect a day's sorted times instead of converting every one of them.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache

from scheduler.timezones import resolve_timezone

# Eight years, not four: 29 February can be eight years away (2096 → 2104). Beyond this horizon a
# schedule that can never match (31 April, 30 February) gives None instead of looping forever.
HORIZON_DAYS = 8 * 366
# Longest gap a real zone has had: Pacific/Apia skipped all of 30 December 2011.
_MAX_GAP_MINUTES = 2 * 24 * 60
_ONE_DAY = timedelta(days=1)


class InvalidScheduleField(ValueError):
    """A recurring-schedule field is not a valid comma list for its range."""


class InvalidSendDate(ValueError):
    """SendDate is not a real YYYY-MM-DD date."""


class InvalidSendTime(ValueError):
    """SendTime is not a real HH:MM:SS (or HH:MM) time of day."""


# --- parsing the wire values -------------------------------------------------------------------
def parse_comma_list(text: str | None, lo: int, hi: int, wildcard_zero: bool) -> frozenset[int]:
    """Parse a legacy comma list such as `1,3, 5`.

    For day and month fields (`wildcard_zero`) `0` or `*` means every value, returned as the empty
    set; for hours and minutes `0` is literal and `*` means every value lo..hi. Blank gives the
    empty set: whether "not given" is allowed is the caller's decision.
    """
    if text is None or not str(text).strip():
        return frozenset()
    values: set[int] = set()
    every = False
    # Every item is checked even after a wildcard, so `0,99` is still refused.
    for raw in str(text).split(","):
        item = raw.strip()
        if not item:
            continue  # `1,2,` from a UI that joins with a trailing comma
        if item == "*":
            every = True
        elif not item.isascii() or not item.isdigit() or len(item) > 9:
            # (Nine digits at most: int() refuses strings of thousands of digits with a ValueError.)
            raise InvalidScheduleField(f"'{item[:20]}' is not a whole number between {lo} and {hi}")
        elif wildcard_zero and int(item) == 0:
            every = True
        elif not lo <= int(item) <= hi:
            raise InvalidScheduleField(f"{int(item)} is outside the range {lo}..{hi}")
        else:
            values.add(int(item))
    if every:
        return frozenset() if wildcard_zero else frozenset(range(lo, hi + 1))
    return frozenset(values)


def parse_max_instances(value: int | str | None) -> int:
    """ScheduleRecSendMaxInstance: a whole number, `0` (or blank) = unlimited."""
    text = "" if value is None else str(value).strip()
    if not text:
        return 0
    if not text.isascii() or not text.isdigit():
        raise InvalidScheduleField(f"'{text}' is not a whole number of instances (0 = unlimited)")
    return int(text)


def parse_send_date(text: str | None) -> date:
    """YYYY-MM-DD; the legacy `0000-00-00` "no date" and impossible dates are refused."""
    text = (text or "").strip()
    if text == "0000-00-00":
        raise InvalidSendDate("0000-00-00 is not a date")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text, flags=re.ASCII):
        raise InvalidSendDate(f"'{text}' is not a date in YYYY-MM-DD form")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidSendDate(f"'{text}' is not a valid date") from None


def parse_send_time(text: str | None) -> time:
    """HH:MM:SS or HH:MM (24-hour clock)."""
    text = (text or "").strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text, flags=re.ASCII)
    if not match:
        raise InvalidSendTime(f"'{text}' is not a time in HH:MM:SS form")
    hour, minute, second = (int(part or 0) for part in match.groups())
    if hour > 23 or minute > 59 or second > 59:
        raise InvalidSendTime(f"'{text}' is not a valid time of day")
    return time(hour, minute, second)


# --- the schedule ------------------------------------------------------------------------------
_RANGES = {"days_of_week": (1, 7), "days_of_month": (1, 31), "months": (1, 12),
           "hours": (0, 23), "minutes": (0, 59)}


@dataclass(frozen=True)
class RecurringSchedule:
    """Empty day/month sets mean "every"; hours and minutes are literal and never empty."""

    days_of_week: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    hours: frozenset[int]
    minutes: frozenset[int]
    tz: tzinfo
    max_instances: int = 0

    def __post_init__(self) -> None:
        # Checked here too, not only in from_legacy, so no caller can build a schedule the
        # search would misread (an hour 24, an empty minute set that can never fire).
        for name, (lo, hi) in _RANGES.items():
            values = frozenset(getattr(self, name))
            object.__setattr__(self, name, values)
            if any(not lo <= v <= hi for v in values):
                raise InvalidScheduleField(f"{name} must lie within {lo}..{hi}: {sorted(values)}")
        if not self.hours or not self.minutes:
            raise InvalidScheduleField("hours and minutes must each name at least one value")
        if not isinstance(self.tz, tzinfo):
            raise InvalidScheduleField(f"{self.tz!r} is not a time zone")
        if self.max_instances < 0:
            raise InvalidScheduleField("max_instances must be 0 (unlimited) or more")

    @classmethod
    def from_legacy(cls, days_of_week: str | None, days_of_month: str | None, months: str | None,
                    hours: str | None, minutes: str | None, tz_text: str | tzinfo | None,
                    max_instances: int | str | None = 0) -> RecurringSchedule:
        """Build from the ScheduleRec* wire strings; a missing time zone means UTC."""
        return cls(
            days_of_week=_field("ScheduleRecDaysOfWeek", days_of_week, 1, 7, True),
            days_of_month=_field("ScheduleRecDaysOfMonth", days_of_month, 1, 31, True),
            months=_field("ScheduleRecMonths", months, 1, 12, True),
            hours=_required_field("ScheduleRecHours", hours, 0, 23),
            minutes=_required_field("ScheduleRecMinutes", minutes, 0, 59),
            tz=_zone(tz_text),
            max_instances=parse_max_instances(max_instances),
        )

    def day_matches(self, day: date) -> bool:
        if self.months and day.month not in self.months:
            return False
        if self.days_of_week and self.days_of_month:
            return day.isoweekday() in self.days_of_week or day.day in self.days_of_month
        if self.days_of_week:
            return day.isoweekday() in self.days_of_week
        if self.days_of_month:
            return day.day in self.days_of_month
        return True

    def times_of_day(self) -> list[time]:
        """Every hour × minute combination, earliest first."""
        return list(_times_of_day(self.hours, self.minutes))


def _field(name: str, text: str | None, lo: int, hi: int, wildcard_zero: bool) -> frozenset[int]:
    try:
        return parse_comma_list(text, lo, hi, wildcard_zero)
    except InvalidScheduleField as exc:
        raise InvalidScheduleField(f"{name}: {exc}") from None


def _required_field(name: str, text: str | None, lo: int, hi: int) -> frozenset[int]:
    values = _field(name, text, lo, hi, False)
    if not values:
        raise InvalidScheduleField(f"{name} is required")
    return values


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if isinstance(tz, tzinfo):
        return tz
    if tz is None or not str(tz).strip():
        return timezone.utc  # the zone schedules are displayed in when none was stored
    return resolve_timezone(tz)


@lru_cache(maxsize=256)
def _times_of_day(hours: frozenset[int], minutes: frozenset[int]) -> tuple[time, ...]:
    return tuple(time(h, m) for h in sorted(hours) for m in sorted(minutes))


# --- local wall time → UTC ---------------------------------------------------------------------
def local_to_utc(local: datetime, tz: tzinfo) -> datetime:
    """The UTC instant a naive local wall time is sent at, under the DST rules above."""
    utc = local.replace(tzinfo=tz, fold=0).astimezone(timezone.utc)
    if utc.astimezone(tz).replace(tzinfo=None) == local:
        return utc  # it exists; fold=0 picked the first of two occurrences if it repeats
    # A spring-forward gap: the wall time never happens, so take the first minute that does.
    probe = local.replace(second=0, microsecond=0)
    for _ in range(_MAX_GAP_MINUTES):
        probe += timedelta(minutes=1)
        utc = probe.replace(tzinfo=tz, fold=0).astimezone(timezone.utc)
        if utc.astimezone(tz).replace(tzinfo=None) == probe:
            return utc
    raise ValueError(f"no valid local time within two days after {local} in {tz}")


def future_send_instant(send_date: date, send_time: time, tz: tzinfo | str) -> datetime:
    """The UTC instant a one-off (Future) campaign sends at."""
    return local_to_utc(datetime.combine(send_date, send_time.replace(tzinfo=None)), _zone(tz))


# --- searching occurrences ---------------------------------------------------------------------
def next_run_after(schedule: RecurringSchedule, after: datetime) -> datetime | None:
    """The first send instant strictly after `after` (aware), in UTC; None if none within 8 years."""
    runs = _upcoming(schedule, after, 1)
    return runs[0] if runs else None


def next_runs(schedule: RecurringSchedule, after: datetime, n: int,
              sent_instances: int = 0) -> list[datetime]:
    """Up to n send instants strictly after `after`, honouring max_instances − sent_instances."""
    if schedule.max_instances:
        n = min(n, schedule.max_instances - sent_instances)
    return _upcoming(schedule, after, n)


def latest_run_at_or_before(schedule: RecurringSchedule, instant: datetime,
                            not_before: datetime | None = None) -> datetime | None:
    """The most recent occurrence ≤ `instant` and > `not_before`, in UTC (missed-tick catch-up)."""
    ceiling = _utc(instant)
    floor = _utc(not_before) if not_before is not None else None
    day = _local_date(ceiling, schedule.tz) + _ONE_DAY
    # Occurrences of days before the floor's local date all map to instants at or before the floor.
    last_day = _local_date(floor, schedule.tz) - _ONE_DAY if floor else day - timedelta(HORIZON_DAYS)
    while day >= last_day:
        if schedule.day_matches(day):
            times = _times_of_day(schedule.hours, schedule.minutes)
            to_utc = _instant_on(day, schedule.tz)
            later = bisect_right(times, ceiling, key=to_utc)
            if later:
                run = to_utc(times[later - 1])
                return run if floor is None or run > floor else None
        day -= _ONE_DAY
    return None


def _upcoming(schedule: RecurringSchedule, after: datetime, n: int) -> list[datetime]:
    runs: list[datetime] = []
    last = _utc(after)
    # Start one local day early: a wall time in a gap late on the previous day can be sent today.
    day = _local_date(last, schedule.tz) - _ONE_DAY
    for _ in range(HORIZON_DAYS):
        if len(runs) >= n:
            break
        if schedule.day_matches(day):
            runs += _day_runs_after(schedule, day, last, n - len(runs))
            last = runs[-1] if runs else last
        day += _ONE_DAY
    return runs


def _day_runs_after(schedule: RecurringSchedule, day: date, after: datetime, n: int) -> list[datetime]:
    """Up to n distinct instants of `day` strictly after `after`, earliest first."""
    times = _times_of_day(schedule.hours, schedule.minutes)
    to_utc = _instant_on(day, schedule.tz)
    runs: list[datetime] = []
    for moment in times[bisect_right(times, after, key=to_utc):]:
        instant = to_utc(moment)
        if instant > (runs[-1] if runs else after):  # gap times collapse into one send
            runs.append(instant)
            if len(runs) == n:
                break
    return runs


def _instant_on(day: date, tz: tzinfo) -> Callable[[time], datetime]:
    return lambda moment: local_to_utc(datetime.combine(day, moment), tz)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"an aware datetime is required, got naive {moment}")
    return moment.astimezone(timezone.utc)


def _local_date(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()
