"""Segments (api-reference/segments.md, v5.9.4/api-reference/segments.md; protocol.md §3.6).

Errors are lists (protocol.md Part 1 §1), Segments.Delete keyed `{"segments": 1}`. The legacy
tables have no code for criteria the audience parser rejects; Sendmill answers 7 for them on
Segment.Create and Segment.Update (README, "Error codes Sendmill adds").
"""
from __future__ import annotations

from marshmallow import ValidationError

from engine.errors import InvalidRules, ListNotFound, SegmentNotFound
from engine.audience.segments import ORDER_FIELDS, RulesInput
from protocol.command import KEYED, Command, Context
from protocol.params import Bool, Choice, Id, IdList, LegacyField, LegacySchema, Raw, Text
from protocol.views.segments import segment_row

OK = {"ErrorText": ""}
CONNECTORS = ("and", "or")
INVALID_RULES = "Invalid RulesJson syntax. It must be a properly formatted JSON payload"


class RulesJsonText(LegacyField):
    """RulesJson as v5.9.3 requires it: a JSON-encoded string, never a decoded array or object."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if not isinstance(value, str):
            raise ValidationError("RulesJson must be sent as a JSON-encoded string, not as an array or object")
        return value


class RuleParams(LegacySchema):
    RulesJson = RulesJsonText(code=7)  # also RulesJSON: names are case-insensitive
    SegmentRuleField = Raw()
    SegmentRuleOperator = Raw()
    SegmentRuleFilter = Raw()


def _criteria(p: dict) -> RulesInput:
    return RulesInput(p.get("RulesJson"), p.get("SegmentRuleField"), p.get("SegmentRuleOperator"),
                      p.get("SegmentRuleFilter"))


# --- Segment.Create ----------------------------------------------------------------------------
class CreateParams(RuleParams):
    SubscriberListID = Id(required=True, code=1, invalid_code=4)
    SegmentName = Text(required=True, max_length=255, code=2)
    SegmentOperator = Choice(CONNECTORS, required=True, code=3)


def create(ctx: Context, p: dict) -> dict:
    segment = ctx.uow.segments.create(ctx.actor, p["SubscriberListID"], p["SegmentName"], p["SegmentOperator"],
                                      _criteria(p))
    return {"SegmentID": segment.id}


SEGMENT_CREATE = Command(
    name="Segment.Create", run=create, params=CreateParams, success_extra=OK,
    errors={
        1: "Missing subscriber list id",
        2: "Missing segment name",
        3: "Missing segment operator",
        4: "The target list does not exist or does not belong to the user",
        7: INVALID_RULES,  # Sendmill's addition
    },
    raises={ListNotFound: 4, InvalidRules: 7},
)


# --- Segment.Update ----------------------------------------------------------------------------
class UpdateParams(RuleParams):
    SegmentID = Id(required=True, code=1, invalid_code=4)
    SegmentName = Text(required=True, max_length=255, code=2)
    # v5.9.4: a non-numeric or zero list ID is silently ignored; a foreign one is error 6.
    SubscriberListID = Id(lenient=True)
    SegmentOperator = Choice(CONNECTORS, code=5)


def update(ctx: Context, p: dict) -> dict:
    ctx.uow.segments.update(ctx.actor, p["SegmentID"], p["SegmentName"], list_id=p.get("SubscriberListID"),
                            operator=p.get("SegmentOperator"), criteria=_criteria(p))
    return {}


SEGMENT_UPDATE = Command(
    name="Segment.Update", run=update, params=UpdateParams, success_extra=OK,
    errors={
        1: "Missing segment id",
        2: "Missing segment name",
        4: "Invalid segment id",
        5: "Invalid segment operator",
        6: "Invalid subscriber list id",
        7: INVALID_RULES,  # Sendmill's addition
    },
    raises={SegmentNotFound: 4, ListNotFound: 6, InvalidRules: 7},
)


# --- Segments.Get ------------------------------------------------------------------------------
class GetParams(LegacySchema):
    SubscriberListID = Id(required=True, code=1)
    SegmentID = Id(lenient=True)
    OrderField = Choice(ORDER_FIELDS, lenient=True)  # anything else: the default, silently
    OrderType = Choice(("ASC", "DESC"), lenient=True)
    IncludeTotals = Bool()


def list_segments(ctx: Context, p: dict) -> dict:
    include_totals = p.get("IncludeTotals", True)
    found = ctx.uow.segments.search(
        ctx.actor, p["SubscriberListID"], segment_id=p.get("SegmentID"), order_field=p.get("OrderField"),
        descending=p.get("OrderType", "DESC") == "DESC", include_totals=include_totals)
    return {"TotalSegmentCount": len(found), "Segments": [segment_row(r.segment, r.subscriber_count) for r in found]}


SEGMENTS_GET = Command(
    name="Segments.Get", run=list_segments, params=GetParams, success_extra=OK,
    errors={1: "Missing subscriber list id"},
    # A list that is not the caller's is reported like a missing one.
    raises={ListNotFound: 1},
)


# --- Segments.Delete ---------------------------------------------------------------------------
class DeleteParams(LegacySchema):
    Segments = IdList(required=True, code=1)


def delete(ctx: Context, p: dict) -> dict:
    ctx.uow.segments.delete(ctx.actor, p["Segments"])
    return {}


SEGMENTS_DELETE = Command(
    name="Segments.Delete", run=delete, params=DeleteParams, success_extra=OK,
    error_shape=KEYED, error_keys={1: "segments"},
    errors={1: "Segment ids are missing"},
    raises={SegmentNotFound: 1},
)

COMMANDS = (SEGMENT_CREATE, SEGMENT_UPDATE, SEGMENTS_DELETE, SEGMENTS_GET)
