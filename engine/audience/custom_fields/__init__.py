"""Custom fields: their definitions (CustomField.*), created, changed and deleted by their owner.

How a submitted value is read and checked: engine/audience/custom_fields/rules.py; how a list's values are
stored: engine/audience/custom_fields/values.py.
"""
from __future__ import annotations

import json
import re
from types import SimpleNamespace

from sqlalchemy import and_, bindparam, delete, func, or_, select

from engine.accounts.auth import Actor
from engine.audience.custom_fields.presets import DATA_TYPES, preset
from engine.audience.custom_fields.rules import CHOICE_TYPES, MULTI_SEPARATOR, compile_rule, load_options, parse_years
from engine.audience.custom_fields.values import FieldValues
from engine.errors import (
    CustomFieldListLocked, CustomFieldNotFound, InvalidFieldOptions, InvalidFieldType, InvalidGlobalChange,
    InvalidMergeTagAlias, InvalidValidationRule, MergeTagAliasTaken, ReservedMergeTagAlias,
)
from engine.hot_sql import HotStatement
from engine.models import CustomField, SubscriberFieldValue, SubscriberList
from engine.models.subscribers import FIELD_TYPES
from engine.ownership import require_owned_ids

RESERVED_ALIASES = {a.lower() for a in ("SubscriberID", "EmailAddress", "SubscriptionDate", "SubscriptionIP",
                                        "OptInDate", "SubscriptionStatus", "BounceType")}
_ALIAS = re.compile(r"[A-Za-z0-9 ._-]+")


def applicable_to(list_row: SubscriberList):
    """The where-clause of the fields a list's subscribers carry: its own plus the owner's global ones."""
    return or_(CustomField.list_id == list_row.id,
               and_(CustomField.list_id.is_(None), CustomField.owner_user_id == list_row.owner_user_id))


_APPLICABLE_IDS = HotStatement(select(CustomField.id).where(applicable_to(
    SimpleNamespace(id=bindparam("list_id"), owner_user_id=bindparam("owner_id")))).order_by(CustomField.id))

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

    def applicable_ids(self, list_row: SubscriberList) -> list[int]:
        """The ids of `applicable` (`list_row`: anything with its id and owner_user_id), by a prebuilt
        statement through the driver (engine/hot_sql.py): Subscribers.Get's hot path."""
        self.s.flush()   # read past the ORM: what this unit changed must be sent first
        return [field_id for field_id, in _APPLICABLE_IDS.read(
            self.s.connection(), {"list_id": list_row.id, "owner_id": list_row.owner_user_id})]

    def values_for(self, list_row: SubscriberList, *, none_applicable: bool = False) -> FieldValues:
        """`none_applicable`: the caller read in this transaction that the list has no field (`applicable_to`)."""
        return FieldValues(self.s, list_row, [] if none_applicable else self.applicable(list_row))

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
