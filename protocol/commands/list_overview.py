"""Lists.Overview (v5.9.4 lists.md): every list of the caller, with its custom fields, segments and
subscriber tags when asked, in one answer. The page documents no code but the global ones."""
from __future__ import annotations

import json

from protocol.command import SCALAR, Command, Context
from protocol.params import Bool, Choice, LegacySchema, Text

CHOICE_TYPES = {"Drop down": "enum", "Multiple choice": "enum", "Checkboxes": "set"}


class OverviewParams(LegacySchema):
    IncludeCustomFields = Bool()
    IncludeSegments = Bool()
    IncludeSubscriberTags = Bool()
    Archived = Choice(("active", "archived", "all"), lenient=True)
    Search = Text(max_length=255, lenient=True)
    OrderField = Choice(("ListID", "Name", "CreatedOn"), lenient=True)
    OrderType = Choice(("ASC", "DESC"), lenient=True)


def _options(field) -> list[dict]:
    try:
        options = json.loads(field.options) if field.options else []
    except ValueError:
        options = []
    return [{"label": o.get("label", ""), "value": o.get("value", ""),
             "is_selected": "true" if o.get("selected") else "false"} for o in options if isinstance(o, dict)]


def _field(f) -> dict:
    options = _options(f)
    kind = CHOICE_TYPES.get(f.field_type)
    return {"CustomFieldID": f.id, "RelListID": f.list_id or 0, "FieldName": f.name, "FieldType": f.field_type,
            "ValidationMethod": f.validation_method, "MergeTagAlias": f.merge_tag_alias, "Options": options,
            "SQLDataType": kind, "SQLDataTypeValues": [o["label"] for o in options] if kind else None}


def lists_overview(ctx: Context, p: dict) -> dict:
    rows = ctx.uow.list_analytics.overview(ctx.actor, search=p.get("Search"), order_field=p.get("OrderField"),
                                           descending=p.get("OrderType") == "DESC",
                                           archived=p.get("Archived", "active"))
    lists = []
    for r in rows:
        row = {"ListID": r.list_row.id, "Name": r.list_row.name}
        if p.get("IncludeCustomFields"):
            row["CustomFields"] = [_field(f) for f in r.custom_fields]
        if p.get("IncludeSegments"):
            row["Segments"] = [{"SegmentID": s.id, "RelListID": s.list_id, "SegmentName": s.name,
                                "SegmentOperator": s.rules_operator} for s in r.segments]
        if p.get("IncludeSubscriberTags"):
            row["SubscriberTags"] = [{"TagID": t.id, "Tag": t.name} for t in r.tags]
        lists.append(row)
    return {"TotalListCount": len(lists), "Lists": lists}


LISTS_OVERVIEW = Command(name="Lists.Overview", run=lists_overview, params=OverviewParams, permission="Lists.Get",
                         error_shape=SCALAR, success_extra={"ErrorText": ""}, read_only=True)

COMMANDS = (LISTS_OVERVIEW,)
