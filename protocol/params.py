"""Legacy parameter types: how /api.php values are read, and which error code a bad one earns.

Every field carries the command's error `code` for "missing" and (unless `invalid_code` says
otherwise) for "invalid". Names are matched case-insensitively because the request parser has
already lower-cased every key; `LegacySchema` lower-cases the data keys to match.
"""
from __future__ import annotations

import json
import re
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing

from protocol.limits import MAX_LIST_ITEMS

MISSING = "__missing__"
TRUTHY = {"true", "1", "yes", "on"}


class ParamError(Exception):
    """A parameter problem with its wire code, raised by schema-level checks.

    `also` holds the other parameter problems (code, detail) found in the same call, so a command whose
    errors are a list names every missing parameter in one answer instead of one per attempt."""

    def __init__(self, code: int, message: str = "", also: tuple[tuple[int, str], ...] = ()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.also = also


class LegacySchema(Schema):
    class Meta:
        unknown = EXCLUDE  # clients send SessionID, Command, RememberMe… on every call

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        field_obj.data_key = (field_obj.data_key or field_name).lower()


class LegacyField(fields.Field):
    """Base of the legacy types. `lenient=True`: an unreadable value counts as not supplied
    (for commands whose spec documents no error codes, such as Campaigns.Get)."""

    def __init__(self, *, code: int | None = None, invalid_code: int | None = None,
                 lenient: bool = False, **kwargs):
        self.lenient = lenient
        metadata = dict(kwargs.pop("metadata", None) or {})
        metadata["code"] = code
        metadata["invalid_code"] = code if invalid_code is None else invalid_code
        messages = {"required": MISSING, "null": MISSING}
        messages.update(kwargs.pop("error_messages", None) or {})
        super().__init__(metadata=metadata, error_messages=messages, **kwargs)

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if not self.lenient:
            return super().deserialize(value, attr, data, **kwargs)
        try:
            return super().deserialize(value, attr, data, **kwargs)
        except ValidationError:
            return missing

    def _scalar_text(self, value: Any) -> str:
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, (int, float, str)):
            return str(value)
        raise ValidationError("must be a single value, not a list or an object")

    def _list_items(self, value: Any, max_items: int = MAX_LIST_ITEMS) -> list:
        """The entries of a list parameter: an array (or a PHP map of entries) or a comma-separated
        string. More than `max_items` entries is an invalid value, found before any entry is read:
        a list must never cost more than its cap (README "Request limits")."""
        if isinstance(value, dict):
            items = list(value.values())
        elif isinstance(value, list):
            items = value
        else:
            text = self._scalar_text(value)
            if text.count(",") >= max_items:
                raise ValidationError(f"has more than {max_items} entries")
            items = text.split(",")
        if len(items) > max_items:
            raise ValidationError(f"has more than {max_items} entries")
        return items


class Text(LegacyField):
    """A string; surrounding white space is trimmed and white space alone counts as absent."""

    def __init__(self, *, max_length: int | None = None, strip: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.strip = strip

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = self._scalar_text(value)
        if self.strip:
            text = text.strip()
        if not text:
            raise ValidationError(MISSING)
        if self.max_length and len(text) > self.max_length:
            raise ValidationError(f"must be at most {self.max_length} characters")
        return text


# Integer columns are 32-bit on PostgreSQL and MariaDB. A field without an explicit range gets
# theirs, so a big number earns the field's code instead of "integer out of range" (100005).
INT32_RANGE = (-(2**31), 2**31 - 1)


class Int(LegacyField):
    """A whole number (numeric strings accepted) within the field's range; 32-bit unless the field says otherwise."""

    def __init__(self, *, min_value: int | None = None, max_value: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.min_value = INT32_RANGE[0] if min_value is None else min_value
        self.max_value = INT32_RANGE[1] if max_value is None else max_value

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        if isinstance(value, bool):
            raise ValidationError("must be a number")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int):
            # The same bound as the 18-digit text rule: a JSON number must not reach the database
            # as an integer no column can hold.
            if abs(value) >= 10**18:
                raise ValidationError("must be a whole number")
            number = value
        else:
            text = self._scalar_text(value).strip()
            if not re.fullmatch(r"[+-]?\d{1,18}", text):
                raise ValidationError("must be a whole number")
            number = int(text)
        if self.min_value is not None and number < self.min_value:
            raise ValidationError(f"must be at least {self.min_value}")
        if self.max_value is not None and number > self.max_value:
            raise ValidationError(f"must be at most {self.max_value}")
        return number


from engine.validation import MAX_ID  # noqa: E402 - the one bound for row IDs


_ID_TEXT = re.compile(r"\d{1,18}")


class Id(Int):
    """A positive integer identifier (numeric strings accepted)."""

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class Bool(LegacyField):
    """true/1/yes/on in any case are true; anything else is false (legacy rule)."""

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (list, dict)):
            return False
        return str(value).strip().lower() in TRUTHY


def _enum_key(text: str) -> str:
    return re.sub(r"[\s_-]+", "", text.lower())


class Choice(LegacyField):
    """An enum value matched case-insensitively (and ignoring spaces), returned canonically."""

    def __init__(self, choices: tuple[str, ...], *, aliases: dict[str, str] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.lookup = {_enum_key(c): c for c in choices}
        for alias, canonical in (aliases or {}).items():
            self.lookup[_enum_key(alias)] = canonical

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = self._scalar_text(value).strip()
        try:
            return self.lookup[_enum_key(text)]
        except KeyError:
            raise ValidationError(f"'{text}' is not one of {', '.join(sorted(set(self.lookup.values())))}")


class IdList(LegacyField):
    """A comma-separated list of positive integer IDs (or a JSON/bracket array of them), repeats
    dropped, in the order given; at most `max_items` entries."""

    def __init__(self, *, max_items: int = MAX_LIST_ITEMS, **kwargs):
        super().__init__(**kwargs)
        self.max_items = max_items

    def _deserialize(self, value, attr, data, **kwargs) -> list[int]:
        ids: dict[int, None] = {}  # an ordered set: dropping repeats costs one lookup per entry
        for item in self._list_items(value, self.max_items):
            text = str(item).strip()
            if not text:
                continue
            if not _ID_TEXT.fullmatch(text) or not 1 <= int(text) <= MAX_ID:
                raise ValidationError(f"'{text[:40]}' is not a valid ID")
            ids[int(text)] = None
        if not ids:
            raise ValidationError(MISSING)
        return list(ids)


class JsonValue(LegacyField):
    """A JSON document sent as a string (the wire format), or already decoded in a JSON body."""

    def _deserialize(self, value, attr, data, **kwargs) -> Any:
        if isinstance(value, (dict, list)):
            return value
        try:
            return json.loads(self._scalar_text(value))
        except (ValueError, RecursionError):
            raise ValidationError("is not valid JSON")


class Raw(LegacyField):
    """Any value, handed to the command as sent (the command or the engine checks it)."""

    def _deserialize(self, value, attr, data, **kwargs) -> Any:
        return value


def load(schema: Schema, data: dict, code_order: list[int]) -> dict:
    """Load `data` with `schema`; on failure raise ParamError with the first code in table order, and the
    codes of the other missing or invalid parameters beside it (in table order, each code once)."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        by_key = {f.data_key: f for f in schema.fields.values()}
        found: list[tuple[int, str]] = []
        for key, messages in _flatten(exc.messages):
            field = by_key.get(key)
            if field is None or field.metadata.get("code") is None:
                continue
            is_missing = MISSING in messages
            code = field.metadata["code"] if is_missing else field.metadata["invalid_code"]
            detail = f"missing required parameter {key}" if is_missing else f"{key}: {'; '.join(messages)}"
            found.append((code, detail))
        if not found:
            raise
        rank = {code: i for i, code in enumerate(code_order)}
        found.sort(key=lambda item: rank.get(item[0], len(rank)))
        (code, detail), rest = found[0], found[1:]
        others: dict[int, str] = {}
        for other, other_detail in rest:
            if other != code:
                others.setdefault(other, other_detail)
        raise ParamError(code, detail, also=tuple(others.items())) from None


def _flatten(messages) -> list[tuple[str, list[str]]]:
    if not isinstance(messages, dict):
        return []
    out = []
    for key, value in messages.items():
        if isinstance(value, list):
            out.append((key, [str(v) for v in value]))
        elif isinstance(value, dict):
            out.append((key, [str(v) for v in _flatten_values(value)]))
    return out


def _flatten_values(value) -> list[str]:
    if isinstance(value, dict):
        return [m for v in value.values() for m in _flatten_values(v)]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]
