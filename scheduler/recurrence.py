"""When recurring and one-off campaigns send: a pure evaluator (no database, no clock).

Rules (protocol.md Part 1 §6–7):
* Days of week are ISO (1 = Monday … 7 = Sunday). Days of week, days of month and months use
  `0` or `*` for "every"; hours and minutes are literal (`0` is midnight / minute zero).
* When both days of week and days of month are restricted, a day matching either is a send day
  (a union, as cron does); when only one is restricted, only it applies. Months always restrict.
* Days 29–31 that a month lacks are skipped, never shifted.
* A local time that does not exist (spring-forward gap) is sent at the first valid minute after the
  gap, once even if several scheduled times fall into the gap; a local time that occurs twice
  (fall back) is sent once, at its first occurrence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from scheduler.timezones import resolve_timezone

# Beyond this horizon a schedule that never matches (e.g. 31 February) gives None.
HORIZON_DAYS = 8 * 366


class InvalidScheduleField(ValueError):
    """A recurring-schedule field is not a valid comma list for its range."""


class InvalidSendDate(ValueError):
    pass


class InvalidSendTime(ValueError):
    pass


def parse_comma_list(text: str | None, lo: int, hi: int, wildcard_zero: bool) -> frozenset[int]:
    """Parse a legacy comma list. For day/month fields `0`/`*` mean every (→ empty set);
    for hours and minutes `0` is literal and `*` means every value lo..hi."""
    if text is None or not str(text).strip():
        return frozenset()
    values: set[int] = set()
    for raw in str(text).split(","):
        item = raw.strip()
        if not item:
            continue
        if item == "*":
            if wildcard_zero:
                return frozenset()
            values.update(range(lo, hi + 1))
            continue
        if not re.fullmatch(r"\d{1,2}", item):
            raise InvalidScheduleField(f"'{item}' is not a number between {lo} and {hi}")
        number = int(item)
        if not lo <= number <= hi:
            raise InvalidScheduleField(f"{number} is outside {lo}..{hi}")
        if number == 0 and wildcard_zero:
            return frozenset()
        values.add(number)
    return frozenset(values)


def parse_send_date(text: str) -> date:
    """YYYY-MM-DD; `0000-00-00` and impossible dates are refused."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text or ""):
        raise InvalidSendDate(f"'{text}' is not a date in YYYY-MM-DD form")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidSendDate(f"'{text}' is not a valid date") from None


def parse_send_time(text: str) -> time:
    """HH:MM:SS or HH:MM (24-hour clock)."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", (text or "").strip())
    if not match:
        raise InvalidSendTime(f"'{text}' is not a time in HH:MM:SS form")
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise InvalidSendTime(f"'{text}' is not a valid time of day")
    return time(hour, minute, second)


@dataclass(frozen=True)
class RecurringSchedule:
    days_of_week: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    hours: frozenset[int]
    minutes: frozenset[int]
    tz: tzinfo
    max_instances: int = 0

    @classmethod
    def from_legacy(cls, days_of_week, days_of_month, months, hours, minutes, tz_text,
                    max_instances=0) -> "RecurringSchedule":
        schedule = cls(
            days_of_week=parse_comma_list(days_of_week, 0, 7, True),
            days_of_month=parse_comma_list(days_of_month, 0, 31, True),
            months=parse_comma_list(months, 0, 12, True),
            hours=parse_comma_list(hours, 0, 23, False),
            minutes=parse_comma_list(minutes, 0, 59, False),
            tz=resolve_timezone(tz_text),
            max_instances=int(max_instances or 0),
        )
        if not schedule.hours or not schedule.minutes:
            raise InvalidScheduleField("hours and minutes are required")
        return schedule

    def day_matches(self, day: date) -> bool:
        if self.months and day.month not in self.months:
            return False
        by_week = day.isoweekday() in self.days_of_week if self.days_of_week else None
        by_month = day.day in self.days_of_month if self.days_of_month else None
        if by_week is None and by_month is None:
            return True
        return bool(by_week) or bool(by_month)

    def times_of_day(self) -> list[time]:
        return [time(h, m) for h in sorted(self.hours) for m in sorted(self.minutes)]


def local_to_utc(local: datetime, tz: tzinfo) -> datetime:
    """A naive local wall time → the UTC instant it is sent at, under the DST rules above."""
    candidate = local.replace(tzinfo=tz, fold=0).astimezone(timezone.utc)
    if candidate.astimezone(tz).replace(tzinfo=None) == local:
        return candidate  # exists; fold=0 is the first occurrence of a repeated time
    # In a gap: walk to the first local minute that exists (gaps are at most a few hours).
    probe = local.replace(second=0, microsecond=0)
    for _ in range(24 * 60):
        probe += timedelta(minutes=1)
        utc = probe.replace(tzinfo=tz, fold=0).astimezone(timezone.utc)
        if utc.astimezone(tz).replace(tzinfo=None) == probe:
            return utc
    raise ValueError(f"no valid local time after {local} in {tz}")


def future_send_instant(send_date: date, send_time: time, tz: tzinfo) -> datetime:
    return local_to_utc(datetime.combine(send_date, send_time), tz)


def _instants_of_day(schedule: RecurringSchedule, day: date) -> list[datetime]:
    seen: list[datetime] = []
    for moment in schedule.times_of_day():
        utc = local_to_utc(datetime.combine(day, moment), schedule.tz)
        if utc not in seen:  # several gap times collapse into one send
            seen.append(utc)
    return sorted(seen)


def next_run_after(schedule: RecurringSchedule, after: datetime) -> datetime | None:
    """The first send instant strictly after `after` (aware), as UTC; None if there is none."""
    runs = next_runs(schedule, after, 1)
    return runs[0] if runs else None


def next_runs(schedule: RecurringSchedule, after: datetime, n: int, sent_instances: int = 0) -> list[datetime]:
    if schedule.max_instances:
        n = min(n, max(schedule.max_instances - sent_instances, 0))
    runs: list[datetime] = []
    if n <= 0:
        return runs
    after = after.astimezone(timezone.utc)
    day = after.astimezone(schedule.tz).date() - timedelta(days=1)
    for _ in range(HORIZON_DAYS):
        if schedule.day_matches(day):
            for instant in _instants_of_day(schedule, day):
                if instant > after and (not runs or instant > runs[-1]):
                    runs.append(instant)
                    if len(runs) == n:
                        return runs
        day += timedelta(days=1)
    return runs


def latest_run_at_or_before(schedule: RecurringSchedule, instant: datetime,
                            not_before: datetime | None = None) -> datetime | None:
    """The most recent occurrence ≤ `instant` and > `not_before` (missed-tick catch-up)."""
    instant = instant.astimezone(timezone.utc)
    floor = not_before.astimezone(timezone.utc) if not_before else None
    day = instant.astimezone(schedule.tz).date() + timedelta(days=1)
    stop = (floor.astimezone(schedule.tz).date() - timedelta(days=1)) if floor else day - timedelta(HORIZON_DAYS)
    while day >= stop:
        if schedule.day_matches(day):
            for run in reversed(_instants_of_day(schedule, day)):
                if run <= instant:
                    return run if floor is None or run > floor else None
        day -= timedelta(days=1)
    return None
