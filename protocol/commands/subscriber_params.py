"""Parameter types, custom-field error reporting and the success extra shared by the subscriber
commands (public_subscription.py, subscribers.py, subscriber_import.py)."""
from __future__ import annotations

import ipaddress
import re
from contextlib import contextmanager

from marshmallow import ValidationError

from engine.audience.custom_fields.rules import iso_datetime
from engine.errors import CustomFieldValueError, UnknownCustomFields
from engine.validation import normalize_email
from protocol.params import LegacyField, ParamError, Text

OK = {"ErrorText": ""}
# What field_values() reads beside the declared parameters, as the command reference lists it.
CUSTOM_FIELD_PARAMS = {"CustomField<ID>": "the value of custom field <ID>; also sent as Fields[CustomField<ID>] "
                                          "or Fields[<ID>]"}
_FIELD_KEY = re.compile(r"customfield(\d{1,18})")
_NESTED_FIELD_KEY = re.compile(r"(?:customfield)?(\d{1,18})")


class IpText(Text):
    """The subscriber's IP address. Proxied PHP forms send X-Forwarded-For lists ("a, b"): the
    first valid address is kept; anything else is stored as given (it is only a record)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        for part in text.split(","):
            try:
                return str(ipaddress.ip_address(part.strip()))
            except ValueError:
                continue
        return text[:64]


class EmailText(Text):
    """An email address of at most 255 characters."""

    def __init__(self, **kwargs):
        super().__init__(max_length=255, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if normalize_email(text) is None:
            raise ValidationError(f"'{text}' is not a valid email address")
        return text


class RulesJsonText(Text):
    """RulesJSON criteria: a JSON document sent as a string (v5.9.3: a nested array or object in a
    JSON body is refused, not guessed at). Parsed and checked by the engine's audience compiler."""

    def __init__(self, **kwargs):
        super().__init__(strip=False, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if not isinstance(value, str):
            raise ValidationError("send RulesJSON as a JSON-encoded string, not as a nested array or object")
        return super()._deserialize(value, attr, data, **kwargs)


def rules_operator(data: dict, code: int) -> str:
    """The RulesOperator that must accompany RulesJSON: "and" or "or"; anything else is `code`
    (no silent default: a wrong connector would select more subscribers than meant)."""
    operator = data.get("RulesOperator", "").strip().lower()
    if operator not in ("and", "or"):
        raise ParamError(code, 'RulesOperator must be "and" or "or" when RulesJSON is given')
    return operator


class LegacyDateTime(LegacyField):
    """"YYYY-MM-DD" or "YYYY-MM-DD HH:MM[:SS]" (UTC)."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = iso_datetime(self._scalar_text(value).strip())
        if moment is None:
            raise ValidationError("must be YYYY-MM-DD or YYYY-MM-DD HH:MM:SS")
        return moment


def field_values(params: dict) -> dict[int, object]:
    """Custom-field values from top-level `CustomField<ID>` keys and from `Fields[CustomField<ID>]`
    (or `Fields[<ID>]`); the request parser has already lower-cased every key at every depth."""
    values = {int(m.group(1)): v for k, v in params.items() if (m := _FIELD_KEY.fullmatch(k))}
    nested = params.get("fields")
    if isinstance(nested, dict):
        values.update({int(m.group(1)): v for k, v in nested.items()
                       if (m := _NESTED_FIELD_KEY.fullmatch(str(k).lower()))})
    return values


class FieldParamError(ParamError):
    """A custom-field failure with the keys legacy clients read beside the code."""

    def __init__(self, code: int, message: str, extra: dict):
        super().__init__(code, message)
        self.extra = extra


@contextmanager
def field_errors(codes: dict[type, int], *, plural: bool):
    """Report custom-field failures with ErrorCustomFieldID/Title/Description (Subscribe) or the
    comma-joined ErrorCustomFieldIDs/Titles/Descriptions (Update) that cubica's client prints."""
    try:
        yield
    except CustomFieldValueError as exc:
        code = next(c for cls, c in codes.items() if isinstance(exc, cls))
        if plural:
            extra = {"ErrorCustomFieldIDs": str(exc.field_id), "ErrorCustomFieldTitles": exc.field_name,
                     "ErrorCustomFieldDescriptions": exc.reason}
        else:
            extra = {"ErrorCustomFieldID": exc.field_id, "ErrorCustomFieldTitle": exc.field_name,
                     "ErrorCustomFieldDescription": exc.reason}
        raise FieldParamError(code, exc.message, extra) from None
    except UnknownCustomFields as exc:
        raise FieldParamError(codes[UnknownCustomFields], exc.message,
                              {"ErrorCustomFieldIDs": ",".join(str(i) for i in exc.field_ids)}) from None
