"""A journey's actions (v5.9.4 journeys.md, journey-actions.md): Journey.Actions.Update (the whole tree),
Journey.Actions.Published, Journey.Action.Subscribers, Journey.Stats.ByAction, Journey.Stats.ByISP,
Journey.SendEmailActions.

Codes the pages lack are Sendmill's additions (README "Journeys")."""
from __future__ import annotations

import json

from marshmallow import validates_schema

from engine.errors import (
    InvalidJourneyAction, JourneyActionNotAvailable, JourneyActionNotFound, JourneyNotFound, UnknownJourneyAction,
)
from protocol.command import V1, Command, Context
from protocol.commands.journey_params import StrictDate, window
from protocol.params import Bool, Choice, Id, Int, LegacySchema, ParamError, Raw, Text
from protocol.views.journeys import actions_tree

PERMISSION = "Campaign.Create"
ACTION_CODES = {1: "Missing JourneyID parameter", 2: "Missing Actions parameter", 3: "Invalid JourneyID parameter",
                4: "Invalid JourneyID parameter (Actions must be array)", 5: "Journey not found"}


class ActionsParams(LegacySchema):
    JourneyID = Id(required=True, code=1, invalid_code=3)
    Actions = Raw(required=True, code=2)

    @validates_schema
    def array(self, data, **kwargs):
        value = data.get("Actions")
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ParamError(4, "Actions must be a JSON array") from None
        if not isinstance(value, (list, dict)):
            raise ParamError(4, "Actions must be an array")
        data["Actions"] = value


def update_actions(ctx: Context, p: dict) -> dict:
    journey = ctx.uow.journeys.replace_actions(ctx.actor, p["JourneyID"], p["Actions"])
    return {"JourneyID": str(journey.id), "JourneyName": journey.name,
            "Actions": actions_tree(ctx.uow.journeys.actions(journey.id))}


JOURNEY_ACTIONS_UPDATE = Command(
    name="Journey.Actions.Update", run=update_actions, params=ActionsParams, permission=PERMISSION, error_shape=V1,
    errors={**ACTION_CODES, 6: "Invalid action type or Journey not found",
            # Sendmill's additions:
            7: "Invalid action parameters (see ErrorText)",
            8: "Action not available in Sendmill (SendSMS: no SMS gateway)"},
    raises={JourneyNotFound: 5, UnknownJourneyAction: 6, InvalidJourneyAction: 7, JourneyActionNotAvailable: 8},
)


def published(ctx: Context, p: dict) -> dict:
    changes = []
    for item in (p["Actions"].values() if isinstance(p["Actions"], dict) else p["Actions"]):
        item = {str(k).lower(): v for k, v in item.items()} if isinstance(item, dict) else {}
        action_id = item.get("actionid")
        if isinstance(action_id, bool) or not str(action_id).strip().isdigit():
            raise ParamError(6, f"ActionID {str(action_id)[:20]!r} is not an action of this journey")
        flag = item.get("published")
        changes.append((int(str(action_id).strip()), flag is True or str(flag).strip().lower() in ("true", "1", "yes")))
    journey = ctx.uow.journeys.set_published(ctx.actor, p["JourneyID"], changes)
    rows = {a.id: a for a in ctx.uow.journeys.actions(journey.id)}
    return {"JourneyID": str(journey.id), "JourneyName": journey.name,
            "Actions": [{"ActionID": str(i), "Published": "true" if rows[i].published else "false"} for i, _ in changes]}


JOURNEY_ACTIONS_PUBLISHED = Command(
    name="Journey.Actions.Published", run=published, params=ActionsParams, permission=PERMISSION, error_shape=V1,
    errors={**ACTION_CODES, 6: "Action not found", 7: "Journey not found after update"},
    raises={JourneyNotFound: 5, JourneyActionNotFound: 6},
)


# --- Journey.Action.Subscribers ----------------------------------------------------------------
FILTERS = ("opened", "clicked", "converted", "browser_viewed", "forwarded", "unsubscribed", "bounced",
           "spam_complaint")
ORDER_FIELDS = {"emailaddress": "EmailAddress", "subscriberid": "SubscriberID"}


class SubscribersParams(LegacySchema):
    JourneyID = Id(required=True, code=1, invalid_code=3)
    ActionID = Id(required=True, code=2, invalid_code=4)
    FilterJSON = Text(max_length=2000, code=5)
    Operator = Choice(("AND", "OR"), code=7)
    RecordsPerRequest = Int(min_value=0, max_value=1000, code=9)
    RecordsFrom = Int(min_value=0, code=9)
    OrderField = Text(max_length=64, code=9)
    OrderType = Choice(("ASC", "DESC"), code=9)

    @validates_schema
    def filters(self, data, **kwargs):
        if "FilterJSON" not in data:
            return
        try:
            items = json.loads(data["FilterJSON"])
        except ValueError:
            raise ParamError(5, "FilterJSON is not valid JSON") from None
        if not isinstance(items, list) or any(not isinstance(i, str) or i.lower() not in FILTERS for i in items):
            raise ParamError(6, f"FilterJSON items must be among {', '.join(FILTERS)}")
        data["FilterJSON"] = [i.lower() for i in items]


def action_subscribers(ctx: Context, p: dict) -> dict:
    rows, total = ctx.uow.journey_stats.action_subscribers(
        ctx.actor, p["JourneyID"], p["ActionID"], filters=p.get("FilterJSON") or [], operator=p.get("Operator", "AND"),
        limit=p.get("RecordsPerRequest") or 25, offset=p.get("RecordsFrom", 0),
        order=ORDER_FIELDS.get(str(p.get("OrderField", "")).lower(), "EmailAddress"),
        descending=p.get("OrderType") == "DESC")
    return {"ErrorText": "", "Subscribers": [{"SubscriberID": str(i), "EmailAddress": e, "Suppressed": bool(s)}
                                             for i, e, s in rows], "TotalSubscribers": total}


JOURNEY_ACTION_SUBSCRIBERS = Command(
    name="Journey.Action.Subscribers", run=action_subscribers, params=SubscribersParams, permission=PERMISSION,
    error_shape=V1, read_only=True,
    errors={1: "Missing JourneyID parameter", 2: "Missing ActionID parameter", 3: "Invalid JourneyID parameter",
            4: "Invalid ActionID parameter", 5: "Invalid FilterJSON parameter (invalid JSON)",
            6: "Invalid FilterJSON value (unrecognized filter item)", 7: "Invalid Operator value",
            # Sendmill's addition: a page or order value it cannot use.
            9: "Invalid RecordsPerRequest (1-1000), RecordsFrom, OrderField or OrderType"},
    # After validation the page gives 5 to "Journey not found" and 6 to "Action not found".
    raises={JourneyNotFound: 5, JourneyActionNotFound: 6},
)


# --- Journey.Stats.ByAction --------------------------------------------------------------------
# The codes both stats pages list (ByAction adds 8 for ISP).
STATS_CODES = {1: "Missing JourneyID parameter", 2: "Invalid JourneyID parameter (must be a positive integer)",
               3: "Journey not found (HTTP 404)", 4: "Invalid StartDate format", 5: "Invalid EndDate format",
               6: "StartDate must be before EndDate",
               7: "Invalid EmailID parameter (not a positive integer, or not a SendEmail action on this journey)"}


class StatsParams(LegacySchema):
    """Journey.Stats.ByISP's parameters; ByAction's are these and ISP."""
    JourneyID = Id(required=True, code=1, invalid_code=2)
    StartDate = StrictDate(code=4)
    EndDate = StrictDate(code=5)
    EmailID = Id(code=7)


class ByActionParams(StatsParams):
    ISP = Text(max_length=255, code=8)

    @validates_schema
    def isp(self, data, **kwargs):
        import re
        if "ISP" in data and not re.fullmatch(r"[a-zA-Z0-9.-]+", data["ISP"]):
            raise ParamError(8, "ISP must match /^[a-zA-Z0-9.-]+$/")


def by_action(ctx: Context, p: dict) -> dict:
    start, end = window(p, ctx.uow.journey_stats.today(ctx.actor, ctx.now), "StartDate", "EndDate", 6)
    return {"Actions": ctx.uow.journey_stats.by_action(ctx.actor, p["JourneyID"], start, end,
                                                       action_id=p.get("EmailID"), isp=p.get("ISP"))}


JOURNEY_STATS_BY_ACTION = Command(
    name="Journey.Stats.ByAction", run=by_action, params=ByActionParams, permission=PERMISSION, error_shape=V1,
    read_only=True,
    errors={**STATS_CODES, 8: "Invalid ISP parameter (must match /^[a-zA-Z0-9.-]+$/)"},
    raises={JourneyNotFound: 3, JourneyActionNotFound: 7},
)


# --- Journey.Stats.ByISP -----------------------------------------------------------------------
def by_isp(ctx: Context, p: dict) -> dict:
    start, end = window(p, ctx.uow.journey_stats.today(ctx.actor, ctx.now), "StartDate", "EndDate", 6)
    return {"ByISP": ctx.uow.journey_stats.by_isp(ctx.actor, p["JourneyID"], start, end, action_id=p.get("EmailID"))}


JOURNEY_STATS_BY_ISP = Command(
    name="Journey.Stats.ByISP", run=by_isp, params=StatsParams, permission=PERMISSION, error_shape=V1,
    read_only=True,
    errors=STATS_CODES,
    raises={JourneyNotFound: 3, JourneyActionNotFound: 7},
)


# --- Journey.SendEmailActions ------------------------------------------------------------------
class SendEmailActionsParams(LegacySchema):
    JourneyID = Id(code=1)
    IncludeDisabled = Bool()
    IncludeUnpublished = Bool()


def send_email_actions(ctx: Context, p: dict) -> dict:
    return {"Actions": ctx.uow.journey_stats.send_email_actions(
        ctx.actor, journey_id=p.get("JourneyID"), include_disabled=p.get("IncludeDisabled", False),
        include_unpublished=p.get("IncludeUnpublished", False))}


JOURNEY_SEND_EMAIL_ACTIONS = Command(
    name="Journey.SendEmailActions", run=send_email_actions, params=SendEmailActionsParams, permission=PERMISSION,
    error_shape=V1, read_only=True, errors={1: "Invalid JourneyID parameter"},
)

COMMANDS = (JOURNEY_ACTIONS_UPDATE, JOURNEY_ACTIONS_PUBLISHED, JOURNEY_ACTION_SUBSCRIBERS, JOURNEY_STATS_BY_ACTION,
            JOURNEY_STATS_BY_ISP, JOURNEY_SEND_EMAIL_ACTIONS)
