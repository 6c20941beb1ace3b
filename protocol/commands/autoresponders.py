"""Autoresponders (v5.9.4 autoresponders.md; protocol.md §3.10): Create, Get, Update, Duplicate,
AutoResponders.Get / AcrossLists.Get / Copy / Delete. SendTest, Activity.Get and Stats.Window.Get
are in autoresponder_reports.py.

Error shapes follow the page: where it names a code after the missing parameter
(`"ErrorCode": ["subscriberlistid"]`) the command answers that name (NAMED shape), its numbered codes
as numbers; Duplicate numbers every code. Codes the page lacks are Sendmill's additions (README,
"Error codes Sendmill adds"). Nothing here sends mail: see README "Autoresponders".
"""
from __future__ import annotations

from marshmallow import ValidationError, validates_schema

from engine.automation.errors import (
    AutoResponderNotFound, InvalidAutoResponderSegment, InvalidRepeat, InvalidTargetAutoResponder, InvalidTriggerType,
    InvalidTriggerValue, MissingTriggerTime, MissingTriggerValue,
)
from engine.automation.queries import ORDER_COLUMNS, AutoResponderQuery
from engine.automation.triggers import IMMEDIATELY, VALUE_REQUIRED
from engine.errors import EmailNotFound, InvalidValue, ListNotFound
from engine.models.automation import AUTORESPONDER_STATUSES, TRIGGER_TIME_TYPES, TRIGGER_TYPES
from engine.validation import MAX_ID
from protocol.command import LIST, NAMED, Command, Context
from protocol.params import Bool, Choice, Id, IdList, Int, LegacySchema, ParamError, Text
from protocol.views.autoresponders import autoresponder_row, listed_row, statistics

OK = {"ErrorText": ""}
# Wire parameter → the engine's setting name (engine/automation/service.py SETTINGS).
SETTINGS = {"SubscriberListID": "list_id", "AutoResponderName": "name", "AutoResponderTriggerType": "trigger_type",
            "AutoResponderTriggerValue": "trigger_value", "AutoResponderTriggerValue2": "trigger_value2",
            "EmailID": "email_id", "TriggerTimeType": "trigger_time_type", "TriggerTime": "trigger_time",
            "Repeat": "repeat", "Status": "status", "SegmentID": "segment_id"}
# Sendmill's additions, the same numbers on Create and Update.
ADDED = {
    13: "Invalid subscriber list id (not found or access denied)",
    14: "Invalid trigger value (not something this trigger type can use; see README)",
    15: "Invalid Repeat pattern (R{count}/P{interval}{H|D|W|M}, e.g. R5/P2D, or null)",
    16: "Invalid value (a name over 255 characters, a TriggerTime out of range, or a value too long)",
}
ADDED_RAISES = {ListNotFound: 13, InvalidTriggerValue: 14, InvalidRepeat: 15, InvalidValue: 16}


def _settings(p: dict) -> dict:
    return {SETTINGS[key]: value for key, value in p.items() if key in SETTINGS}


class Settings(LegacySchema):
    """The autoresponder's settings, every one optional; Create makes some required."""

    time_missing = 3
    AutoResponderTriggerValue2 = Text(max_length=255, code=16)
    Repeat = Text(max_length=32, code=15)
    Status = Choice(AUTORESPONDER_STATUSES, code=10)
    SegmentID = Int(min_value=0, max_value=MAX_ID, code=11)  # 0: the whole list

    @validates_schema
    def delay_given(self, data, **kwargs):
        if data.get("TriggerTimeType", IMMEDIATELY) != IMMEDIATELY and "TriggerTime" not in data:
            raise ParamError(self.time_missing, "TriggerTime is required when TriggerTimeType is not Immediately")


# --- AutoResponder.Create ----------------------------------------------------------------------
class CreateParams(Settings):
    time_missing = 5
    SubscriberListID = Id(required=True, code=1, invalid_code=13)
    AutoResponderName = Text(required=True, max_length=255, code=2, invalid_code=16)
    AutoResponderTriggerType = Choice(TRIGGER_TYPES, required=True, code=3, invalid_code=6)
    AutoResponderTriggerValue = Text(max_length=1000, code=4, invalid_code=14)
    EmailID = Id(required=True, code=8, invalid_code=9)
    TriggerTimeType = Choice(TRIGGER_TIME_TYPES, required=True, code=7)
    TriggerTime = Int(code=5, invalid_code=16)

    @validates_schema
    def value_given(self, data, **kwargs):
        if data["AutoResponderTriggerType"] in VALUE_REQUIRED and "AutoResponderTriggerValue" not in data:
            raise ParamError(4, f"{data['AutoResponderTriggerType']} needs an AutoResponderTriggerValue")


def create(ctx: Context, p: dict) -> dict:
    return {"AutoResponderID": ctx.uow.autoresponders.create(ctx.actor, _settings(p)).id}


AUTORESPONDER_CREATE = Command(
    name="AutoResponder.Create", run=create, params=CreateParams, error_shape=NAMED, success_extra=OK,
    error_keys={1: "subscriberlistid", 2: "autorespondername", 3: "autorespondertriggertype",
                4: "autorespondertriggervalue"},
    errors={
        1: "Missing required parameter subscriberlistid",
        2: "Missing required parameter autorespondername",
        3: "Missing required parameter autorespondertriggertype",
        4: "Missing required parameter autorespondertriggervalue (required for certain trigger types)",
        5: "Missing triggertime when triggertimetype is not Immediately",
        6: "Invalid autoresponder trigger type",
        7: "Invalid trigger time type",
        8: "Missing required parameter emailid",
        9: "Invalid email ID (email not found or does not belong to user)",
        10: "Invalid status value (must be Enabled or Disabled)",
        11: "Invalid segment id (segment does not belong to this list / user)",
        12: "Auto responder could not be created (persistence failed)",
        **ADDED,
    },
    raises={InvalidTriggerType: 6, MissingTriggerValue: 4, MissingTriggerTime: 5, EmailNotFound: 9,
            InvalidAutoResponderSegment: 11, **ADDED_RAISES},
)


# --- AutoResponder.Update ----------------------------------------------------------------------
class UpdateParams(Settings):
    AutoResponderID = Id(required=True, code=1, invalid_code=5)
    SubscriberListID = Id(code=13)
    AutoResponderName = Text(max_length=255, code=16)
    AutoResponderTriggerType = Choice(TRIGGER_TYPES, code=7)
    AutoResponderTriggerValue = Text(max_length=1000, code=14)
    EmailID = Id(code=9)
    TriggerTimeType = Choice(TRIGGER_TIME_TYPES, code=8)
    TriggerTime = Int(code=16)


def update(ctx: Context, p: dict) -> dict:
    ctx.uow.autoresponders.update(ctx.actor, p["AutoResponderID"], _settings(p))
    return {}


AUTORESPONDER_UPDATE = Command(
    name="AutoResponder.Update", run=update, params=UpdateParams, error_shape=NAMED, success_extra=OK,
    error_keys={1: "autoresponderid", 2: "autorespondertriggervalue", 3: "triggertime"},
    errors={
        1: "Missing required parameter autoresponderid",
        2: "Missing auto responder trigger value (required for certain trigger types)",
        3: "Missing auto responder trigger time (required when TriggerTimeType is not Immediately)",
        5: "Invalid auto responder id (not found or access denied)",
        7: "Invalid auto responder trigger type",
        8: "Invalid trigger time type",
        9: "Invalid email ID (email not found or does not belong to user)",
        10: "Invalid status value (must be Enabled or Disabled)",
        11: "Invalid segment id (segment does not belong to this list / user)",
        **ADDED,
    },
    raises={AutoResponderNotFound: 5, InvalidTriggerType: 7, MissingTriggerValue: 2, MissingTriggerTime: 3,
            EmailNotFound: 9, InvalidAutoResponderSegment: 11, **ADDED_RAISES},
)


# --- AutoResponder.Get -------------------------------------------------------------------------
class GetParams(LegacySchema):
    AutoResponderID = Id(required=True, code=1, invalid_code=2)
    RetrieveStatistics = Bool()


def get(ctx: Context, p: dict) -> dict:
    responder = ctx.uow.autoresponders.get(ctx.actor, p["AutoResponderID"])
    row = autoresponder_row(responder)
    if p.get("RetrieveStatistics"):
        row.update(statistics(responder))
    return {"AutoResponder": row}


AUTORESPONDER_GET = Command(
    name="AutoResponder.Get", run=get, params=GetParams, error_shape=NAMED, success_extra=OK,
    error_keys={1: "autoresponderid"},
    errors={1: "Missing required parameter autoresponderid",
            2: "Auto responder not found or not owned by the authenticated user"},
    raises={AutoResponderNotFound: 2},
)


# --- AutoResponders.Get / AutoResponders.AcrossLists.Get ---------------------------------------
class Filter(Choice):
    """An exact-match filter value: canonical when known, else kept as given, so that it matches
    nothing (a misspelt filter never widens the answer to every autoresponder)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError:
            return self._scalar_text(value).strip()


class ListingParams(LegacySchema):
    RecordsPerRequest = Int(min_value=0, lenient=True)  # 0: every row
    RecordsFrom = Int(min_value=0, lenient=True)
    SearchKeyword = Text(max_length=255, lenient=True)
    TriggerType = Filter(TRIGGER_TYPES, lenient=True)
    TriggerValue = Text(strip=False, max_length=1000, lenient=True)
    Status = Filter(AUTORESPONDER_STATUSES, lenient=True)
    OrderField = Choice(tuple(ORDER_COLUMNS), lenient=True)  # anything else: by name, as documented
    OrderType = Choice(("ASC", "DESC"), lenient=True)


class ListParams(ListingParams):
    SubscriberListID = Id(required=True, code=1)


class AcrossListsParams(ListingParams):
    SubscriberListID = Id(lenient=True)


def _listing(ctx: Context, p: dict, *, list_required: bool) -> dict:
    query = AutoResponderQuery(
        list_id=p.get("SubscriberListID"), keyword=p.get("SearchKeyword"), trigger_type=p.get("TriggerType"),
        trigger_value=p.get("TriggerValue"), status=p.get("Status"), order_field=p.get("OrderField"),
        descending=p.get("OrderType") == "DESC", offset=p.get("RecordsFrom", 0), limit=p.get("RecordsPerRequest", 0))
    rows, total = ctx.uow.autoresponder_queries.search(ctx.actor, query, list_required=list_required)
    return {"TotalResponderCount": total, "AutoResponders": [listed_row(r) for r in rows]}


AUTORESPONDERS_GET = Command(
    name="AutoResponders.Get", run=lambda ctx, p: _listing(ctx, p, list_required=True), params=ListParams,
    error_shape=NAMED, success_extra=OK, error_keys={1: "subscriberlistid"},
    errors={1: "Missing required parameter subscriberlistid"},
    raises={ListNotFound: 1},  # a list that is not the caller's answers like a missing one
)
AUTORESPONDERS_ACROSS_LISTS_GET = Command(
    name="AutoResponders.AcrossLists.Get", run=lambda ctx, p: _listing(ctx, p, list_required=False),
    params=AcrossListsParams, permission="AutoResponders.Get", error_shape=LIST, success_extra=OK,
)


# --- AutoResponders.Delete ---------------------------------------------------------------------
class DeleteParams(LegacySchema):
    AutoResponders = IdList(required=True, code=1)


def delete(ctx: Context, p: dict) -> dict:
    ctx.uow.autoresponders.delete(ctx.actor, p["AutoResponders"])
    return {}


AUTORESPONDERS_DELETE = Command(
    name="AutoResponders.Delete", run=delete, params=DeleteParams, error_shape=NAMED, success_extra=OK,
    error_keys={1: "autoresponders"}, errors={1: "Auto responder ids are missing"},
    raises={AutoResponderNotFound: 1},  # all or nothing: one foreign ID refuses the whole call
)


# --- AutoResponders.Copy -----------------------------------------------------------------------
class CopyParams(LegacySchema):
    SourceListID = Id(required=True, code=1, invalid_code=4)
    TargetListID = Id(required=True, code=2, invalid_code=4)
    TargetAutoResponderID = Id(code=5)
    Prefix = Text(strip=False, max_length=255, code=6)


def copy(ctx: Context, p: dict) -> dict:
    copies = ctx.uow.autoresponders.copy_list(ctx.actor, p["SourceListID"], p["TargetListID"],
                                              responder_id=p.get("TargetAutoResponderID"), prefix=p.get("Prefix", ""))
    return {"AutoResponderIDs": [c.id for c in copies]}


AUTORESPONDERS_COPY = Command(
    name="AutoResponders.Copy", run=copy, params=CopyParams, permission="AutoResponder.Create", error_shape=NAMED,
    success_extra=OK, error_keys={1: "sourcelistid", 2: "targetlistid"},
    errors={1: "Missing source subscriber list id", 2: "Missing target subscriber list id",
            4: "Invalid source or target subscriber list id (not found or access denied)",
            # Sendmill's additions:
            5: "Invalid TargetAutoResponderID (not an autoresponder of the source list)",
            6: "Invalid Prefix (at most 255 characters)"},
    raises={ListNotFound: 4, InvalidTargetAutoResponder: 5},
)


# --- AutoResponder.Duplicate -------------------------------------------------------------------
class DuplicateParams(LegacySchema):
    AutoResponderID = Id(required=True, code=1, invalid_code=2)
    NamePrefix = Text(strip=False, max_length=255, code=6)
    TargetListID = Id(code=3)


def duplicate(ctx: Context, p: dict) -> dict:
    copy_ = ctx.uow.autoresponders.duplicate(ctx.actor, p["AutoResponderID"], prefix=p.get("NamePrefix"),
                                             target_list_id=p.get("TargetListID"))
    return {"AutoResponderID": copy_.id, "RelEmailID": copy_.email_id or 0}


AUTORESPONDER_DUPLICATE = Command(
    name="AutoResponder.Duplicate", run=duplicate, params=DuplicateParams, permission="AutoResponder.Create",
    error_shape=LIST, success_extra=OK,
    errors={1: "Missing required parameter autoresponderid",
            2: "Invalid auto responder id (source not found or access denied)",
            3: "Invalid target list id (not owned by user)",
            4: "Failed to clone auto responder email", 5: "Failed to create duplicated auto responder",
            6: "Invalid NamePrefix (at most 255 characters)"},  # 6: Sendmill's addition
    raises={AutoResponderNotFound: 2, ListNotFound: 3},
)

COMMANDS = (AUTORESPONDER_CREATE, AUTORESPONDER_DUPLICATE, AUTORESPONDER_GET, AUTORESPONDER_UPDATE,
            AUTORESPONDERS_ACROSS_LISTS_GET, AUTORESPONDERS_COPY, AUTORESPONDERS_DELETE, AUTORESPONDERS_GET)
