"""The pure schedule evaluator: legacy field parsing, day matching, DST, max instances, catch-up."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from scheduler.recurrence import (
    InvalidScheduleField, InvalidSendDate, InvalidSendTime, RecurringSchedule, future_send_instant,
    latest_run_at_or_before, next_run_after, next_runs, parse_comma_list, parse_send_date, parse_send_time,
)
from scheduler.timezones import UnknownTimeZone

UTC = timezone.utc
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def schedule(dow: str = "0", dom: str = "0", months: str = "0", hours: str = "9", minutes: str = "0",
             tz: str = "UTC", max_instances: str = "0") -> RecurringSchedule:
    return RecurringSchedule.from_legacy(dow, dom, months, hours, minutes, tz, max_instances)


def local_dates(runs: list[datetime], tz=UTC) -> list[date]:
    return [run.astimezone(tz).date() for run in runs]


# --- parse_comma_list ----------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("1,3, 5", {1, 3, 5}), (" 7 ", {7}), ("1,2,", {1, 2}), ("05", {5}), ("3,3", {3}),
])
def test_comma_lists_parse_to_sets(text, expected):
    assert parse_comma_list(text, 1, 7, wildcard_zero=True) == frozenset(expected)


@pytest.mark.parametrize("text", ["0", "*", "0,3", " * ", "3,*"])
def test_zero_or_star_mean_every_day_or_month(text):
    assert parse_comma_list(text, 1, 31, wildcard_zero=True) == frozenset()


def test_zero_is_a_wildcard_for_day_fields_even_when_the_range_starts_at_one():
    assert parse_comma_list("0", 1, 12, wildcard_zero=True) == frozenset()
    assert parse_comma_list("0", 0, 12, wildcard_zero=True) == frozenset()


def test_zero_is_literal_for_hours_and_minutes():
    assert parse_comma_list("0", 0, 23, wildcard_zero=False) == frozenset({0})
    assert parse_comma_list("0,30", 0, 59, wildcard_zero=False) == frozenset({0, 30})


def test_star_means_every_hour_and_every_minute():
    assert parse_comma_list("*", 0, 23, wildcard_zero=False) == frozenset(range(24))
    assert parse_comma_list("*", 0, 59, wildcard_zero=False) == frozenset(range(60))


def test_a_blank_list_is_empty_and_left_to_the_caller():
    assert parse_comma_list(None, 0, 23, wildcard_zero=False) == frozenset()
    assert parse_comma_list("  ", 1, 7, wildcard_zero=True) == frozenset()


@pytest.mark.parametrize("text, lo, hi, wildcard, named", [
    ("8", 1, 7, True, "8"), ("32", 1, 31, True, "32"), ("13", 1, 12, True, "13"),
    ("24", 0, 23, False, "24"), ("60", 0, 59, False, "60"), ("abc", 0, 23, False, "abc"),
    ("-1", 0, 23, False, "-1"), ("1-5", 1, 7, True, "1-5"), ("1.5", 0, 23, False, "1.5"),
    ("0,99", 1, 31, True, "99"), ("*,x", 0, 59, False, "x"), ("\u0663", 0, 23, False, "\u0663"),
])
def test_out_of_range_and_non_numeric_items_are_refused_by_name(text, lo, hi, wildcard, named):
    with pytest.raises(InvalidScheduleField, match=named):
        parse_comma_list(text, lo, hi, wildcard_zero=wildcard)


def test_invalid_schedule_field_is_a_value_error():
    assert issubclass(InvalidScheduleField, ValueError)


# --- RecurringSchedule.from_legacy -----------------------------------------------------------------
def test_from_legacy_builds_the_sets_and_zone():
    s = RecurringSchedule.from_legacy("1,3,5", "0", "*", "0,12", "0,30", "(GMT-03:00) Brasilia", "4")
    assert s.days_of_week == {1, 3, 5} and s.days_of_month == frozenset() and s.months == frozenset()
    assert s.hours == {0, 12} and s.minutes == {0, 30}
    assert s.tz == ZoneInfo("America/Sao_Paulo") and s.max_instances == 4


@pytest.mark.parametrize("given, expected", [("0", 0), ("", 0), (None, 0), (" 3 ", 3), (7, 7)])
def test_max_instances_zero_or_blank_is_unlimited(given, expected):
    assert schedule(max_instances=given).max_instances == expected


@pytest.mark.parametrize("given", ["-1", "x", "1.5"])
def test_max_instances_must_be_a_whole_number(given):
    with pytest.raises(InvalidScheduleField, match="instances"):
        schedule(max_instances=given)


@pytest.mark.parametrize("field, kwargs", [
    ("ScheduleRecHours", {"hours": ""}), ("ScheduleRecMinutes", {"minutes": None}),
    ("ScheduleRecDaysOfWeek", {"dow": "8"}), ("ScheduleRecDaysOfMonth", {"dom": "32"}),
    ("ScheduleRecMonths", {"months": "13"}), ("ScheduleRecHours", {"hours": "24"}),
    ("ScheduleRecMinutes", {"minutes": "61"}),
])
def test_from_legacy_errors_name_the_field(field, kwargs):
    with pytest.raises(InvalidScheduleField, match=field):
        schedule(**kwargs)


def test_blank_day_and_month_fields_mean_every():
    s = RecurringSchedule.from_legacy(None, "", None, "9", "0", "UTC", None)
    assert s.days_of_week == s.days_of_month == s.months == frozenset()


def test_a_missing_time_zone_means_utc_and_a_bad_one_is_refused():
    assert schedule(tz="").tz == UTC
    with pytest.raises(UnknownTimeZone):
        schedule(tz="Mars/Olympus_Mons")


def test_direct_construction_is_validated_too():
    with pytest.raises(InvalidScheduleField):
        RecurringSchedule(frozenset(), frozenset(), frozenset(), frozenset({24}), frozenset({0}), UTC)
    with pytest.raises(InvalidScheduleField):
        RecurringSchedule(frozenset({0}), frozenset(), frozenset(), frozenset({1}), frozenset({0}), UTC)
    with pytest.raises(InvalidScheduleField):
        RecurringSchedule(frozenset(), frozenset(), frozenset(), frozenset({1}), frozenset(), UTC)
    with pytest.raises(InvalidScheduleField):
        RecurringSchedule(frozenset(), frozenset(), frozenset(), frozenset({1}), frozenset({0}), UTC, -1)


# --- day matching ----------------------------------------------------------------------------------
@pytest.mark.parametrize("iso_day, expected", [(1, date(2024, 6, 3)), (5, date(2024, 6, 7)),
                                               (7, date(2024, 6, 2))])
def test_days_of_week_are_iso_one_monday_to_seven_sunday(iso_day, expected):
    after = utc(2024, 6, 1, 12)  # a Saturday
    assert next_run_after(schedule(dow=str(iso_day)), after).date() == expected


def test_both_day_fields_restricted_match_either_like_cron():
    runs = next_runs(schedule(dow="1", dom="15", months="6"), utc(2024, 6, 1), 5)
    # June 2024: Mondays 3, 10, 17, 24 and Saturday the 15th.
    assert local_dates(runs) == [date(2024, 6, d) for d in (3, 10, 15, 17, 24)]


def test_only_days_of_month_restricted():
    runs = next_runs(schedule(dom="1,15"), utc(2024, 6, 1, 10), 3)
    assert local_dates(runs) == [date(2024, 6, 15), date(2024, 7, 1), date(2024, 7, 15)]


def test_no_day_restriction_is_every_day():
    runs = next_runs(schedule(), utc(2024, 12, 30, 10), 3)
    assert local_dates(runs) == [date(2024, 12, 31), date(2025, 1, 1), date(2025, 1, 2)]


def test_months_restrict_the_union_of_the_day_fields():
    runs = next_runs(schedule(dow="1", dom="1", months="3"), utc(2025, 1, 1), 6)
    # March 2025: Saturday the 1st, then Mondays 3, 10, 17, 24, 31; next year's March after that.
    assert local_dates(runs) == [date(2025, 3, d) for d in (1, 3, 10, 17, 24, 31)]
    assert next_run_after(schedule(dow="1", dom="1", months="3"), runs[-1]).date() == date(2026, 3, 1)


def test_the_31st_is_skipped_in_shorter_months_never_shifted():
    runs = next_runs(schedule(dom="31"), utc(2024, 1, 1), 7)
    assert local_dates(runs) == [date(2024, m, 31) for m in (1, 3, 5, 7, 8, 10, 12)]


def test_the_29th_to_31st_skip_february_rather_than_landing_on_the_28th():
    runs = next_runs(schedule(dom="29,30,31"), utc(2023, 1, 31, 10), 2)
    assert local_dates(runs) == [date(2023, 3, 29), date(2023, 3, 30)]


def test_29_february_only_in_leap_years():
    leap_day = schedule(dom="29", months="2")
    assert next_run_after(leap_day, utc(2023, 1, 1)).date() == date(2024, 2, 29)
    assert next_run_after(leap_day, utc(2024, 3, 1)).date() == date(2028, 2, 29)
    # 2100 is not a leap year: eight years from 2096 to 2104.
    assert next_run_after(leap_day, utc(2096, 3, 1)) == utc(2104, 2, 29, 9)


@pytest.mark.parametrize("dom, months", [("30", "2"), ("31", "4,6,9,11")])
def test_a_day_that_never_exists_gives_none(dom, months):
    assert next_run_after(schedule(dom=dom, months=months), utc(2024, 1, 1)) is None
    assert next_runs(schedule(dom=dom, months=months), utc(2024, 1, 1), 3) == []


# --- hours and minutes -----------------------------------------------------------------------------
def test_every_hour_minute_combination_fires_in_order():
    runs = next_runs(schedule(hours="20,8", minutes="30,0"), utc(2024, 6, 1), 5)
    assert runs == [utc(2024, 6, 1, 8), utc(2024, 6, 1, 8, 30), utc(2024, 6, 1, 20),
                    utc(2024, 6, 1, 20, 30), utc(2024, 6, 2, 8)]


def test_hour_zero_minute_zero_is_midnight():
    assert next_run_after(schedule(hours="0", minutes="0"), utc(2024, 6, 1, 0, 0, 1)) == utc(2024, 6, 2)


def test_next_run_is_strictly_after_the_given_instant():
    s = schedule(hours="9", minutes="0,30")
    assert next_run_after(s, utc(2024, 6, 1, 9)) == utc(2024, 6, 1, 9, 30)
    assert next_run_after(s, utc(2024, 6, 1, 8, 59, 59, 999999)) == utc(2024, 6, 1, 9)


def test_the_search_is_in_the_schedule_zone_whatever_the_zone_of_the_input():
    s = schedule(hours="9", tz="America/New_York")
    tokyo = ZoneInfo("Asia/Tokyo")
    expected = utc(2024, 6, 1, 13)  # 09:00 EDT
    assert next_run_after(s, datetime(2024, 6, 1, 21, tzinfo=tokyo)) == expected
    assert next_run_after(s, utc(2024, 6, 1, 12)) == expected
    assert next_run_after(s, utc(2024, 6, 1, 12)).tzinfo == UTC


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        next_run_after(schedule(), datetime(2024, 6, 1))
    with pytest.raises(ValueError, match="aware"):
        latest_run_at_or_before(schedule(), datetime(2024, 6, 1))


def test_a_legacy_label_zone_evaluates_like_its_iana_zone():
    by_label = schedule(hours="6", tz="(GMT-05:00) Eastern Time (US & Canada)")
    by_name = schedule(hours="6", tz="America/New_York")
    after = utc(2024, 7, 1)
    assert next_runs(by_label, after, 5) == next_runs(by_name, after, 5)


def test_a_fixed_offset_label_without_a_known_place():
    s = schedule(hours="9", tz="(GMT+05:30) Nowhere In Particular")
    assert next_run_after(s, utc(2024, 6, 1)) == utc(2024, 6, 1, 3, 30)


# --- DST -------------------------------------------------------------------------------------------
def test_a_time_in_the_spring_forward_gap_is_sent_at_the_first_minute_after_it():
    # 10 March 2024, New York: 02:00 EST jumps to 03:00 EDT.
    s = schedule(hours="2", minutes="30", tz="America/New_York")
    run = next_run_after(s, utc(2024, 3, 9, 12))
    assert run == utc(2024, 3, 10, 7) and run.astimezone(NEW_YORK).strftime("%H:%M %Z") == "03:00 EDT"
    assert next_run_after(s, run) == utc(2024, 3, 11, 6, 30)  # 02:30 EDT the next day


def test_several_times_in_one_gap_send_once():
    s = schedule(hours="2,3", minutes="0,15,30,45", tz="America/New_York")
    runs = next_runs(s, utc(2024, 3, 10, 5), 5)
    # 02:00–02:45 do not exist and 03:00 itself is scheduled: one send at 03:00 EDT, then 03:15 …
    assert runs == [utc(2024, 3, 10, 7), utc(2024, 3, 10, 7, 15), utc(2024, 3, 10, 7, 30),
                    utc(2024, 3, 10, 7, 45), utc(2024, 3, 11, 6)]
    assert len(set(runs)) == len(runs)


def test_spring_forward_gap_in_berlin():
    # 31 March 2024, Berlin: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    s = schedule(hours="2", minutes="0,30", tz="Europe/Berlin")
    assert next_runs(s, utc(2024, 3, 30, 12), 3) == [
        utc(2024, 3, 31, 1), utc(2024, 4, 1, 0), utc(2024, 4, 1, 0, 30)]


def test_a_gap_at_midnight_sends_at_one_oclock():
    # 4 November 2018, São Paulo: midnight -03 jumps to 01:00 -02.
    s = schedule(hours="0", minutes="30", tz="America/Sao_Paulo")
    assert next_run_after(s, utc(2018, 11, 3, 12)) == utc(2018, 11, 4, 3)


def test_a_repeated_fall_back_time_is_sent_once_at_its_first_occurrence():
    # 3 November 2024, New York: 01:00–01:59 happens twice (EDT, then EST).
    s = schedule(hours="1", minutes="30", tz="America/New_York")
    first = next_run_after(s, utc(2024, 11, 2, 12))
    assert first == utc(2024, 11, 3, 5, 30) and first.astimezone(NEW_YORK).strftime("%Z") == "EDT"
    assert next_run_after(s, first) == utc(2024, 11, 4, 6, 30)  # not 06:30 UTC the same day


def test_fall_back_in_berlin_sends_once():
    # 27 October 2024, Berlin: 02:00–02:59 happens twice (CEST, then CET).
    s = schedule(hours="2", minutes="30", tz="Europe/Berlin")
    runs = next_runs(s, utc(2024, 10, 26, 12), 2)
    assert runs == [utc(2024, 10, 27, 0, 30), utc(2024, 10, 28, 1, 30)]


def test_the_fall_back_day_keeps_every_scheduled_time_in_order():
    s = schedule(hours="0,1,2", minutes="0", tz="America/New_York")
    runs = next_runs(s, utc(2024, 11, 3), 3)
    assert [r.astimezone(NEW_YORK).strftime("%H:%M %Z") for r in runs] == ["00:00 EDT", "01:00 EDT", "02:00 EST"]


# --- max instances ---------------------------------------------------------------------------------
def test_max_instances_limits_the_upcoming_runs():
    s = schedule(max_instances="3")
    assert len(next_runs(s, utc(2024, 6, 1), 10)) == 3
    assert len(next_runs(s, utc(2024, 6, 1), 10, sent_instances=2)) == 1
    assert next_runs(s, utc(2024, 6, 1), 10, sent_instances=3) == []
    assert next_runs(s, utc(2024, 6, 1), 10, sent_instances=5) == []


def test_unlimited_instances_give_as_many_as_asked():
    runs = next_runs(schedule(max_instances="0"), utc(2024, 6, 1), 40, sent_instances=1000)
    assert len(runs) == 40 and runs == sorted(set(runs))


def test_zero_or_negative_n_gives_nothing():
    assert next_runs(schedule(), utc(2024, 6, 1), 0) == []
    assert next_runs(schedule(), utc(2024, 6, 1), -2) == []


# --- catch-up after missed ticks ---------------------------------------------------------------------
def test_after_three_hours_down_only_the_most_recent_missed_occurrence_is_sent():
    hourly = schedule(hours="*", minutes="0")
    last_sent = utc(2024, 6, 1, 9)
    now = utc(2024, 6, 1, 12, 20)
    assert latest_run_at_or_before(hourly, now, last_sent) == utc(2024, 6, 1, 12)


def test_catch_up_counts_an_occurrence_at_the_instant_itself():
    assert latest_run_at_or_before(schedule(hours="12"), utc(2024, 6, 1, 12)) == utc(2024, 6, 1, 12)


def test_catch_up_finds_nothing_newer_than_not_before():
    daily = schedule(hours="12")
    assert latest_run_at_or_before(daily, utc(2024, 6, 1, 13), utc(2024, 6, 1, 12)) is None
    assert latest_run_at_or_before(daily, utc(2024, 6, 1, 11), utc(2024, 5, 31, 12)) is None
    assert latest_run_at_or_before(daily, utc(2024, 6, 2, 11), utc(2024, 5, 31, 12)) == utc(2024, 6, 1, 12)


def test_catch_up_looks_back_across_months_without_a_floor():
    assert latest_run_at_or_before(schedule(dom="31"), utc(2024, 7, 30)) == utc(2024, 5, 31, 9)


def test_catch_up_on_a_fall_back_night_uses_the_first_occurrence():
    s = schedule(hours="1", minutes="30", tz="America/New_York")
    second_one_forty_five = utc(2024, 11, 3, 6, 45)  # 01:45 EST, the second 01:45 of the night
    assert latest_run_at_or_before(s, second_one_forty_five) == utc(2024, 11, 3, 5, 30)


def test_catch_up_on_a_spring_forward_night_uses_the_shifted_instant():
    s = schedule(hours="2", minutes="30", tz="America/New_York")
    assert latest_run_at_or_before(s, utc(2024, 3, 10, 7, 5)) == utc(2024, 3, 10, 7)
    assert latest_run_at_or_before(s, utc(2024, 3, 10, 6, 59)) == utc(2024, 3, 9, 7, 30)


def test_catch_up_of_a_schedule_that_never_matches_is_none():
    assert latest_run_at_or_before(schedule(dom="30", months="2"), utc(2024, 6, 1)) is None


# --- one-off (Future) sends --------------------------------------------------------------------------
def test_future_send_instant_in_an_ordinary_hour():
    assert future_send_instant(date(2024, 6, 1), time(9, 30), NEW_YORK) == utc(2024, 6, 1, 13, 30)
    assert future_send_instant(date(2024, 6, 1), time(9, 30, 15), "Europe/Berlin") == utc(2024, 6, 1, 7, 30, 15)


def test_future_send_instant_in_a_gap_and_in_a_repeated_hour():
    assert future_send_instant(date(2024, 3, 10), time(2, 30), NEW_YORK) == utc(2024, 3, 10, 7)
    assert future_send_instant(date(2024, 3, 31), time(2, 59, 59), BERLIN) == utc(2024, 3, 31, 1)
    assert future_send_instant(date(2024, 11, 3), time(1, 30), NEW_YORK) == utc(2024, 11, 3, 5, 30)


def test_future_send_instant_with_a_legacy_label():
    assert future_send_instant(date(2024, 1, 15), time(8), "(GMT-03:00) Brasilia") == utc(2024, 1, 15, 11)


# --- SendDate / SendTime -------------------------------------------------------------------------------
def test_send_date_parses_iso_dates():
    assert parse_send_date("2024-02-29") == date(2024, 2, 29)
    assert parse_send_date(" 2030-12-31 ") == date(2030, 12, 31)


@pytest.mark.parametrize("text, message", [
    ("0000-00-00", "0000-00-00"), ("2023-02-29", "not a valid date"), ("2024-13-01", "not a valid date"),
    ("2024-2-3", "YYYY-MM-DD"), ("03/10/2024", "YYYY-MM-DD"), ("", "YYYY-MM-DD"), (None, "YYYY-MM-DD"),
    ("2024-06-01 09:00:00", "YYYY-MM-DD"),
])
def test_send_date_refuses_non_dates(text, message):
    with pytest.raises(InvalidSendDate, match=message):
        parse_send_date(text)


@pytest.mark.parametrize("text, expected", [
    ("09:30:15", time(9, 30, 15)), ("09:30", time(9, 30)), ("9:05", time(9, 5)), ("00:00:00", time(0)),
    ("23:59:59", time(23, 59, 59)),
])
def test_send_time_parses_hh_mm_ss_and_hh_mm(text, expected):
    assert parse_send_time(text) == expected


@pytest.mark.parametrize("text, message", [
    ("24:00", "valid time"), ("12:60", "valid time"), ("12:00:60", "valid time"), ("noon", "HH:MM:SS"),
    ("", "HH:MM:SS"), ("12", "HH:MM:SS"), ("12:5", "HH:MM:SS"), ("12:00:00:00", "HH:MM:SS"),
])
def test_send_time_refuses_non_times(text, message):
    with pytest.raises(InvalidSendTime, match=message):
        parse_send_time(text)


def test_send_date_and_time_errors_are_value_errors():
    assert issubclass(InvalidSendDate, ValueError) and issubclass(InvalidSendTime, ValueError)


def test_an_every_minute_schedule_stays_one_minute_apart_across_the_gap():
    every_minute = schedule(hours="*", minutes="*", tz="Europe/Berlin")
    runs = next_runs(every_minute, utc(2024, 3, 30, 23), 24 * 60)
    # 1440 minutes from 00:00 CET on 31 March: the 60 minutes of the gap do not exist.
    assert len(set(runs)) == 1440 and runs[0] == utc(2024, 3, 30, 23, 1)
    assert all(b - a == timedelta(minutes=1) for a, b in zip(runs, runs[1:]))
