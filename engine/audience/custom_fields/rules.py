"""How a submitted custom-field value is read and checked against its field's definition.

Values arrive as the legacy forms post them: a string, a list for checkboxes
(`CustomField7[]=a&CustomField7[]=b`), `(d, m, Y)` parts for Date fields and `(H, i)` parts
for Time fields. `FieldRules.parse` turns any of them into the stored text plus the parsed
number/date the audience compiler compares natively (see SubscriberFieldValue).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from functools import cached_property
from urllib.parse import urlparse

from engine.errors import CustomFieldInvalid, InvalidValidationRule, InvalidYears
from engine.models import CustomField
from engine.validation import normalize_email

CHOICE_TYPES = ("Multiple choice", "Drop down", "Checkboxes")
MULTI_SEPARATOR = "||||"  # how checkbox selections are joined in value_text
MAX_VALUE_CHARS = 1000    # the width of SubscriberFieldValue.value_text
MAX_RULE_CHARS = 255      # Custom validation patterns are user regexes: keep them short
_NUMBER = re.compile(r"[+-]?\d{1,14}(\.\d{1,6})?")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
# The PHP date() letters a Date validation rule may use, as strptime directives.
_PHP_DATE = {"Y": "%Y", "y": "%y", "m": "%m", "n": "%m", "d": "%d", "j": "%d", "H": "%H", "G": "%H",
             "i": "%M", "s": "%S"}


@dataclass(frozen=True)
class FieldValue:
    text: str
    number: Decimal | None = None
    date: datetime | None = None


def load_options(field: CustomField) -> list[dict]:
    try:
        options = json.loads(field.options) if field.options else []
    except ValueError:
        return []
    return options if isinstance(options, list) else []


def is_blank(raw) -> bool:
    """Nothing usable: "", white space, or a list/map whose members are all blank. "0" is a value."""
    if raw is None:
        return True
    if isinstance(raw, dict):
        raw = list(raw.values())
    if isinstance(raw, list):
        return all(is_blank(item) for item in raw)
    return isinstance(raw, str) and not raw.strip()


def _items(raw) -> list:
    if isinstance(raw, dict):
        return list(raw.values())
    return raw if isinstance(raw, list) else [raw]


def _scalar(raw) -> str:
    if isinstance(raw, bool):
        return "1" if raw else "0"
    if isinstance(raw, (int, float, Decimal)):
        return str(raw)
    return raw.strip() if isinstance(raw, str) else ""


def parsed_forms(text: str) -> FieldValue:
    """The stored value plus its number/date readings, when the text has them."""
    number = Decimal(text) if _NUMBER.fullmatch(text) else None
    return FieldValue(text, number, iso_datetime(text))


def iso_datetime(text: str) -> datetime | None:
    match = _ISO_DATE.fullmatch(text)
    if not match:
        return None
    parts = [int(p) if p else 0 for p in match.groups()]
    try:
        return datetime(*parts, tzinfo=timezone.utc)
    except ValueError:
        return None


def _php_format(rule: str) -> str:
    return "".join(_PHP_DATE.get(ch, ch.replace("%", "%%")) for ch in rule)


def compile_rule(rule: str) -> re.Pattern:
    """A Custom validation rule: a regex, optionally in PHP's /pattern/flags form."""
    text = rule.strip()
    flags = 0
    match = re.fullmatch(r"([/#~!@%])(.*)\1([imsxu]*)", text, re.S)
    if match:
        text = match.group(2)
        flags = (re.I if "i" in match.group(3) else 0) | (re.M if "m" in match.group(3) else 0) | \
            (re.S if "s" in match.group(3) else 0) | (re.X if "x" in match.group(3) else 0)
    if not text or len(text) > MAX_RULE_CHARS:
        raise InvalidValidationRule(f"a validation rule is a regular expression of 1 to "
                                     f"{MAX_RULE_CHARS} characters")
    try:
        return re.compile(text, flags)
    except re.error as exc:
        raise InvalidValidationRule(f"the validation rule is not a valid regular expression ({exc})")


def parse_years(years: str) -> tuple[int, int] | None:
    if not years:
        return None
    match = re.fullmatch(r"\s*(\d{4})\s*-\s*(\d{4})\s*", years)
    if not match or int(match.group(1)) > int(match.group(2)):
        raise InvalidYears("Years must look like 1950-2030 (first year not after the last)")
    return int(match.group(1)), int(match.group(2))


class FieldRules:
    """How one custom field reads and checks a submitted value."""

    def __init__(self, field: CustomField):
        self.field = field
        self.id = field.id
        self.name = field.name
        self.options = load_options(field)
        self.pattern = compile_rule(field.validation_rule) if field.validation_method == "Custom" else None
        self.years = parse_years(field.years) if field.field_type == "Date field" else None

    def fail(self, reason: str):
        raise CustomFieldInvalid(self.field, reason)

    def parse(self, raw) -> FieldValue:
        kind = self.field.field_type
        if kind in CHOICE_TYPES:
            return self._choice(raw, multi=kind == "Checkboxes")
        if kind == "Date field":
            return self._date(raw)
        if kind == "Time field":
            return self._time(raw)
        items = [i for i in _items(raw) if not is_blank(i)]
        if len(items) > 1 or any(isinstance(i, (list, dict)) for i in items):
            self.fail("expects a single value, not a list")
        text = _scalar(items[0]) if items else ""
        if len(text) > MAX_VALUE_CHARS:
            self.fail(f"is longer than {MAX_VALUE_CHARS} characters")
        self._validate(text)
        return parsed_forms(text)

    @cached_property
    def _option_lookup(self) -> tuple[dict[str, str], dict[str, str]]:
        """Option values by exact value, and by value or label in lower case. The first option
        wins, as a scan in order would; a dictionary keeps a checkbox list of thousands linear."""
        exact: dict[str, str] = {}
        folded: dict[str, str] = {}
        for option in self.options:
            exact.setdefault(option["value"], option["value"])
            folded.setdefault(option["value"].lower(), option["value"])
            folded.setdefault(option["label"].lower(), option["value"])
        return exact, folded

    def _option_value(self, item) -> str:
        text = _scalar(item)
        if not self.options:
            return text
        exact, folded = self._option_lookup
        for candidate in (text, text.split("||")[-1].strip()):  # "Label||Value" as FieldOptions shows it
            if candidate in exact:
                return exact[candidate]
            if candidate.lower() in folded:
                return folded[candidate.lower()]
        self.fail(f"'{text[:80]}' is not one of the field's options")

    def _choice(self, raw, *, multi: bool) -> FieldValue:
        items = [i for i in _items(raw) if not is_blank(i)]
        if len(items) == 1 and isinstance(items[0], str) and MULTI_SEPARATOR in items[0]:
            items = [i for i in items[0].split(MULTI_SEPARATOR) if i.strip()]
        if any(isinstance(i, (list, dict)) for i in items):
            self.fail("expects option values")
        if not multi and len(items) > 1:
            self.fail("accepts one option only")
        values = dict.fromkeys(self._option_value(item) for item in items)  # an ordered set
        text = MULTI_SEPARATOR.join(values)
        if len(text) > MAX_VALUE_CHARS:
            self.fail(f"is longer than {MAX_VALUE_CHARS} characters")
        return parsed_forms(text)

    def _date(self, raw) -> FieldValue:
        if isinstance(raw, (list, dict)):
            parts = [_scalar(p) for p in _items(raw)]
            if len(parts) != 3 or not all(p.isdecimal() for p in parts):
                self.fail("expects (day, month, year)")
            day, month, year = (int(p) for p in parts)
        else:
            match = _ISO_DATE.fullmatch(_scalar(raw))
            if not match:
                self.fail("expects a date as YYYY-MM-DD")
            year, month, day = (int(p) for p in match.groups()[:3])
        try:
            moment = datetime(year, month, day, tzinfo=timezone.utc)
        except ValueError:
            self.fail(f"{year:04d}-{month:02d}-{day:02d} is not a calendar date")
        if self.years and not self.years[0] <= year <= self.years[1]:
            self.fail(f"the year must be between {self.years[0]} and {self.years[1]}")
        return FieldValue(moment.strftime("%Y-%m-%d"), None, moment)

    def _time(self, raw) -> FieldValue:
        if isinstance(raw, (list, dict)):
            parts = [_scalar(p) for p in _items(raw)]
            if len(parts) not in (2, 3) or not all(p.isdecimal() for p in parts):
                self.fail("expects (hour, minute)")
            hour, minute = int(parts[0]), int(parts[1])
        else:
            match = _TIME.fullmatch(_scalar(raw))
            if not match:
                self.fail("expects a time as HH:MM")
            hour, minute = int(match.group(1)), int(match.group(2))
        if not (0 <= hour <= 23 and 0 <= minute <= 59):
            self.fail("expects a time between 00:00 and 23:59")
        return FieldValue(f"{hour:02d}:{minute:02d}")

    def _validate(self, text: str) -> None:
        method = self.field.validation_method
        if not text or method == "Disabled":
            return
        compact = text.replace(" ", "")
        if method == "Numbers" and not _NUMBER.fullmatch(text):
            self.fail("must be a number")
        if method == "Letters" and not compact.isalpha():
            self.fail("may contain letters only")
        if method == "Numbers and letters" and not compact.isalnum():
            self.fail("may contain letters and digits only")
        if method == "Email address" and normalize_email(text) is None:
            self.fail("must be an email address")
        if method == "URL":
            url = urlparse(text)
            if url.scheme not in ("http", "https") or not url.netloc:
                self.fail("must be an http(s) URL")
        if method == "Date":
            fmt = _php_format(self.field.validation_rule) if self.field.validation_rule else "%Y-%m-%d"
            try:
                datetime.strptime(text, fmt)
            except ValueError:
                self.fail(f"must be a date ({self.field.validation_rule or 'Y-m-d'})")
        if method == "Time" and not (_TIME.fullmatch(text) and int(text.split(":")[0]) < 24
                                     and int(text.split(":")[1]) < 60):
            self.fail("must be a time as HH:MM")
        if method == "Custom" and not self.pattern.search(text):
            self.fail("does not match the field's validation rule")

