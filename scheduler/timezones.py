"""Time-zone names: IANA names and the legacy `(GMT-03:00) Brasilia` display labels."""
from __future__ import annotations

import re
from datetime import timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones


class UnknownTimeZone(ValueError):
    """Not an IANA time-zone name nor a legacy `(GMT±hh:mm) City` label."""


# The classic Windows-style display names legacy PHP applications offered, by the first
# place named in the label (lower case) → IANA zone.
LEGACY_PLACES = {
    "international date line west": "Etc/GMT+12", "midway island": "Pacific/Midway",
    "samoa": "Pacific/Pago_Pago", "hawaii": "Pacific/Honolulu", "alaska": "America/Anchorage",
    "pacific time": "America/Los_Angeles", "tijuana": "America/Tijuana", "arizona": "America/Phoenix",
    "chihuahua": "America/Chihuahua", "mountain time": "America/Denver", "central america": "America/Guatemala",
    "central time": "America/Chicago", "guadalajara": "America/Mexico_City", "mexico city": "America/Mexico_City",
    "saskatchewan": "America/Regina", "bogota": "America/Bogota", "eastern time": "America/New_York",
    "indiana": "America/Indiana/Indianapolis", "caracas": "America/Caracas", "atlantic time": "America/Halifax",
    "la paz": "America/La_Paz", "santiago": "America/Santiago", "manaus": "America/Manaus",
    "newfoundland": "America/St_Johns", "brasilia": "America/Sao_Paulo", "buenos aires": "America/Argentina/Buenos_Aires",
    "georgetown": "America/Guyana", "greenland": "America/Nuuk", "montevideo": "America/Montevideo",
    "mid-atlantic": "Atlantic/South_Georgia", "azores": "Atlantic/Azores", "cape verde": "Atlantic/Cape_Verde",
    "casablanca": "Africa/Casablanca", "monrovia": "Africa/Monrovia", "greenwich mean time": "Europe/London",
    "dublin": "Europe/Dublin", "edinburgh": "Europe/London", "lisbon": "Europe/Lisbon", "london": "Europe/London",
    "amsterdam": "Europe/Amsterdam", "berlin": "Europe/Berlin", "belgrade": "Europe/Belgrade",
    "bratislava": "Europe/Bratislava", "budapest": "Europe/Budapest", "brussels": "Europe/Brussels",
    "copenhagen": "Europe/Copenhagen", "madrid": "Europe/Madrid", "paris": "Europe/Paris",
    "sarajevo": "Europe/Sarajevo", "skopje": "Europe/Skopje", "warsaw": "Europe/Warsaw", "zagreb": "Europe/Zagreb",
    "west central africa": "Africa/Lagos", "amman": "Asia/Amman", "athens": "Europe/Athens",
    "bucharest": "Europe/Bucharest", "istanbul": "Europe/Istanbul", "beirut": "Asia/Beirut", "cairo": "Africa/Cairo",
    "harare": "Africa/Harare", "pretoria": "Africa/Johannesburg", "helsinki": "Europe/Helsinki",
    "kyiv": "Europe/Kyiv", "kiev": "Europe/Kyiv", "riga": "Europe/Riga", "sofia": "Europe/Sofia",
    "tallinn": "Europe/Tallinn", "vilnius": "Europe/Vilnius", "jerusalem": "Asia/Jerusalem", "minsk": "Europe/Minsk",
    "windhoek": "Africa/Windhoek", "baghdad": "Asia/Baghdad", "kuwait": "Asia/Kuwait", "riyadh": "Asia/Riyadh",
    "moscow": "Europe/Moscow", "st. petersburg": "Europe/Moscow", "volgograd": "Europe/Volgograd",
    "nairobi": "Africa/Nairobi", "tbilisi": "Asia/Tbilisi", "tehran": "Asia/Tehran", "abu dhabi": "Asia/Dubai",
    "muscat": "Asia/Muscat", "baku": "Asia/Baku", "yerevan": "Asia/Yerevan", "kabul": "Asia/Kabul",
    "ekaterinburg": "Asia/Yekaterinburg", "yekaterinburg": "Asia/Yekaterinburg", "islamabad": "Asia/Karachi",
    "karachi": "Asia/Karachi", "tashkent": "Asia/Tashkent", "chennai": "Asia/Kolkata", "kolkata": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata", "new delhi": "Asia/Kolkata", "sri jayawardenepura": "Asia/Colombo",
    "kathmandu": "Asia/Kathmandu", "almaty": "Asia/Almaty", "novosibirsk": "Asia/Novosibirsk",
    "astana": "Asia/Dhaka", "dhaka": "Asia/Dhaka", "yangon": "Asia/Yangon", "rangoon": "Asia/Yangon",
    "bangkok": "Asia/Bangkok", "hanoi": "Asia/Bangkok", "jakarta": "Asia/Jakarta", "krasnoyarsk": "Asia/Krasnoyarsk",
    "beijing": "Asia/Shanghai", "chongqing": "Asia/Shanghai", "hong kong": "Asia/Hong_Kong",
    "urumqi": "Asia/Urumqi", "irkutsk": "Asia/Irkutsk", "ulaan bataar": "Asia/Ulaanbaatar",
    "kuala lumpur": "Asia/Kuala_Lumpur", "singapore": "Asia/Singapore", "perth": "Australia/Perth",
    "taipei": "Asia/Taipei", "osaka": "Asia/Tokyo", "sapporo": "Asia/Tokyo", "tokyo": "Asia/Tokyo",
    "seoul": "Asia/Seoul", "yakutsk": "Asia/Yakutsk", "adelaide": "Australia/Adelaide", "darwin": "Australia/Darwin",
    "brisbane": "Australia/Brisbane", "canberra": "Australia/Sydney", "melbourne": "Australia/Melbourne",
    "sydney": "Australia/Sydney", "guam": "Pacific/Guam", "port moresby": "Pacific/Port_Moresby",
    "hobart": "Australia/Hobart", "vladivostok": "Asia/Vladivostok", "magadan": "Asia/Magadan",
    "solomon is.": "Pacific/Guadalcanal", "new caledonia": "Pacific/Noumea", "auckland": "Pacific/Auckland",
    "wellington": "Pacific/Auckland", "fiji": "Pacific/Fiji", "kamchatka": "Asia/Kamchatka",
    "marshall is.": "Pacific/Majuro", "nuku'alofa": "Pacific/Tongatapu", "utc": "UTC",
    "coordinated universal time": "UTC",
}
LABEL = re.compile(r"^\(\s*(?:GMT|UTC)\s*(?:([+-])(\d{1,2})(?::?(\d{2}))?)?\s*\)\s*(.*)$", re.IGNORECASE)


@lru_cache(maxsize=1)
def _iana_by_lower() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


@lru_cache(maxsize=1024)
def resolve_timezone(text: str) -> tzinfo:
    """IANA names (any case) and legacy labels; garbage raises UnknownTimeZone."""
    name = (text or "").strip()
    canonical = _iana_by_lower().get(name.lower())
    if canonical:
        return ZoneInfo(canonical)
    match = LABEL.match(name)
    if not match:
        raise UnknownTimeZone(f"unknown time zone '{text}'")
    sign, hours, minutes, places = match.groups()
    for place in re.split(r"[,:;/]| - ", places):
        zone = LEGACY_PLACES.get(place.strip().lower())
        if zone:
            return ZoneInfo(zone)
    offset = timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
    if offset > timedelta(hours=14):
        raise UnknownTimeZone(f"offset out of range in '{text}'")
    if sign == "-":
        offset = -offset
    if offset.total_seconds() % 3600 == 0:
        # Etc/GMT signs are inverted by POSIX convention: GMT-03:00 is Etc/GMT+3.
        hours_east = int(offset.total_seconds() // 3600)
        return ZoneInfo("UTC" if hours_east == 0 else f"Etc/GMT{-hours_east:+d}")
    return timezone(offset)


def canonical_timezone_name(text: str) -> str:
    zone = resolve_timezone(text)
    return getattr(zone, "key", None) or str(zone)
