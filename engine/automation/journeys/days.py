"""The days journey statistics are cut into: whole days of the account's time zone (users.time_zone, UTC
when empty or unknown), as the account reads its dates.

A window of local days is the list of their starts as UTC instants (one more for the end of the last
day), computed here in Python, where zoneinfo knows every DST change: a day is 23, 24 or 25 hours long,
and a zone whose clocks skip midnight starts its day at the first instant that exists. The database then
only compares a stored UTC instant with those bounds (`bucket`), which SQLite, PostgreSQL and MariaDB do
alike: no time-zone tables in the database, no dialect's date arithmetic.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from sqlalchemy import Integer, case, literal, literal_column, select

from engine.automation.schedule import zone
from engine.models import User

LABEL = "local_day"   # the bucket's column name; statements group by it (see `bucket`)


def owner_zone(session, owner_id: int) -> tzinfo:
    return zone(session.scalar(select(User.time_zone).where(User.id == owner_id)))


def local_today(now: datetime, tz: tzinfo) -> date:
    return now.astimezone(tz).date()


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The UTC instant `day` starts at in `tz` (fold=0: a skipped midnight reads as the first instant after
    the gap)."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(timezone.utc)


@dataclass(frozen=True)
class Days:
    names: tuple[str, ...]          # YYYY-MM-DD, one per local day of the window
    bounds: tuple[datetime, ...]    # len(names) + 1 UTC instants: day i is [bounds[i], bounds[i + 1])

    @property
    def since(self) -> datetime:
        return self.bounds[0]

    @property
    def until(self) -> datetime:
        return self.bounds[-1]

    def bucket(self, column):
        """The index of the local day `column` (a UTC instant inside [since, until)) falls on, as a CASE
        that halves the window at each level: about log2(days) comparisons per row, not one per day.
        Labelled LABEL: group by `literal_column(LABEL)`, because the same CASE written twice carries its
        bounds as separate parameters that PostgreSQL would not recognise as one grouping expression."""
        def half(lo: int, hi: int):
            if hi - lo == 1:
                return literal_column(str(lo), Integer)
            mid = (lo + hi) // 2
            return case((column < literal(self.bounds[mid], column.type), half(lo, mid)), else_=half(mid, hi))

        return half(0, len(self.names)).label(LABEL)

    def name_of(self, index) -> str:
        return self.names[int(index)]


def local_days(start: date, end: date, tz: tzinfo) -> Days:
    """The local days start … end (both included) of `tz`."""
    count = (end - start).days + 1
    days = [start + timedelta(days=n) for n in range(count)]
    return Days(tuple(d.isoformat() for d in days),
                tuple(local_midnight(d, tz) for d in [*days, end + timedelta(days=1)]))


def grouped_by_day():
    """The GROUP BY term of a statement that selects `Days.bucket(...)`."""
    return literal_column(LABEL)
