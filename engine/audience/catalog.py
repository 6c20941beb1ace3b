"""The RulesJson whitelist: which fields and operators exist, and what a valid value looks like.

Nothing reaches SQL unless it is named here (protocol.md §5.5, Part 1 §10, §16, §17):
* fields: the subscriber columns by wire name, custom fields by numeric ID or `CustomFieldN`;
* operators: one canonical spelling per operator, reached through a table of the spellings the
  legacy documentation, the UI labels and the old `SegmentRuleOperator[]` arrays use
  (case-insensitive, `_`/`-`/spaces collapsed);
* values: parsed into Python values here, so the compiler only ever binds typed parameters.

Field kinds decide what an operator means: `is` is a case-insensitive text match on a text field,
a numeric equality on a number field and a calendar-day match on a date field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.audience.regex import check_portable_regex
from engine.errors import InvalidRules
from engine.models.subscribers import BOUNCE_TYPES, SUBSCRIPTION_STATUSES

# Custom-field values are stored in a 1000-character column; a longer literal can never match.
MAX_TEXT_VALUE = 1000
MAX_DAYS = 36_500
# value_number is NUMERIC(20, 6): 14 integer digits and 6 decimals.
MAX_NUMBER = Decimal("1e14")


@dataclass(frozen=True)
class FieldSpec:
    """A field a rule may name. `column` is a Subscriber attribute; custom fields have `custom_field_id`."""

    name: str
    kind: str  # "text" | "enum" | "number" | "date"
    column: str | None = None
    custom_field_id: int | None = None
    choices: tuple[str, ...] = ()
    nullable: bool = False

    @property
    def is_custom(self) -> bool:
        return self.custom_field_id is not None


SUBSCRIBER_FIELDS = {
    "EmailAddress": FieldSpec("EmailAddress", "text", "email_address"),
    "SubscriptionStatus": FieldSpec("SubscriptionStatus", "enum", "subscription_status",
                                    choices=SUBSCRIPTION_STATUSES),
    "BounceType": FieldSpec("BounceType", "enum", "bounce_type", choices=BOUNCE_TYPES),
    "SubscriptionDate": FieldSpec("SubscriptionDate", "date", "subscription_date"),
    "OptInDate": FieldSpec("OptInDate", "date", "opt_in_date", nullable=True),
    "SubscriptionIP": FieldSpec("SubscriptionIP", "text", "subscription_ip"),
    "SubscriberID": FieldSpec("SubscriberID", "number", "id"),
}
# The v5.5 documentation wrote `email` for the e-mail address.
_FIELD_NAMES = {name.lower(): spec for name, spec in SUBSCRIBER_FIELDS.items()} | {
    "email": SUBSCRIBER_FIELDS["EmailAddress"]}
_CUSTOM_FIELD = re.compile(r"(?i)(?:customfield:?)?(\d{1,18})")

# --- operators -----------------------------------------------------------------------------
TEXT_MATCH = ("is", "is not", "contains", "does not contain", "begins with", "ends with",
              "matches regex", "does not match regex")
PRESENCE = ("is set", "is not set")
NUMBER_COMPARE = ("is less than", "is less than or equal to", "is greater than", "is greater than or equal to")
DATE_COMPARE = ("is before", "is after", "in the last x days", "not in the last x days", "in the next x days",
                "not in the next x days", "is exactly x days ago", "is exactly x days from now",
                "between", "not between")
FIELD_OPERATORS = frozenset(TEXT_MATCH + PRESENCE + NUMBER_COMPARE + DATE_COMPARE)
RELATIVE_DAYS = frozenset(("in the last x days", "not in the last x days", "in the next x days",
                           "not in the next x days", "is exactly x days ago", "is exactly x days from now"))

_FIELD_ALIASES = {
    "equals": "is", "equal to": "is", "equals to": "is", "is equal to": "is", "=": "is",
    "does not equal": "is not", "not equal to": "is not", "is not equal to": "is not", "!=": "is not",
    "starts with": "begins with", "does not contains": "does not contain",
    "is not empty": "is set", "not empty": "is set", "is empty": "is not set",
    "less than": "is less than", "is smaller than": "is less than", "smaller than": "is less than",
    "is less than or equal": "is less than or equal to", "is smaller than or equal to": "is less than or equal to",
    "greater than": "is greater than", "is greater than or equal": "is greater than or equal to",
    "before": "is before", "after": "is after",
    "in last x days": "in the last x days", "is in the last x days": "in the last x days",
    "not in last x days": "not in the last x days", "is not in the last x days": "not in the last x days",
    "in next x days": "in the next x days", "is in the next x days": "in the next x days",
    "not in next x days": "not in the next x days", "is not in the next x days": "not in the next x days",
    "exactly x days ago": "is exactly x days ago", "exactly x days from now": "is exactly x days from now",
    "is between": "between", "is not between": "not between",
    "matches": "matches regex", "does not match": "does not match regex",
}

# campaign-events: operator → (activity kind, negated)
ACTIVITY_OPERATORS = {
    "opened": ("open", False), "not opened": ("open", True),
    "clicked": ("click", False), "not clicked": ("click", True),
    "unsubscribed": ("unsubscribe", False), "not unsubscribed": ("unsubscribe", True),
    "complained": ("complaint", False), "not complained": ("complaint", True),
    "bounced": ("bounce", False), "not bounced": ("bounce", True),
    "delivered": ("sent", False), "not delivered": ("sent", True),
    "queued recipients": ("queued", False), "not queued recipients": ("queued", True),
    "failed": ("failed", False), "not failed": ("failed", True),
}
# The documentation: no time filter for these kinds, and no aggregation either.
NO_TIME_FILTER = frozenset(("sent", "queued", "failed"))
NO_AGGREGATION = frozenset(("sent", "queued", "failed"))
TIME_FILTERS = ("in_last_x_days", "not_in_last_x_days", "between", "not_between", "after", "before")
AGGREGATIONS = ("at_least", "at_most", "exactly")

SEGMENT_OPERATORS = {"belongs to": False, "does not belong to": True}
# tags (guide-tags.md "In Segments"): operator → what the rule asks of the subscriber row's tags.
# "has" / "has not" name one tag, "any" / "all" one or more, "none" no tag at all.
TAG_OPERATORS = {
    "has this tag": "has", "has tag": "has",
    "does not have this tag": "has not", "does not have tag": "has not",
    "has any of these tags": "any", "has any of tags": "any",
    "has all of these tags": "all", "has all of tags": "all",
    "has no tags": "none",
}
SUPPRESSION_OPERATORS = {"exist": "exist", "exists": "exist", "not exist": "not exist",
                         "not exists": "not exist", "does not exist": "not exist"}


def op_key(text: Any) -> str:
    """An operator as compared: lower case, `_`/`-` and runs of white space folded to one space."""
    if not isinstance(text, str):
        return ""
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


def field_operator(text: Any) -> str | None:
    key = op_key(text)
    key = _FIELD_ALIASES.get(key, key)
    return key if key in FIELD_OPERATORS else None


def subscriber_field(name: str) -> FieldSpec | None:
    return _FIELD_NAMES.get(name.strip().lower())


def custom_field_id(name: Any) -> int | None:
    """`12`, "12", "CustomField12" or "CustomField:12" → 12."""
    if isinstance(name, int) and not isinstance(name, bool):
        return name if name > 0 else None
    if isinstance(name, str):
        match = _CUSTOM_FIELD.fullmatch(name.strip())
        if match and int(match.group(1)) > 0:
            return int(match.group(1))
    return None


def custom_field_kind(field_type: str, validation_method: str = "") -> str:
    """The comparison kind of a custom field, from its legacy FieldType / ValidationMethod."""
    kind = op_key(field_type)
    if kind in ("date field", "date", "datetime", "timestamp"):
        return "date"
    if kind in ("number", "numeric") or op_key(validation_method) == "numbers":
        return "number"
    return "text"


def operators_for(spec: FieldSpec) -> frozenset[str]:
    if spec.kind in ("text", "enum"):
        allowed = set(TEXT_MATCH + PRESENCE)
        if spec.is_custom:
            allowed |= set(NUMBER_COMPARE)  # compared on the parsed number; text never matches
        return frozenset(allowed)
    if spec.kind == "number":
        allowed = {"is", "is not", *PRESENCE, *NUMBER_COMPARE}
        if spec.is_custom:
            allowed |= set(TEXT_MATCH)
        return frozenset(allowed)
    allowed = {"is", "is not", *PRESENCE, *DATE_COMPARE}  # date
    if spec.is_custom:
        allowed |= set(TEXT_MATCH)
    return frozenset(allowed)


# --- values ----------------------------------------------------------------------------------
def field_value(spec: FieldSpec, operator: str, raw: Any, has_value: bool) -> Any:
    """The typed value of a rule, or InvalidRules naming what is wrong with it."""
    where = f"{spec.name} {operator}"
    if operator in PRESENCE:
        return None
    if not has_value:
        raise InvalidRules(f'rule "{where}" needs a "value"')
    if operator in ("is", "is not"):
        if spec.kind == "number":
            return number_value(raw, where)
        if spec.kind == "date":
            return date_value(raw, where)
        text = text_value(raw, where)
        if spec.kind == "enum":
            return _choice(spec, text, where)
        return text
    if operator in ("matches regex", "does not match regex"):
        pattern = text_value(raw, where)
        check_portable_regex(pattern, where)
        return pattern
    if operator in TEXT_MATCH:
        text = text_value(raw, where)
        if text == "":
            # `contains ""` would match everyone and `does not contain ""` no one: say so instead.
            raise InvalidRules(f'rule "{where}" needs a non-empty value')
        return text
    if operator in NUMBER_COMPARE:
        return number_value(raw, where)
    if operator in RELATIVE_DAYS:
        return days_value(raw, where)
    if operator in ("between", "not between"):
        return date_range(raw, where)
    return date_value(raw, where)  # is before / is after


def _choice(spec: FieldSpec, text: str, where: str) -> str:
    for choice in spec.choices:
        if choice.lower() == text.strip().lower():
            return choice
    # A misspelt status under `is not` would otherwise select the whole list.
    raise InvalidRules(f'rule "{where}": "{text}" is not one of {", ".join(spec.choices)}')


def text_value(raw: Any, where: str) -> str:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise InvalidRules(f'rule "{where}": the value must be a string')
    text = raw if isinstance(raw, str) else str(raw)
    if len(text) > MAX_TEXT_VALUE:
        raise InvalidRules(f'rule "{where}": the value is longer than {MAX_TEXT_VALUE} characters')
    check_storable(text, where)
    return text


def check_storable(text: str, where: str) -> None:
    # PostgreSQL refuses NUL characters and no driver can send a lone surrogate: refuse them
    # here so they become a validation error instead of a database error.
    if "\x00" in text:
        raise InvalidRules(f'rule "{where}": the value contains a NUL character')
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRules(f'rule "{where}": the value is not valid Unicode') from None


def number_value(raw: Any, where: str) -> Decimal:
    if isinstance(raw, bool):
        raise InvalidRules(f'rule "{where}": the value must be a number')
    text = str(raw).strip() if isinstance(raw, (str, int, float)) else ""
    if not re.fullmatch(r"[+-]?\d{1,14}(\.\d{1,6})?|[+-]?\.\d{1,6}", text):
        raise InvalidRules(f'rule "{where}": "{raw}" is not a number (at most 14 digits and 6 decimals)')
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern above admits only valid decimals
        raise InvalidRules(f'rule "{where}": "{raw}" is not a number') from None
    if abs(number) >= MAX_NUMBER:
        raise InvalidRules(f'rule "{where}": "{raw}" is out of range')
    return number


def date_value(raw: Any, where: str) -> date:
    text = raw.strip() if isinstance(raw, str) else ""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise InvalidRules(f'rule "{where}": "{raw}" is not a date (YYYY-MM-DD)')


def days_value(raw: Any, where: str) -> int:
    if isinstance(raw, bool):
        raise InvalidRules(f'rule "{where}": the value must be a number of days')
    text = str(raw).strip() if isinstance(raw, (str, int)) else ""
    if not re.fullmatch(r"\d{1,6}", text) or int(text) > MAX_DAYS:
        raise InvalidRules(f'rule "{where}": "{raw}" is not a number of days (0 to {MAX_DAYS})')
    return int(text)


def date_range(raw: Any, where: str) -> tuple[date, date]:
    """`{"start": …, "end": …}`, `[start, end]` or "start,end" (both days included)."""
    if isinstance(raw, dict):
        lowered = {str(k).lower(): v for k, v in raw.items()}
        parts = [lowered["start"], lowered["end"]] if "start" in lowered and "end" in lowered else []
    elif isinstance(raw, list):
        parts = raw
    elif isinstance(raw, str):
        parts = raw.split(",")
    else:
        parts = []
    if len(parts) != 2:
        raise InvalidRules(f'rule "{where}": the value must be a start and an end date')
    start, end = date_value(parts[0], where), date_value(parts[1], where)
    if end < start:
        raise InvalidRules(f'rule "{where}": the end date is before the start date')
    return start, end
