"""PHP's date() formats, which the legacy `%Date=F j, Y%` tag and the `dateFormat-…` helper use."""
from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone
from typing import Callable

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def _offset(d: datetime, sep: str) -> str:
    seconds = int((d.utcoffset() or timedelta(0)).total_seconds())
    sign, seconds = ("-" if seconds < 0 else "+"), abs(seconds)
    return f"{sign}{seconds // 3600:02d}{sep}{seconds % 3600 // 60:02d}"


def _ordinal_suffix(day: int) -> str:
    return "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


_PHP_DATE: dict[str, Callable[[datetime], str]] = {
    "d": lambda d: f"{d.day:02d}", "D": lambda d: _DAYS[d.weekday()][:3], "j": lambda d: str(d.day),
    "l": lambda d: _DAYS[d.weekday()], "N": lambda d: str(d.isoweekday()),
    "S": lambda d: _ordinal_suffix(d.day), "w": lambda d: str(d.isoweekday() % 7),
    "z": lambda d: str(d.timetuple().tm_yday - 1), "W": lambda d: f"{d.isocalendar()[1]:02d}",
    "F": lambda d: _MONTHS[d.month - 1], "m": lambda d: f"{d.month:02d}", "M": lambda d: _MONTHS[d.month - 1][:3],
    "n": lambda d: str(d.month), "t": lambda d: str(calendar.monthrange(d.year, d.month)[1]),
    "L": lambda d: "1" if calendar.isleap(d.year) else "0", "o": lambda d: str(d.isocalendar()[0]),
    "Y": lambda d: f"{d.year:04d}", "y": lambda d: f"{d.year % 100:02d}",
    "a": lambda d: "am" if d.hour < 12 else "pm", "A": lambda d: "AM" if d.hour < 12 else "PM",
    "g": lambda d: str(d.hour % 12 or 12), "G": lambda d: str(d.hour), "h": lambda d: f"{d.hour % 12 or 12:02d}",
    "H": lambda d: f"{d.hour:02d}", "i": lambda d: f"{d.minute:02d}", "s": lambda d: f"{d.second:02d}",
    "u": lambda d: f"{d.microsecond:06d}", "v": lambda d: f"{d.microsecond // 1000:03d}",
    "e": lambda d: getattr(d.tzinfo, "key", None) or d.tzname() or "UTC", "T": lambda d: d.tzname() or "UTC",
    "I": lambda d: "1" if d.dst() else "0", "O": lambda d: _offset(d, ""), "P": lambda d: _offset(d, ":"),
    "p": lambda d: "Z" if not d.utcoffset() else _offset(d, ":"),
    "Z": lambda d: str(int((d.utcoffset() or timedelta(0)).total_seconds())),
    "c": lambda d: php_date("Y-m-d\\TH:i:sP", d), "r": lambda d: php_date("D, d M Y H:i:s O", d),
    "U": lambda d: str(int((d if d.tzinfo else d.replace(tzinfo=timezone.utc)).timestamp())),
}


def php_date(fmt: str, d: datetime) -> str:
    """`d` formatted like PHP's date(): English names, a backslash escapes the next character."""
    out, i = [], 0
    while i < len(fmt):
        c = fmt[i]
        if c == "\\" and i + 1 < len(fmt):
            out.append(fmt[i + 1])
            i += 2
            continue
        f = _PHP_DATE.get(c)
        out.append(f(d) if f else c)
        i += 1
    return "".join(out)
