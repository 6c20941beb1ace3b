"""Parameter types for campaign schedules, backed by the scheduler's pure parsers."""
from __future__ import annotations

from marshmallow import ValidationError

from protocol.params import LegacyField
from scheduler import recurrence, timezones


class SendDateField(LegacyField):
    """A date as YYYY-MM-DD (the legacy `0000-00-00` and impossible dates are refused)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return recurrence.parse_send_date(self._scalar_text(value).strip())
        except ValueError as exc:
            raise ValidationError(str(exc))


class SendTimeField(LegacyField):
    """HH:MM:SS or HH:MM, stored as HH:MM:SS."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        try:
            return recurrence.parse_send_time(self._scalar_text(value).strip()).strftime("%H:%M:%S")
        except ValueError as exc:
            raise ValidationError(str(exc))


class TimeZoneField(LegacyField):
    """An IANA name or a legacy `(GMT-03:00) Brasilia` label; stored as the client sent it."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = self._scalar_text(value).strip()
        try:
            timezones.resolve_timezone(text)
        except timezones.UnknownTimeZone as exc:
            raise ValidationError(str(exc))
        return text


class CommaList(LegacyField):
    """A legacy comma list such as ScheduleRecHours=`8,12,18`; validated, stored without spaces,
    leading zeros or repeats (so what is stored always fits its column, however long the input)."""

    def __init__(self, lo: int, hi: int, *, wildcard_zero: bool, **kwargs):
        super().__init__(**kwargs)
        self.lo, self.hi, self.wildcard_zero = lo, hi, wildcard_zero

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        items = [str(i).strip() for i in self._list_items(value) if str(i).strip()]
        try:
            recurrence.parse_comma_list(",".join(items), self.lo, self.hi, self.wildcard_zero)
        except recurrence.InvalidScheduleField as exc:
            raise ValidationError(str(exc))
        return ",".join(dict.fromkeys(i if i == "*" else str(int(i)) for i in items))
