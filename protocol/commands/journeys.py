"""Journeys (v5.9.4 journeys.md): Create, Get, List, Update, Delete, Enable, Disable, Clone and their bulk
forms Journeys.Delete / Enable / Disable / Clone. The action tree is journey_actions.py's.

Every page documents `Campaign.Create` as the permission (Journeys.Delete: `Campaign.Delete`). Errors carry
the legacy list shape and the /api/v1 `Errors` array (V1); the same commands answer on /api/v1 paths
(protocol/v1.py). Codes the pages lack are Sendmill's additions (README "Journeys").
"""
from __future__ import annotations

from marshmallow import validates_schema

from engine.automation.journeys.overview import days_revenue
from engine.errors import (
    InvalidJourneyCriteria, InvalidJourneyTrigger, InvalidTriggerField, InvalidTriggerJourney,
    InvalidTriggerParameters, InvalidTriggerTag, JourneyAlreadyDisabled, JourneyAlreadyEnabled, JourneyNotFound,
    MissingPullList, PullListNotFound, SelfCompletionTrigger, TriggerEmailNotFound, TriggerFieldNotFound,
    TriggerJourneyNotFound, TriggerListNotFound, TriggerTagNotFound,
)
from protocol.command import V1, Command, Context
from protocol.commands.journey_params import SETTINGS_ADDED, JourneySettings, StrictDate, settings_of, window
from protocol.params import Bool, Id, IdList, LegacySchema, ParamError, Text
from protocol.views.journeys import actions_tree, journey_row

PERMISSION = "Campaign.Create"
SETTINGS_RAISES = {
    InvalidJourneyTrigger: 3, TriggerListNotFound: 6, TriggerEmailNotFound: 9, InvalidTriggerTag: 10,
    TriggerTagNotFound: 11, InvalidTriggerField: 12, TriggerFieldNotFound: 13, InvalidTriggerJourney: 16,
    TriggerJourneyNotFound: 17, MissingPullList: 20, PullListNotFound: 21, InvalidTriggerParameters: 23,
    InvalidJourneyCriteria: 24,
}
TRIGGER_ERRORS = {
    4: "Missing Trigger_ListID parameter", 5: "Invalid Trigger_ListID parameter",
    6: "Trigger_ListID matching record not found", 7: "Missing Trigger_EmailID parameter",
    8: "Invalid Trigger_EmailID parameter", 9: "Trigger_EmailID matching record not found",
    10: "Invalid Trigger_Value parameter", 11: "Trigger_Value matching record not found",
    12: "Invalid Trigger_Value parameter (CustomFieldValueChanged)",
    13: "Trigger_Value matching record not found (CustomFieldValueChanged)",
    14: "Invalid Trigger_Value parameter (RevenueHit)", 15: "Missing Trigger_Value parameter (RevenueHit)",
    16: "Invalid Trigger_Value parameter (JourneyCompleted)",
    17: "Trigger_Value matching record not found (JourneyCompleted)",
    18: "Invalid rate_limit_per_hour parameter", 19: "Invalid rate_limit_per_day parameter",
    20: "Missing or invalid Trigger_ListID parameter for ScheduledPull trigger",
    21: "Trigger_ListID matching record not found (ScheduledPull)",
}


# --- Journey.Create ----------------------------------------------------------------------------
class CreateParams(JourneySettings):
    Name = Text(required=True, max_length=255, code=1, invalid_code=25)


def create(ctx: Context, p: dict) -> dict:
    journey = ctx.uow.journeys.create(ctx.actor, settings_of(p))
    return {"JourneyID": journey.id, "Journey": journey_row(journey)}


JOURNEY_CREATE = Command(
    name="Journey.Create", run=create, params=CreateParams, permission=PERMISSION, error_shape=V1,
    errors={1: "Missing Name parameter", 3: "Invalid trigger", **TRIGGER_ERRORS, **SETTINGS_ADDED},
    raises=SETTINGS_RAISES,
)


# --- Journey.Update ----------------------------------------------------------------------------
class UpdateParams(JourneySettings):
    JourneyID = Id(required=True, code=1, invalid_code=2)
    Trigger = Text(max_length=64, code=3)
    Trigger_Value = Text(max_length=255, code=26)  # 10 is "Journey not found" on this page


def update(ctx: Context, p: dict) -> dict:
    return {"Journey": journey_row(ctx.uow.journeys.update(ctx.actor, p["JourneyID"], settings_of(p)))}


JOURNEY_UPDATE = Command(
    name="Journey.Update", run=update, params=UpdateParams, permission=PERMISSION, error_shape=V1,
    errors={1: "Missing JourneyID parameter", 2: "Invalid JourneyID parameter",
            3: "Invalid trigger",  # Sendmill's addition: the page's table skips 3, Create's 3 applies
            **TRIGGER_ERRORS, 10: "Journey not found",
            22: "A journey cannot be triggered by its own completion (JourneyCompleted)", **SETTINGS_ADDED,
            26: "Invalid Trigger_Value parameter"},  # Create's 10, which this page gives to "Journey not found"
    raises={**SETTINGS_RAISES, JourneyNotFound: 10, InvalidTriggerTag: 26, SelfCompletionTrigger: 22},
)


# --- Journey.Get / Journey.List ----------------------------------------------------------------
class GetParams(LegacySchema):
    JourneyID = Id(required=True, code=1, invalid_code=2)
    StartDate = StrictDate(code=4)
    EndDate = StrictDate(code=5)
    IncludeActivityCounters = Bool()
    EmailID = Id(code=7)
    ISP = Text(max_length=255, code=8)

    @validates_schema
    def isp(self, data, **kwargs):
        import re
        if "ISP" in data and not re.fullmatch(r"[a-zA-Z0-9.-]+", data["ISP"]):
            raise ParamError(8, "ISP must match /^[a-zA-Z0-9.-]+$/")


def get(ctx: Context, p: dict) -> dict:
    start, end = window(p, ctx.uow.journey_stats.today(ctx.actor, ctx.now), "StartDate", "EndDate", 6)
    journey = ctx.uow.journeys.get(ctx.actor, p["JourneyID"])
    actions = ctx.uow.journeys.actions(journey.id)
    if "EmailID" in p and not any(a.id == p["EmailID"] and a.action == "SendEmail" for a in actions):
        raise ParamError(7, "EmailID must be the ActionID of a SendEmail action of this journey")
    overview = ctx.uow.journey_overview
    stats = overview.journey_stats(journey.owner_user_id, [journey.id], start, end,
                                   activity=bool(p.get("IncludeActivityCounters")),
                                   action_id=p.get("EmailID"), isp=p.get("ISP"))[journey.id]
    # SendEmail actions carry Journey.Stats.ByAction's Stats and DailyStats over the window, and the page's
    # Revenue / DaysRevenue (issue #2010) "sourced from the same daily cache": one grouped query.
    revenue = days_revenue(overview.days(journey.owner_user_id, start, end))
    mail = {row["ActionID"]: {"Stats": row["Stats"], "DailyStats": row["DailyStats"], "Revenue": 0.0,
                              "DaysRevenue": revenue}
            for row in ctx.uow.journey_stats.by_action(ctx.actor, journey.id, start, end, action_id=None, isp=None)}
    return {**journey_row(journey), "Actions": actions_tree(actions, mail), "JourneyStats": stats}


JOURNEY_GET = Command(
    name="Journey.Get", run=get, params=GetParams, permission=PERMISSION, error_shape=V1, read_only=True,
    errors={1: "Missing JourneyID parameter", 2: "Invalid JourneyID parameter", 3: "Journey not found",
            4: "Invalid StartDate format", 5: "Invalid EndDate format", 6: "StartDate must be before EndDate",
            7: "Invalid EmailID parameter (not a positive integer, or not a SendEmail action on this journey)",
            8: "Invalid ISP parameter (must match /^[a-zA-Z0-9.-]+$/)"},
    raises={JourneyNotFound: 3},
)


class ListParams(LegacySchema):
    StatsStartDate = StrictDate(code=4)
    StatsEndDate = StrictDate(code=5)
    SkipStats = Bool()
    IncludeActivityCounters = Bool()


def list_(ctx: Context, p: dict) -> dict:
    start, end = window(p, ctx.uow.journey_stats.today(ctx.actor, ctx.now), "StatsStartDate", "StatsEndDate", 6)
    journeys = ctx.uow.journeys.list(ctx.actor)
    rows = [journey_row(j) for j in journeys]
    if not p.get("SkipStats"):   # the key is omitted, not null (the page's SkipStats note)
        stats = ctx.uow.journey_overview.journey_stats(ctx.actor.id, [j.id for j in journeys], start, end,
                                                       activity=bool(p.get("IncludeActivityCounters")))
        for row, journey in zip(rows, journeys):
            row["JourneyStats"] = stats[journey.id]
    return {"Journeys": rows}


JOURNEY_LIST = Command(
    name="Journey.List", run=list_, params=ListParams, permission=PERMISSION, error_shape=V1, read_only=True,
    errors={4: "Invalid StatsStartDate format", 5: "Invalid StatsEndDate format",
            6: "StatsStartDate must be before StatsEndDate"},
)


# --- Journey.Delete / Journeys.Delete ----------------------------------------------------------
class OneJourney(LegacySchema):
    JourneyID = Id(required=True, code=1, invalid_code=2)


def delete(ctx: Context, p: dict) -> dict:
    ctx.uow.journeys.delete(ctx.actor, [p["JourneyID"]], all_required=True)
    return {"JourneyID": p["JourneyID"]}


JOURNEY_DELETE = Command(
    name="Journey.Delete", run=delete, params=OneJourney, permission=PERMISSION, error_shape=V1,
    errors={1: "Missing JourneyID parameter", 2: "Invalid JourneyID parameter", 3: "Journey not found"},
    raises={JourneyNotFound: 3},
)


class ManyParams(LegacySchema):
    Journeys = IdList(required=True, code=1)


def delete_many(ctx: Context, p: dict) -> dict:
    # Another account's (or a deleted) journey among them is skipped: the page documents no code for it.
    ctx.uow.journeys.delete(ctx.actor, p["Journeys"], all_required=False)
    return {"ErrorText": ""}


JOURNEYS_DELETE = Command(
    name="Journeys.Delete", run=delete_many, params=ManyParams, permission="Campaign.Delete", error_shape=V1,
    errors={1: "Missing Journeys parameter"},
)


# --- Journey.Enable / Disable, Journeys.Enable / Disable ---------------------------------------
def _status_command(name: str, enabled: bool) -> Command:
    def run(ctx: Context, p: dict) -> dict:
        journey = ctx.uow.journeys.set_status(ctx.actor, p["JourneyID"], enabled)
        return {"Journey": {k: v for k, v in journey_row(journey).items()
                            if k in ("JourneyID", "JourneyName", "Trigger", "Status", "UpdatedAt")}}

    already = "enabled" if enabled else "disabled"
    return Command(
        name=name, run=run, params=OneJourney, permission=PERMISSION, error_shape=V1,
        errors={1: "Missing JourneyID parameter", 2: "Invalid JourneyID parameter", 3: "Journey not found",
                4: f"Journey is already {already}"},
        raises={JourneyNotFound: 3, JourneyAlreadyEnabled: 4, JourneyAlreadyDisabled: 4},
    )


JOURNEY_ENABLE = _status_command("Journey.Enable", True)
JOURNEY_DISABLE = _status_command("Journey.Disable", False)


class BulkParams(LegacySchema):
    JourneyIDs = IdList(required=True, code=1, invalid_code=2)


BULK_ERRORS = {1: "Missing JourneyIDs parameter", 2: "Invalid JourneyIDs parameter (no positive integers after parsing)"}


def _bulk_status_command(name: str, enabled: bool) -> Command:
    def run(ctx: Context, p: dict) -> dict:
        done, failed = ctx.uow.journeys.bulk_status(ctx.actor, p["JourneyIDs"], enabled)
        return {"ProcessedJourneyIDs": done, "FailedJourneyIDs": failed}

    return Command(name=name, run=run, params=BulkParams, permission=PERMISSION, error_shape=V1, errors=BULK_ERRORS)


JOURNEYS_ENABLE = _bulk_status_command("Journeys.Enable", True)
JOURNEYS_DISABLE = _bulk_status_command("Journeys.Disable", False)


# --- Journey.Clone / Journeys.Clone ------------------------------------------------------------
class CloneParams(LegacySchema):
    JourneyID = Id(required=True, code=2, invalid_code=3)
    NewJourneyName = Text(required=True, max_length=255, code=1, invalid_code=5)


def clone(ctx: Context, p: dict) -> dict:
    source = ctx.uow.journeys.get(ctx.actor, p["JourneyID"])
    copy = ctx.uow.journeys.clone(ctx.actor, source.id, p["NewJourneyName"], notes=f"Copy of journey {source.name}")
    return {"Journey": {k: v for k, v in journey_row(copy).items()
                        if k in ("JourneyID", "JourneyName", "Trigger", "TriggerParameters", "Status", "Notes")},
            "Actions": actions_tree(ctx.uow.journeys.actions(copy.id))}


JOURNEY_CLONE = Command(
    name="Journey.Clone", run=clone, params=CloneParams, permission=PERMISSION, error_shape=V1,
    errors={1: "Missing NewJourneyName parameter", 2: "Missing JourneyID parameter", 3: "Journey not found",
            4: "Journey not cloned successfully",
            5: "Invalid NewJourneyName (at most 255 characters)"},  # 5: Sendmill's addition
    raises={JourneyNotFound: 3},
)


class BulkCloneParams(BulkParams):
    NameSuffix = Text(strip=False, max_length=100, code=3)


def clone_many(ctx: Context, p: dict) -> dict:
    suffix = p.get("NameSuffix", "(copy)")
    owned = ctx.uow.journeys.owned(ctx.actor, p["JourneyIDs"])
    done, failed, cloned = [], [], []
    for journey_id in p["JourneyIDs"]:
        source = owned.get(journey_id)
        if source is None:
            failed.append(journey_id)
            continue
        copy = ctx.uow.journeys.clone(ctx.actor, source.id, f"{source.name} {suffix}"[:255])
        done.append(journey_id)
        cloned.append({"SourceJourneyID": journey_id, "NewJourneyID": copy.id})
    return {"ProcessedJourneyIDs": done, "FailedJourneyIDs": failed, "ClonedJourneys": cloned}


JOURNEYS_CLONE = Command(
    name="Journeys.Clone", run=clone_many, params=BulkCloneParams, permission=PERMISSION, error_shape=V1,
    errors={**BULK_ERRORS, 3: "Invalid NameSuffix (at most 100 characters)"},  # 3: Sendmill's addition
)

COMMANDS = (JOURNEY_CREATE, JOURNEY_GET, JOURNEY_LIST, JOURNEY_UPDATE, JOURNEY_DELETE, JOURNEYS_DELETE,
            JOURNEY_ENABLE, JOURNEY_DISABLE, JOURNEYS_ENABLE, JOURNEYS_DISABLE, JOURNEY_CLONE, JOURNEYS_CLONE)
