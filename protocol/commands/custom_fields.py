"""Custom fields (v5.6.x/api-reference/custom-fields.md, v5.7.3/api-reference/customfields.md; protocol.md §3.5).

`CustomFields.Get` is also reached as `Customfields.Get` (Roempro): command names are matched
case-insensitively. Its error shape is the documented scalar; CustomFields.Delete answers the
keyed {"customfields": 1}; the others answer lists.
"""
from __future__ import annotations

from marshmallow import ValidationError, validates_schema

from engine.audience.custom_fields.presets import DATA_TYPES
from engine.errors import (
    CustomFieldListLocked, CustomFieldNotFound, InvalidFieldOptions, InvalidFieldType, InvalidGlobalChange,
    InvalidMergeTagAlias, InvalidPreset, InvalidValidationRule, InvalidYears, ListNotFound, MergeTagAliasTaken,
    ReservedMergeTagAlias,
)
from engine.models.subscribers import FIELD_TYPES, VALIDATION_METHODS, VISIBILITIES
from protocol.command import KEYED, SCALAR, Command, Context
from protocol.commands.lists import Flag
from protocol.params import Bool, Choice, Id, IdList, LegacyField, LegacySchema, ParamError, Text
from protocol.views.lists import custom_field_row

OK = {"ErrorText": ""}
FIELD_TYPE_ALIASES = {"Hidden": "Hidden field", "Date": "Date field", "Time": "Time field",
                      "Dropdown": "Drop down", "Checkbox": "Checkboxes", "Radio": "Multiple choice",
                      "Textarea": "Paragraph text", "Text": "Single line"}


class Strings(LegacyField):
    """OptionLabel[] / OptionValue[] / OptionSelected[]: a list (or one value) of strings."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        items = list(value.values()) if isinstance(value, dict) else value
        if not isinstance(items, list):
            items = [items]
        if any(isinstance(i, (list, dict)) for i in items):
            raise ValidationError("must be a list of texts")
        return [str(i) for i in items]


class DefinitionParams(LegacySchema):
    """What CustomField.Create and CustomField.Update share."""

    FieldName = Text(max_length=255, code=2)
    FieldType = Choice(FIELD_TYPES, aliases=FIELD_TYPE_ALIASES, code=3, invalid_code=7)
    DefaultValue = Text(max_length=1000, strip=False, code=16)
    FieldDefaultValue = Text(max_length=1000, strip=False, code=16)  # the Oempro 4 name
    ValidationMethod = Choice(VALIDATION_METHODS, aliases={"None": "Disabled"}, code=8)
    ValidationRule = Text(max_length=255, strip=False, code=4)
    MergeTagAlias = Text(max_length=255, code=1001)
    OptionLabel = Strings(code=16)
    OptionValue = Strings(code=16)
    OptionSelected = Strings(code=16)
    IsRequired = Flag(code=10)
    IsUnique = Flag(code=11)
    Visibility = Choice(VISIBILITIES, aliases={"UserOnly": "User Only"}, code=9)
    IsGlobal = Flag(code=12)
    Years = Text(max_length=16, code=17)

    @validates_schema
    def rule_for_custom(self, data, **kwargs):
        if data.get("ValidationMethod") == "Custom" and not str(data.get("ValidationRule", "")).strip():
            raise ParamError(4, "ValidationRule is required when ValidationMethod is Custom")


def _options(p: dict) -> list[dict] | None:
    """The option list from OptionLabel[] / OptionValue[] / OptionSelected[]; None when none is given.

    OptionSelected entries name an option by value or by 0-based position."""
    labels, values = p.get("OptionLabel"), p.get("OptionValue")
    if labels is None and values is None:
        return None
    labels, values = labels or values, values or labels
    if len(labels) != len(values):
        raise ParamError(16, "OptionLabel and OptionValue must have the same number of entries")
    selected = [s.strip() for s in p.get("OptionSelected", [])]
    return [{"label": label, "value": value,
             "selected": value.strip() in selected or str(i) in selected}
            for i, (label, value) in enumerate(zip(labels, values))]


SPEC_KEYS = {
    "FieldName": "name", "FieldType": "field_type", "ValidationMethod": "validation_method",
    "ValidationRule": "validation_rule", "MergeTagAlias": "merge_tag_alias", "IsRequired": "is_required",
    "IsUnique": "is_unique", "Visibility": "visibility", "IsGlobal": "is_global", "Years": "years",
    "FieldDefaultValue": "default_value", "DefaultValue": "default_value",
}


def _spec(p: dict) -> dict:
    spec = {SPEC_KEYS[k]: v for k, v in p.items() if k in SPEC_KEYS}
    options = _options(p)
    if options is not None:
        spec["options"] = options
    return spec


DEFINITION_RAISES = {
    InvalidFieldType: 7, InvalidValidationRule: 4, InvalidFieldOptions: 16, InvalidYears: 17,
    InvalidGlobalChange: 12, MergeTagAliasTaken: 1000, InvalidMergeTagAlias: 1001, ReservedMergeTagAlias: 1002,
}


# --- CustomField.Create ------------------------------------------------------------------------
class CreateParams(DefinitionParams):
    SubscriberListID = Id(required=True, code=1, invalid_code=8)
    ValidationMethod = Choice(VALIDATION_METHODS, aliases={"None": "Disabled"}, code=13)
    PresetName = Text(max_length=64, code=5)
    DataType = Choice(tuple(DATA_TYPES), code=7)

    @validates_schema
    def name_and_type(self, data, **kwargs):
        if "PresetName" in data or "DataType" in data:
            if "DataType" in data and "FieldName" not in data:
                raise ParamError(2, "FieldName is required with DataType")
            return
        if "FieldName" not in data:
            raise ParamError(2, "missing required parameter fieldname")
        if "FieldType" not in data:
            raise ParamError(3, "missing required parameter fieldtype")


def create(ctx: Context, p: dict) -> dict:
    spec = _spec(p)
    spec.update(preset=p.get("PresetName"), data_type=p.get("DataType"))
    return {"CustomFieldID": ctx.uow.custom_fields.create(ctx.actor, p["SubscriberListID"], spec).id}


CUSTOMFIELD_CREATE = Command(
    name="CustomField.Create", run=create, params=CreateParams, success_extra=OK,
    errors={
        1: "Missing subscriber list id",
        2: "Missing field name",
        3: "Missing field type",
        4: "Missing validation rule",
        5: "Invalid preset name",
        7: "Invalid data type",
        8: "Invalid subscriber list id",
        # Sendmill's additions (README, "Error codes"): 9–12 mean what they mean for CustomField.Update.
        9: "Invalid visibility value",
        10: "Invalid IsRequired value",
        11: "Invalid IsUnique value",
        12: "Invalid IsGlobal value",
        13: "Invalid validation method",
        16: "Invalid options or default value",
        17: "Invalid Years range (YYYY-YYYY)",
        1000: "Merge tag alias code has been set for another custom field",
        1001: "Merge tag alias code includes invalid characters",
        1002: "Merge tag alias is a reserved name",
    },
    raises={ListNotFound: 8, InvalidPreset: 5, **DEFINITION_RAISES},
)


# --- CustomField.Update ------------------------------------------------------------------------
class UpdateParams(DefinitionParams):
    CustomFieldID = Id(required=True, code=1, invalid_code=6)
    FieldName = Text(required=True, max_length=255, code=2)
    FieldType = Choice(FIELD_TYPES, aliases=FIELD_TYPE_ALIASES, required=True, code=3, invalid_code=7)
    SubscriberListID = Id(code=13)


def update(ctx: Context, p: dict) -> dict:
    spec = _spec(p)
    if "SubscriberListID" in p:
        spec["list_id"] = p["SubscriberListID"]
    ctx.uow.custom_fields.update(ctx.actor, p["CustomFieldID"], spec)
    return {}


CUSTOMFIELD_UPDATE = Command(
    name="CustomField.Update", run=update, params=UpdateParams, success_extra=OK,
    errors={
        1: "Missing custom field id",
        2: "Missing field name",
        3: "Missing field type",
        4: "Missing validation rule",
        6: "Invalid custom field id",
        7: "Invalid field type",
        8: "Invalid validation method",
        9: "Invalid visibility value",
        10: "Invalid IsRequired value",
        11: "Invalid IsUnique value",
        12: "Invalid IsGlobal value",
        13: "Invalid subscriber list id",
        14: "A custom field cannot be moved to another list",
        # Sendmill's additions (README, "Error codes").
        16: "Invalid options or default value",
        17: "Invalid Years range (YYYY-YYYY)",
        1000: "Merge tag alias code has been set for another custom field",
        1001: "Merge tag alias code includes invalid characters",
        1002: "Merge tag alias is a reserved name",
    },
    raises={CustomFieldNotFound: 6, ListNotFound: 13, CustomFieldListLocked: 14, **DEFINITION_RAISES},
)


# --- CustomFields.Get --------------------------------------------------------------------------
class GetParams(LegacySchema):
    SubscriberListID = Id(required=True, code=1, invalid_code=2)
    ReturnGlobalCustomFields = Bool()
    OrderField = Text(lenient=True)
    OrderType = Choice(("ASC", "DESC"), lenient=True)


def list_fields(ctx: Context, p: dict) -> dict:
    fields = ctx.uow.custom_fields.for_list(
        ctx.actor, p["SubscriberListID"], include_global=p.get("ReturnGlobalCustomFields", False),
        order_field=p.get("OrderField"), descending=p.get("OrderType") == "DESC")
    # Both count names: the v5.x docs say TotalFieldCount, the Oempro 4 docblock TotalCustomFields.
    return {"TotalFieldCount": len(fields), "TotalCustomFields": len(fields),
            "CustomFields": [custom_field_row(f) for f in fields]}


CUSTOMFIELDS_GET = Command(
    name="CustomFields.Get", run=list_fields, params=GetParams, error_shape=SCALAR, success_extra=OK,
    errors={1: "Missing subscriber list id", 2: "Invalid subscriber list id"},
    raises={ListNotFound: 2},
)


# --- CustomFields.Delete -----------------------------------------------------------------------
class DeleteParams(LegacySchema):
    CustomFields = IdList(required=True, code=1)


def delete(ctx: Context, p: dict) -> dict:
    ctx.uow.custom_fields.delete(ctx.actor, p["CustomFields"])
    return {}


CUSTOMFIELDS_DELETE = Command(
    name="CustomFields.Delete", run=delete, params=DeleteParams, error_shape=KEYED,
    error_keys={1: "customfields"}, success_extra=OK,
    errors={1: "Custom field ids are missing"},
    raises={CustomFieldNotFound: 1},
)

COMMANDS = (CUSTOMFIELD_CREATE, CUSTOMFIELD_UPDATE, CUSTOMFIELDS_DELETE, CUSTOMFIELDS_GET)
