"""Time-zone names: IANA names and the legacy `(GMT-03:00) Brasilia` display labels.

Oempro-era clients send the Windows-style display label the old PHP applications listed, e.g.
`(GMT-06:00) Central Time (US & Canada)` or `(GMT) Greenwich Mean Time : Dublin, Edinburgh, Lisbon,
London`. The offset in such a label is a snapshot (standard time, sometimes long out of date: Caracas
was -04:30 for nine years), so the place decides: the first place in the label that names a known
zone wins, and only a label naming no known place falls back to its bare offset.
"""
from __future__ import annotations

import re
from datetime import timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


class UnknownTimeZone(ValueError):
    """Not an IANA time-zone name nor a legacy `(GMT±hh:mm) Place` label."""


# Places of the classic Windows display-name list (and its common PHP variants), lower case, with
# parenthesised qualifiers such as "(US & Canada)" removed → IANA zone. Places that are themselves
# the city of an IANA zone (Lisbon, Warsaw, Tokyo …) need no entry: _iana_cities() finds them.
LEGACY_PLACES = {
    "international date line west": "Etc/GMT+12", "eniwetok": "Etc/GMT+12",
    "kwajalein": "Etc/GMT+12", "midway island": "Pacific/Midway", "samoa": "Pacific/Pago_Pago",
    "hawaii": "Pacific/Honolulu", "alaska": "America/Anchorage",
    "pacific time": "America/Los_Angeles", "baja california": "America/Tijuana",
    "arizona": "America/Phoenix", "mountain time": "America/Denver",
    "central america": "America/Guatemala", "central time": "America/Chicago",
    "guadalajara": "America/Mexico_City", "mexico city": "America/Mexico_City",
    "monterey": "America/Monterrey", "saskatchewan": "America/Regina",
    "eastern time": "America/New_York", "indiana": "America/Indiana/Indianapolis",
    "atlantic time": "America/Halifax", "newfoundland": "America/St_Johns",
    "brasilia": "America/Sao_Paulo", "brazil": "America/Sao_Paulo",
    "georgetown": "America/Guyana", "greenland": "America/Nuuk", "mid-atlantic": "Atlantic/South_Georgia",
    "cape verde": "Atlantic/Cape_Verde", "cape verde is": "Atlantic/Cape_Verde",
    "cape verde islands": "Atlantic/Cape_Verde", "edinburgh": "Europe/London",
    "bern": "Europe/Zurich", "rome": "Europe/Rome", "west central africa": "Africa/Lagos",
    "pretoria": "Africa/Johannesburg", "south africa": "Africa/Johannesburg", "kiev": "Europe/Kyiv",
    "israel": "Asia/Jerusalem", "st. petersburg": "Europe/Moscow", "kazan": "Europe/Moscow",
    "teheran": "Asia/Tehran", "abu dhabi": "Asia/Dubai", "ekaterinburg": "Asia/Yekaterinburg",
    "islamabad": "Asia/Karachi", "chennai": "Asia/Kolkata", "mumbai": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata", "bombay": "Asia/Kolkata", "madras": "Asia/Kolkata",
    "sri jayawardenepura": "Asia/Colombo", "astana": "Asia/Almaty", "rangoon": "Asia/Yangon",
    "hanoi": "Asia/Bangkok", "beijing": "Asia/Shanghai", "ulaan bataar": "Asia/Ulaanbaatar",
    "osaka": "Asia/Tokyo", "sapporo": "Asia/Tokyo", "canberra": "Australia/Sydney",
    "eastern australia": "Australia/Sydney", "solomon is": "Pacific/Guadalcanal",
    "solomon islands": "Pacific/Guadalcanal", "new caledonia": "Pacific/Noumea",
    "wellington": "Pacific/Auckland", "fiji": "Pacific/Fiji", "marshall is": "Pacific/Majuro",
    "marshall islands": "Pacific/Majuro", "nuku'alofa": "Pacific/Tongatapu",
    "istanbul": "Europe/Istanbul", "calcutta": "Asia/Kolkata", "coordinated universal time": "UTC",
}
# Zone descriptors that head some labels but name no place ("(GMT) Greenwich Mean Time : Dublin").
_DESCRIPTORS = {"greenwich mean time", "western europe time", "gmt", "utc"}
_IANA_REGIONS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe",
                 "Indian", "Pacific")
# Names available_timezones() may list that mean something else on every machine.
_NOT_ZONES = {"localtime", "factory", "posixrules"}

_LABEL = re.compile(r"\(\s*(?:GMT|UTC)\s*(?:([+-])\s*(\d{1,2})(?:[:.]?(\d{2}))?)?\s*(?:hours?)?\s*\)\s*(.*)",
                    re.IGNORECASE | re.ASCII | re.DOTALL)
_MAX_OFFSET = timedelta(hours=14)  # Pacific/Kiritimati, the furthest any zone has gone


@lru_cache(maxsize=1)
def _iana_by_lower() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones() if name.lower() not in _NOT_ZONES}


@lru_cache(maxsize=1)
def _iana_cities() -> dict[str, str]:
    """"buenos aires" → America/Argentina/Buenos_Aires: the last part of each regional zone name."""
    cities: dict[str, str] = {}
    # Sorted so the choice between links (America/Buenos_Aires, …/Argentina/…) is reproducible.
    for name in sorted(_iana_by_lower().values()):
        if name.split("/")[0] in _IANA_REGIONS:
            cities.setdefault(name.rsplit("/", 1)[-1].replace("_", " ").lower(), name)
    return cities


@lru_cache(maxsize=1024)
def resolve_timezone(text: str) -> tzinfo:
    """An IANA name (any case) or a legacy label → its zone; anything else raises UnknownTimeZone."""
    name = (text or "").strip() if isinstance(text, str) else ""
    canonical = _iana_by_lower().get(name.lower())
    if canonical:
        return ZoneInfo(canonical)
    match = _LABEL.fullmatch(name)
    if not match:
        raise UnknownTimeZone(f"unknown time zone '{text}'")
    sign, hours, minutes, places = match.groups()
    return _zone_of_places(places) or _fixed_offset(sign, hours, minutes, text)


def canonical_timezone_name(text: str) -> str:
    """The IANA name the text resolves to, or `(GMT±hh:mm)` for a bare odd offset (round-trips)."""
    zone = resolve_timezone(text)
    key = getattr(zone, "key", None)
    if key:
        return key
    offset = zone.utcoffset(None) or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    hours, rest = divmod(abs(int(offset.total_seconds())), 3600)
    return f"(GMT{sign}{hours:02d}:{rest // 60:02d})"


def _zone_of_places(places: str) -> ZoneInfo | None:
    for place in _split_places(places):
        zone_name = LEGACY_PLACES.get(place) or _iana_cities().get(place)
        if zone_name:
            try:
                return ZoneInfo(zone_name)
            except ZoneInfoNotFoundError:
                continue  # an older tzdata without this name: try the next place
    return None


def _split_places(places: str) -> list[str]:
    """`Pacific Time (US & Canada); Tijuana` → ["pacific time", "tijuana"]."""
    text = re.sub(r"\([^)]*\)", " ", places.replace("\u2019", "'").replace("&amp;", "&"))
    found = []
    for part in re.split(r"[,;:/]|\s-\s", text):
        place = " ".join(part.split()).lower().rstrip(".")
        if place and place not in _DESCRIPTORS:
            found.append(place)
    return found


def _fixed_offset(sign: str | None, hours: str | None, minutes: str | None, text: str) -> tzinfo:
    offset = timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
    if int(minutes or 0) > 59 or offset > _MAX_OFFSET:
        raise UnknownTimeZone(f"offset out of range in time zone '{text}'")
    if sign == "-":
        offset = -offset
    seconds = int(offset.total_seconds())
    if seconds % 3600:
        return timezone(offset)
    # Etc/GMT signs are inverted (POSIX): the label's GMT-03:00 is the zone Etc/GMT+3.
    return ZoneInfo("Etc/GMT" if seconds == 0 else f"Etc/GMT{-seconds // 3600:+d}")
