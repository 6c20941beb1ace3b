"""Time-zone names: IANA names in any case, the legacy `(GMT±hh:mm) Place` labels, and garbage."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

import pytest

from scheduler.timezones import LEGACY_PLACES, UnknownTimeZone, canonical_timezone_name, resolve_timezone

# The classic Windows display-name list the old PHP applications offered, plus common variants.
LEGACY_LABELS = [
    ("(GMT-12:00) International Date Line West", "Etc/GMT+12"),
    ("(GMT-12:00) Eniwetok, Kwajalein", "Etc/GMT+12"),
    ("(GMT-11:00) Midway Island, Samoa", "Pacific/Midway"),
    ("(GMT-10:00) Hawaii", "Pacific/Honolulu"),
    ("(GMT-09:00) Alaska", "America/Anchorage"),
    ("(GMT-08:00) Pacific Time (US & Canada); Tijuana", "America/Los_Angeles"),
    ("(GMT-08:00) Pacific Time (US &amp; Canada)", "America/Los_Angeles"),
    ("(GMT-08:00) Tijuana, Baja California", "America/Tijuana"),
    ("(GMT-07:00) Arizona", "America/Phoenix"),
    ("(GMT-07:00) Chihuahua, La Paz, Mazatlan", "America/Chihuahua"),
    ("(GMT-07:00) Mountain Time (US & Canada)", "America/Denver"),
    ("(GMT-06:00) Central America", "America/Guatemala"),
    ("(GMT-06:00) Central Time (US & Canada)", "America/Chicago"),
    ("(GMT-06:00) Guadalajara, Mexico City, Monterrey", "America/Mexico_City"),
    ("(GMT-06:00) Saskatchewan", "America/Regina"),
    ("(GMT-05:00) Bogota, Lima, Quito", "America/Bogota"),
    ("(GMT-05:00) Eastern Time (US & Canada)", "America/New_York"),
    ("(GMT-05:00) Indiana (East)", "America/Indiana/Indianapolis"),
    ("(GMT-04:30) Caracas", "America/Caracas"),
    ("(GMT-04:00) Atlantic Time (Canada)", "America/Halifax"),
    ("(GMT-04:00) Caracas, La Paz", "America/Caracas"),
    ("(GMT-04:00) La Paz", "America/La_Paz"),
    ("(GMT-04:00) Manaus", "America/Manaus"),
    ("(GMT-04:00) Santiago", "America/Santiago"),
    ("(GMT-03:30) Newfoundland", "America/St_Johns"),
    ("(GMT-03:00) Brasilia", "America/Sao_Paulo"),
    ("(GMT-03:00) Buenos Aires, Georgetown", "America/Argentina/Buenos_Aires"),
    ("(GMT-03:00) Georgetown", "America/Guyana"),
    ("(GMT-03:00) Greenland", "America/Nuuk"),
    ("(GMT-03:00) Montevideo", "America/Montevideo"),
    ("(GMT-02:00) Mid-Atlantic", "Atlantic/South_Georgia"),
    ("(GMT-01:00) Azores", "Atlantic/Azores"),
    ("(GMT-01:00) Cape Verde Is.", "Atlantic/Cape_Verde"),
    ("(GMT) Casablanca, Monrovia", "Africa/Casablanca"),
    ("(GMT+00:00) Casablanca, Monrovia, Reykjavik", "Africa/Casablanca"),
    ("(GMT) Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London", "Europe/Dublin"),
    ("(GMT) Greenwich Mean Time : London", "Europe/London"),
    ("(GMT) Greenwich Mean Time : Lisbon", "Europe/Lisbon"),
    ("(GMT) Western Europe Time, London, Lisbon, Casablanca", "Europe/London"),
    ("(GMT+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "Europe/Amsterdam"),
    ("(GMT+01:00) Belgrade, Bratislava, Budapest, Ljubljana, Prague", "Europe/Belgrade"),
    ("(GMT+01:00) Brussels, Copenhagen, Madrid, Paris", "Europe/Brussels"),
    ("(GMT+01:00) Sarajevo, Skopje, Warsaw, Zagreb", "Europe/Sarajevo"),
    ("(GMT+01:00) West Central Africa", "Africa/Lagos"),
    ("(GMT+02:00) Athens, Beirut, Istanbul, Minsk", "Europe/Athens"),
    ("(GMT+02:00) Istanbul", "Europe/Istanbul"),
    ("(GMT+02:00) Bucharest", "Europe/Bucharest"),
    ("(GMT+02:00) Cairo", "Africa/Cairo"),
    ("(GMT+02:00) Harare, Pretoria", "Africa/Harare"),
    ("(GMT+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius", "Europe/Helsinki"),
    ("(GMT+02:00) Jerusalem", "Asia/Jerusalem"),
    ("(GMT+03:00) Baghdad", "Asia/Baghdad"),
    ("(GMT+03:00) Kuwait, Riyadh", "Asia/Kuwait"),
    ("(GMT+03:00) Moscow, St. Petersburg, Volgograd", "Europe/Moscow"),
    ("(GMT+03:00) Nairobi", "Africa/Nairobi"),
    ("(GMT+03:30) Tehran", "Asia/Tehran"),
    ("(GMT+04:00) Abu Dhabi, Muscat", "Asia/Dubai"),
    ("(GMT+04:00) Baku", "Asia/Baku"),
    ("(GMT+04:30) Kabul", "Asia/Kabul"),
    ("(GMT+05:00) Ekaterinburg", "Asia/Yekaterinburg"),
    ("(GMT+05:00) Islamabad, Karachi, Tashkent", "Asia/Karachi"),
    ("(GMT+05:30) Chennai, Kolkata, Mumbai, New Delhi", "Asia/Kolkata"),
    ("(GMT +5:30) Bombay, Calcutta, Madras, New Delhi", "Asia/Kolkata"),
    ("(GMT+05:30) Sri Jayawardenepura", "Asia/Colombo"),
    ("(GMT+05:45) Kathmandu", "Asia/Kathmandu"),
    ("(GMT+06:00) Almaty, Novosibirsk", "Asia/Almaty"),
    ("(GMT+06:00) Dhaka", "Asia/Dhaka"),
    ("(GMT+06:30) Yangon (Rangoon)", "Asia/Yangon"),
    ("(GMT+07:00) Bangkok, Hanoi, Jakarta", "Asia/Bangkok"),
    ("(GMT+07:00) Krasnoyarsk", "Asia/Krasnoyarsk"),
    ("(GMT+08:00) Beijing, Chongqing, Hong Kong, Urumqi", "Asia/Shanghai"),
    ("(GMT+08:00) Irkutsk, Ulaan Bataar", "Asia/Irkutsk"),
    ("(GMT+08:00) Kuala Lumpur, Singapore", "Asia/Kuala_Lumpur"),
    ("(GMT+08:00) Perth", "Australia/Perth"),
    ("(GMT+08:00) Taipei", "Asia/Taipei"),
    ("(GMT+09:00) Osaka, Sapporo, Tokyo", "Asia/Tokyo"),
    ("(GMT+09:00) Seoul", "Asia/Seoul"),
    ("(GMT+09:00) Yakutsk", "Asia/Yakutsk"),
    ("(GMT+09:30) Adelaide", "Australia/Adelaide"),
    ("(GMT+09:30) Darwin", "Australia/Darwin"),
    ("(GMT+10:00) Brisbane", "Australia/Brisbane"),
    ("(GMT+10:00) Canberra, Melbourne, Sydney", "Australia/Sydney"),
    ("(GMT+10:00) Guam, Port Moresby", "Pacific/Guam"),
    ("(GMT+10:00) Hobart", "Australia/Hobart"),
    ("(GMT+10:00) Vladivostok", "Asia/Vladivostok"),
    ("(GMT+11:00) Magadan, Solomon Is., New Caledonia", "Asia/Magadan"),
    ("(GMT+11:00) Solomon Is., New Caledonia", "Pacific/Guadalcanal"),
    ("(GMT+12:00) Auckland, Wellington", "Pacific/Auckland"),
    ("(GMT+12:00) Fiji, Kamchatka, Marshall Is.", "Pacific/Fiji"),
    ("(GMT+13:00) Nuku'alofa", "Pacific/Tongatapu"),
    ("(GMT+13:00) Nuku\u2019alofa", "Pacific/Tongatapu"),
]


@pytest.mark.parametrize("label, zone", LEGACY_LABELS)
def test_legacy_labels_resolve_by_their_first_known_place(label, zone):
    assert resolve_timezone(label) == ZoneInfo(zone)
    assert canonical_timezone_name(label) == zone


@pytest.mark.parametrize("label, zone", [
    ("(UTC-03:00) Brasilia", "America/Sao_Paulo"),            # newer Windows wording
    ("(gmt-05:00) eastern time (us & canada)", "America/New_York"),
    ("  (GMT -05:00)  Eastern Time (US & Canada)  ", "America/New_York"),
    ("(GMT -1:00 hour) Azores, Cape Verde Islands", "Atlantic/Azores"),
    ("(GMT-04:00) Eastern Time (US & Canada)", "America/New_York"),  # a summer-time snapshot offset
    ("(GMT+01:00) Nowhere, Amsterdam", "Europe/Amsterdam"),   # the first place that is known
])
def test_label_spelling_variants(label, zone):
    assert resolve_timezone(label) == ZoneInfo(zone)


def test_the_place_wins_over_an_outdated_offset():
    # Caracas was -04:30 from 2007 to 2016; the label is a snapshot, the zone follows the law.
    caracas = resolve_timezone("(GMT-04:30) Caracas")
    assert caracas.utcoffset(datetime(2024, 1, 1)) == timedelta(hours=-4)


def test_labels_keep_daylight_saving_time():
    eastern = resolve_timezone("(GMT-05:00) Eastern Time (US & Canada)")
    assert eastern.utcoffset(datetime(2024, 7, 1)) == timedelta(hours=-4)
    assert eastern.utcoffset(datetime(2024, 1, 1)) == timedelta(hours=-5)


@pytest.mark.parametrize("label, zone, offset", [
    ("(GMT-03:00) Nowhere", "Etc/GMT+3", timedelta(hours=-3)),
    ("(GMT+04:00) Atlantis", "Etc/GMT-4", timedelta(hours=4)),
    ("(GMT-03:00)", "Etc/GMT+3", timedelta(hours=-3)),
    ("(GMT) Greenwich Mean Time", "Etc/GMT", timedelta(0)),
    ("(GMT+14:00) Line Islands Somewhere", "Etc/GMT-14", timedelta(hours=14)),
])
def test_a_label_with_no_known_place_falls_back_to_its_whole_hour_offset(label, zone, offset):
    resolved = resolve_timezone(label)
    assert resolved == ZoneInfo(zone) and resolved.utcoffset(datetime(2024, 7, 1)) == offset


@pytest.mark.parametrize("label, offset, name", [
    ("(GMT+05:30) Nowhere", timedelta(hours=5, minutes=30), "(GMT+05:30)"),
    ("(GMT-09:30) Nowhere", timedelta(hours=-9, minutes=-30), "(GMT-09:30)"),
])
def test_a_label_with_no_known_place_and_an_odd_offset_is_a_fixed_offset(label, offset, name):
    resolved = resolve_timezone(label)
    assert resolved == timezone(offset)
    assert canonical_timezone_name(label) == name
    assert resolve_timezone(name) == resolved  # the canonical name round-trips


@pytest.mark.parametrize("text, canonical", [
    ("America/New_York", "America/New_York"), ("america/new_york", "America/New_York"),
    ("EUROPE/BERLIN", "Europe/Berlin"), (" Asia/Kolkata ", "Asia/Kolkata"), ("utc", "UTC"),
    ("Etc/GMT+3", "Etc/GMT+3"), ("asia/calcutta", "Asia/Calcutta"),
])
def test_iana_names_match_case_insensitively_with_a_canonical_result(text, canonical):
    assert resolve_timezone(text) == ZoneInfo(canonical)
    assert canonical_timezone_name(text) == canonical


@pytest.mark.parametrize("text", [
    "", "   ", None, "Mars/Olympus_Mons", "Brasilia", "GMT-03:00 Brasilia", "(GMT+25:00) Nowhere",
    "(GMT+05:75) Nowhere", "(GMT+14:30) Nowhere", "(PST) Pacific", "(GMT-03:00 Brasilia",
    "localtime", "Factory", "../../etc/passwd", "America/New_York; DROP TABLE", 42,
])
def test_garbage_raises_unknown_time_zone(text):
    with pytest.raises(UnknownTimeZone):
        resolve_timezone(text)
    with pytest.raises(ValueError):
        canonical_timezone_name(text)


def test_every_zone_in_the_place_table_exists():
    known = available_timezones()
    assert [zone for zone in LEGACY_PLACES.values() if zone not in known] == []
