"""The local days journey statistics are cut into (engine/automation/journeys/days.py): their UTC bounds
across DST changes, and the CASE that finds a row's day, evaluated by SQLite at every boundary."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Column, Integer, MetaData, Table, create_engine, func, select

from engine.automation.journeys.days import grouped_by_day, local_days
from engine.db import UTCDateTime

UTC = timezone.utc


def test_a_day_is_23_24_or_25_hours_and_a_skipped_midnight_starts_at_the_first_instant():
    fall = local_days(date(2026, 10, 31), date(2026, 11, 2), ZoneInfo("America/New_York"))
    assert fall.names == ("2026-10-31", "2026-11-01", "2026-11-02")
    assert [b.hour for b in fall.bounds] == [4, 4, 5, 5]                 # EDT, then EST from 1 November
    assert fall.bounds[2] - fall.bounds[1] == timedelta(hours=25)
    # Santiago skips 00:00-01:00 on 6 September 2026: the day starts at 01:00 local, 04:00 UTC.
    spring = local_days(date(2026, 9, 6), date(2026, 9, 6), ZoneInfo("America/Santiago"))
    assert spring.bounds == (datetime(2026, 9, 6, 4, tzinfo=UTC), datetime(2026, 9, 7, 3, tzinfo=UTC))
    assert local_days(date(2026, 1, 1), date(2026, 1, 1), UTC).bounds == (
        datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))


def test_the_case_puts_every_instant_on_its_day_for_any_number_of_days():
    db = create_engine("sqlite://")
    rows = Table("rows", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime))
    rows.create(db)
    for count in (1, 2, 5, 8):
        days = local_days(date(2026, 10, 30), date(2026, 10, 30) + timedelta(days=count - 1),
                          ZoneInfo("America/New_York"))
        instants = [moment for b in days.bounds[:-1] for moment in (b, b + timedelta(hours=23, minutes=59))]
        instants.append(days.until - timedelta(seconds=1))
        with db.begin() as conn:
            conn.execute(rows.delete())
            conn.execute(rows.insert(), [{"at": at} for at in instants])
            got = dict(conn.execute(select(days.bucket(rows.c.at), func.count()).select_from(rows)
                                    .group_by(grouped_by_day())).all())
        expected = [2] * count
        expected[-1] += 1
        assert [got.get(i, 0) for i in range(count)] == expected, count
