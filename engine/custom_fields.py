"""Custom fields: their definitions (CustomField.*) and how a submitted value is read and checked.

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
from urllib.parse import urlparse

from sqlalchemy import and_, delete, func, or_, select

from engine.auth import Actor
from engine.errors import (
    CustomFieldInvalid, CustomFieldListLocked, CustomFieldNotFound, CustomFieldNotUnique, CustomFieldRequired,
    InvalidFieldOptions, InvalidFieldType, InvalidGlobalChange, InvalidMergeTagAlias, InvalidPreset,
    InvalidValidationRule, InvalidYears, MergeTagAliasTaken, ReservedMergeTagAlias, UnknownCustomFields,
)
from engine.models import CustomField, Subscriber, SubscriberFieldValue, SubscriberList
from engine.models.subscribers import FIELD_TYPES
from engine.validation import normalize_email
from engine.ownership import require_owned_ids

CHOICE_TYPES = ("Multiple choice", "Drop down", "Checkboxes")
MULTI_SEPARATOR = "||||"  # how checkbox selections are joined in value_text
MAX_VALUE_CHARS = 1000    # the width of SubscriberFieldValue.value_text
MAX_RULE_CHARS = 255      # Custom validation patterns are user regexes: keep them short
RESERVED_ALIASES = {a.lower() for a in ("SubscriberID", "EmailAddress", "SubscriptionDate", "SubscriptionIP",
                                        "OptInDate", "SubscriptionStatus", "BounceType")}
_ALIAS = re.compile(r"[A-Za-z0-9 ._-]+")
_NUMBER = re.compile(r"[+-]?\d{1,14}(\.\d{1,6})?")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
# The PHP date() letters a Date validation rule may use, as strptime directives.
_PHP_DATE = {"Y": "%Y", "y": "%y", "m": "%m", "n": "%m", "d": "%d", "j": "%d", "H": "%H", "G": "%H",
             "i": "%M", "s": "%S"}

# DataType (v5.7.3) → (FieldType, ValidationMethod, ValidationRule)
DATA_TYPES = {
    "text": ("Single line", "Disabled", ""), "longtext": ("Paragraph text", "Disabled", ""),
    "number": ("Single line", "Numbers", ""), "date": ("Date field", "Disabled", ""),
    "datetime": ("Single line", "Date", "Y-m-d H:i:s"), "timestamp": ("Single line", "Date", "Y-m-d H:i:s"),
    "time": ("Time field", "Disabled", ""), "single-select": ("Drop down", "Disabled", ""),
    "multi-select": ("Checkboxes", "Disabled", ""),
}

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")
_US_STATES = (
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware",
    "District of Columbia", "Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas",
    "Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi",
    "Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire", "New Jersey", "New Mexico", "New York",
    "North Carolina", "North Dakota", "Ohio", "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island",
    "South Carolina", "South Dakota", "Tennessee", "Texas", "Utah", "Vermont", "Virginia", "Washington",
    "West Virginia", "Wisconsin", "Wyoming",
)
_SCALE = ("Very satisfied", "Satisfied", "Neutral", "Dissatisfied", "Very dissatisfied")
# The Oempro 4 presets: PresetName → (field name, type, option labels).
PRESETS = {
    "gender": ("Gender", "Multiple choice", ("Male", "Female", "Other")),
    "age": ("Age", "Drop down", ("Under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65 or older")),
    "employment": ("Employment", "Drop down", ("Employed full-time", "Employed part-time", "Self-employed",
                                               "Unemployed", "Student", "Retired")),
    "income": ("Income", "Drop down", ("Under $25,000", "$25,000 - $49,999", "$50,000 - $74,999",
                                       "$75,000 - $99,999", "$100,000 or more")),
    "education": ("Education", "Drop down", ("High school", "Some college", "Associate degree",
                                             "Bachelor's degree", "Master's degree", "Doctorate")),
    "days of the week": ("Days of the week", "Checkboxes", ("Monday", "Tuesday", "Wednesday", "Thursday",
                                                            "Friday", "Saturday", "Sunday")),
    "months of the year": ("Months of the year", "Checkboxes", _MONTHS),
    "u.s. states": ("U.S. state", "Drop down", _US_STATES),
    "continents": ("Continent", "Drop down", ("Africa", "Antarctica", "Asia", "Europe", "North America",
                                              "Oceania", "South America")),
    "satisfaction": ("Satisfaction", "Multiple choice", _SCALE),
    "importance": ("Importance", "Multiple choice", ("Very important", "Important", "Neutral",
                                                     "Not important", "Not at all important")),
    "agreement": ("Agreement", "Multiple choice", ("Strongly agree", "Agree", "Neutral", "Disagree",
                                                   "Strongly disagree")),
    "comparison": ("Comparison", "Multiple choice", ("Much better", "Somewhat better", "About the same",
                                                     "Somewhat worse", "Much worse")),
}


def preset(name: str) -> tuple[str, str, tuple[str, ...]]:
    key = name.strip().lower()
    if key == "country":
        import pytz  # a dependency already: its ISO 3166 country names make the Country preset

        return "Country", "Drop down", tuple(sorted(pytz.country_names.values()))
    if key not in PRESETS:
        raise InvalidPreset(f"unknown preset {name!r}; use one of Country, "
                                     + ", ".join(v[0] for v in PRESETS.values()))
    return PRESETS[key]


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

    def _option_value(self, item) -> str:
        text = _scalar(item)
        if not self.options:
            return text
        for candidate in (text, text.split("||")[-1].strip()):  # "Label||Value" as FieldOptions shows it
            for option in self.options:
                if option["value"] == candidate:
                    return option["value"]
            for option in self.options:
                if candidate.lower() in (option["value"].lower(), option["label"].lower()):
                    return option["value"]
        self.fail(f"'{text}' is not one of the field's options")

    def _choice(self, raw, *, multi: bool) -> FieldValue:
        items = [i for i in _items(raw) if not is_blank(i)]
        if len(items) == 1 and isinstance(items[0], str) and MULTI_SEPARATOR in items[0]:
            items = [i for i in items[0].split(MULTI_SEPARATOR) if i.strip()]
        if any(isinstance(i, (list, dict)) for i in items):
            self.fail("expects option values")
        if not multi and len(items) > 1:
            self.fail("accepts one option only")
        values: list[str] = []
        for item in items:
            value = self._option_value(item)
            if value not in values:
                values.append(value)
        text = MULTI_SEPARATOR.join(values)
        if len(text) > MAX_VALUE_CHARS:
            self.fail(f"is longer than {MAX_VALUE_CHARS} characters")
        return parsed_forms(text)

    def _date(self, raw) -> FieldValue:
        if isinstance(raw, (list, dict)):
            parts = [_scalar(p) for p in _items(raw)]
            if len(parts) != 3 or not all(p.isdigit() for p in parts):
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
            if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
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


class FieldValues:
    """Reads, checks and stores the custom-field values of the subscribers of one list.

    Rules, in the order the legacy server applies them (v5.9.4 subscribers.md): per submitted
    field, in field-ID order, required → validation → uniqueness; then, only with
    `enforce_required`, the required fields the request left out.
    """

    def __init__(self, session, list_row: SubscriberList, fields: list[CustomField]):
        self.s = session
        self.list = list_row
        self.fields = {f.id: f for f in fields}
        self._rules: dict[int, FieldRules] = {}

    def rules(self, field_id: int) -> FieldRules:
        if field_id not in self._rules:
            self._rules[field_id] = FieldRules(self.fields[field_id])
        return self._rules[field_id]

    def check(self, submitted: dict[int, object], *, subscriber_id: int | None = None, strict: bool = False,
              enforce_required: bool = False) -> dict[int, FieldValue | None]:
        """The values to store (None = clear the field). Unknown field IDs are dropped, or with
        `strict` refused. `subscriber_id` is None for a subscriber about to be created."""
        unknown = sorted(i for i in submitted if i not in self.fields)
        if unknown and strict:
            raise UnknownCustomFields(unknown)
        values: dict[int, FieldValue | None] = {}
        for field_id in sorted(i for i in submitted if i in self.fields):
            field, raw = self.fields[field_id], submitted[field_id]
            if is_blank(raw):
                if field.is_required:
                    raise CustomFieldRequired(field, "is required")
                values[field_id] = None
                continue
            value = self.rules(field_id).parse(raw)
            if field.is_unique and value.text and self.taken(field, value.text, subscriber_id):
                raise CustomFieldNotUnique(field, f"'{value.text}' is already used by another subscriber")
            values[field_id] = value
        if enforce_required:
            stored = self.stored_ids(subscriber_id) if subscriber_id else set()
            for field in sorted(self.fields.values(), key=lambda f: f.id):
                if field.is_required and field.id not in values and field.id not in stored and not (
                        subscriber_id is None and field.list_id is not None and field.default_value.strip()):
                    raise CustomFieldRequired(field, "is required")
        return values

    def defaults(self, submitted: dict[int, object]) -> dict[int, FieldValue]:
        """A new subscriber's values for the list's own fields left out (their default values).
        Global fields are never defaulted, as on the legacy server."""
        values = {}
        for field in self.fields.values():
            if field.id in submitted or field.list_id is None or not field.default_value.strip():
                continue
            try:
                values[field.id] = self.rules(field.id).parse(field.default_value)
            except CustomFieldInvalid:
                values[field.id] = parsed_forms(field.default_value.strip()[:MAX_VALUE_CHARS])
        return values

    def taken(self, field: CustomField, text: str, subscriber_id: int | None) -> bool:
        query = select(SubscriberFieldValue.subscriber_id).join(
            Subscriber, Subscriber.id == SubscriberFieldValue.subscriber_id).where(
            SubscriberFieldValue.field_id == field.id, Subscriber.list_id == self.list.id,
            func.lower(SubscriberFieldValue.value_text) == text.lower())
        if subscriber_id is not None:
            query = query.where(SubscriberFieldValue.subscriber_id != subscriber_id)
        return self.s.scalar(query.limit(1)) is not None

    def stored_ids(self, subscriber_id: int) -> set[int]:
        return set(self.s.scalars(select(SubscriberFieldValue.field_id).where(
            SubscriberFieldValue.subscriber_id == subscriber_id)))

    def store(self, subscriber_id: int, values: dict[int, FieldValue | None]) -> None:
        if not values:
            return
        self.s.execute(delete(SubscriberFieldValue).where(
            SubscriberFieldValue.subscriber_id == subscriber_id,
            SubscriberFieldValue.field_id.in_(list(values))), execution_options={"synchronize_session": False})
        rows = [value_row(subscriber_id, field_id, v) for field_id, v in values.items() if v is not None]
        if rows:
            self.s.execute(SubscriberFieldValue.__table__.insert(), rows)


def value_row(subscriber_id: int, field_id: int, value: FieldValue) -> dict:
    return {"subscriber_id": subscriber_id, "field_id": field_id, "value_text": value.text,
            "value_number": value.number, "value_date": value.date}


def applicable_to(list_row: SubscriberList):
    """The where-clause of the fields a list's subscribers carry: its own plus the owner's global ones."""
    return or_(CustomField.list_id == list_row.id,
               and_(CustomField.list_id.is_(None), CustomField.owner_user_id == list_row.owner_user_id))


# Columns CustomFields.Get may sort by (wire name, lower-cased → expression builder).
SORTABLE = {
    "fieldname": lambda: func.lower(CustomField.name), "customfieldid": lambda: CustomField.id,
    "fieldtype": lambda: CustomField.field_type, "isrequired": lambda: CustomField.is_required,
    "isunique": lambda: CustomField.is_unique, "visibility": lambda: CustomField.visibility,
    "isglobal": lambda: CustomField.list_id.is_(None),
}
DEFINITION_KEYS = ("name", "field_type", "default_value", "validation_method", "validation_rule",
                   "is_required", "is_unique", "visibility", "merge_tag_alias", "years")


class CustomFieldService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- reading -----------------------------------------------------------------------------------
    def get(self, actor: Actor, field_id: int) -> CustomField:
        field = self.s.scalar(select(CustomField).where(CustomField.id == field_id,
                                                        CustomField.owner_user_id == actor.id))
        if field is None:
            raise CustomFieldNotFound()
        return field

    def for_list(self, actor: Actor, list_id: int, *, include_global: bool = False,
                 order_field: str | None = None, descending: bool = False) -> list[CustomField]:
        list_row = self.uow.lists.get(actor, list_id)
        where = applicable_to(list_row) if include_global else CustomField.list_id == list_row.id
        column = SORTABLE.get((order_field or "").lower(), SORTABLE["fieldname"])()
        order = [column.desc() if descending else column.asc(), CustomField.id]
        return list(self.s.scalars(select(CustomField).where(where).order_by(*order)))

    def applicable(self, list_row: SubscriberList) -> list[CustomField]:
        return list(self.s.scalars(select(CustomField).where(applicable_to(list_row)).order_by(CustomField.id)))

    def values_for(self, list_row: SubscriberList) -> FieldValues:
        return FieldValues(self.s, list_row, self.applicable(list_row))

    # --- writing -----------------------------------------------------------------------------------
    def create(self, actor: Actor, list_id: int, spec: dict) -> CustomField:
        """Create a field on an owned list. `spec`: DEFINITION_KEYS, `is_global`, `options` (list of
        {label, value, selected}), or `preset` (a PresetName) / `data_type` (a DataType)."""
        list_row = self.uow.lists.get(actor, list_id)
        spec = dict(spec)
        if spec.get("preset"):
            name, kind, labels = preset(spec.pop("preset"))
            spec.setdefault("name", name)
            spec["field_type"] = kind
            spec.setdefault("options", [{"label": x, "value": x, "selected": False} for x in labels])
        if spec.get("data_type"):
            kind, method, rule = DATA_TYPES[spec.pop("data_type")]
            spec.update(field_type=kind, validation_method=method, validation_rule=spec.get("validation_rule") or rule)
        field = CustomField(owner_user_id=actor.id, list_id=None if spec.get("is_global") else list_row.id,
                            created_at=self.uow.clock(), field_type="Single line", default_value="", options="",
                            validation_method="Disabled", validation_rule="", is_required=False,
                            is_unique=False, visibility="User Only", merge_tag_alias="", years="")
        self._apply(actor, field, spec)
        self.s.add(field)
        self.s.flush()
        return field

    def update(self, actor: Actor, field_id: int, changes: dict) -> CustomField:
        """Partial update: omitted keys (options included) stay as they are."""
        field = self.get(actor, field_id)
        if "list_id" in changes:
            target = self.uow.lists.get(actor, changes["list_id"])  # foreign → ListNotFound
            if field.list_id is not None and target.id != field.list_id:
                raise CustomFieldListLocked(f"the field belongs to list {field.list_id}; create a new field "
                                            f"on list {target.id} instead")
            if field.list_id is None and changes.get("is_global") is False:
                field.list_id = target.id
        if changes.get("is_global") is True:
            field.list_id = None
        elif changes.get("is_global") is False and field.list_id is None:
            raise InvalidGlobalChange("give SubscriberListID to turn a global field into a list field")
        self._apply(actor, field, changes)
        self.s.flush()
        return field

    def _apply(self, actor: Actor, field: CustomField, spec: dict) -> None:
        for key in DEFINITION_KEYS:
            if key in spec:
                setattr(field, key, spec[key])
        if field.field_type not in FIELD_TYPES:
            raise InvalidFieldType(f"unknown field type {field.field_type!r}")
        if "options" in spec:
            field.options = json.dumps(_clean_options(spec["options"]), ensure_ascii=False)
        options = load_options(field)
        if field.field_type in CHOICE_TYPES:
            if not options:
                raise InvalidFieldOptions(f"a {field.field_type} field needs options "
                                             "(OptionLabel[] / OptionValue[])")
            if "default_value" not in spec and "options" in spec:
                field.default_value = MULTI_SEPARATOR.join(o["value"] for o in options if o["selected"])
        if field.validation_method == "Custom":
            if not field.validation_rule.strip():
                raise InvalidValidationRule("ValidationRule is required for the Custom validation method")
            compile_rule(field.validation_rule)
        if field.field_type == "Date field":
            parse_years(field.years)
        self._check_alias(actor, field)

    def _check_alias(self, actor: Actor, field: CustomField) -> None:
        alias = field.merge_tag_alias.strip()
        field.merge_tag_alias = alias
        if not alias:
            return
        if not _ALIAS.fullmatch(alias):
            raise InvalidMergeTagAlias()
        if alias.lower() in RESERVED_ALIASES or re.fullmatch(r"customfield\d+", alias.lower()):
            raise ReservedMergeTagAlias(f"{alias!r} is a reserved name")
        clash = select(CustomField.id).where(CustomField.owner_user_id == actor.id,
                                             func.lower(CustomField.merge_tag_alias) == alias.lower())
        if field.id is not None:
            clash = clash.where(CustomField.id != field.id)
        if self.s.scalar(clash.limit(1)) is not None:
            raise MergeTagAliasTaken()

    def delete(self, actor: Actor, field_ids: list[int]) -> int:
        """Delete all the given fields and their values, or none of them."""
        owned = require_owned_ids(self.s, CustomField, field_ids, actor, CustomFieldNotFound, "custom field")
        self.s.execute(delete(SubscriberFieldValue).where(SubscriberFieldValue.field_id.in_(owned)))
        self.s.execute(delete(CustomField).where(CustomField.id.in_(owned)))
        return len(owned)


def _clean_options(options: list[dict]) -> list[dict]:
    cleaned, seen = [], set()
    for option in options:
        label = str(option.get("label", "")).strip()
        value = str(option.get("value", "")).strip() or label
        label = label or value
        if not value:
            continue
        if MULTI_SEPARATOR in value or len(value) > 255 or len(label) > 255:
            raise InvalidFieldOptions(f"option {value[:40]!r} is too long or contains '||||'")
        if value in seen:
            raise InvalidFieldOptions(f"option value {value!r} is given twice")
        seen.add(value)
        cleaned.append({"label": label, "value": value, "selected": bool(option.get("selected"))})
    return cleaned
