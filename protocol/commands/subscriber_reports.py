"""Subscriber.Exists, Subscriber.Get.Activity and Subscribers.Search (v5.9.4 subscribers.md).

Subscriber.Exists and Subscriber.Get.Activity answer scalar codes, Subscribers.Search a list of them,
as their pages show. Codes the pages lack are Sendmill's additions (README, "Error codes Sendmill adds").
"""
from __future__ import annotations

from engine.errors import InvalidRules, ListNotFound, SubscriberNotFound
from protocol.command import SCALAR, Command, Context
from protocol.commands.subscriber_params import RulesJsonText
from protocol.params import Bool, Choice, Id, LegacyField, LegacySchema, ParamError, Text
from protocol.views.subscriber_tags import subscriber_tag
from protocol.views.subscribers import subscriber_row

DEFAULT_PAGE, MAX_PAGE = 25, 10_000


# --- Subscriber.Exists -------------------------------------------------------------------------
class ExistsParams(LegacySchema):
    ListID = Id(required=True, code=1, invalid_code=3)
    EmailAddress = Text(required=True, max_length=255, code=2)


def exists(ctx: Context, p: dict) -> dict:
    subscriber_id = ctx.uow.subscriber_reports.exists(ctx.actor, p["ListID"], p["EmailAddress"])
    return {"Exists": subscriber_id is not None, "SubscriberID": subscriber_id or 0}


SUBSCRIBER_EXISTS = Command(
    name="Subscriber.Exists", run=exists, params=ExistsParams, permission="Subscribers.Get", error_shape=SCALAR,
    read_only=True,
    errors={1: "Missing ListID parameter", 2: "Missing EmailAddress parameter", 3: "Invalid ListID"},
    raises={ListNotFound: 3},
)


# --- Subscriber.Get.Activity -------------------------------------------------------------------
class ActivityParams(LegacySchema):
    SubscriberID = Id(required=True, code=1, invalid_code=3)
    SubscriberListID = Id(required=True, code=2, invalid_code=3)


def activity(ctx: Context, p: dict) -> dict:
    _, entries = ctx.uow.subscriber_reports.activity(ctx.actor, p["SubscriberListID"], p["SubscriberID"])
    rows = []
    for e in entries:
        row = {"ActivityType": e.activity_type, "CampaignID": e.campaign_id or 0, "EmailID": e.email_id or 0,
               "ActivityDate": e.occurred_at}
        if e.autoresponder_id:
            row["AutoResponderID"] = e.autoresponder_id
        if e.link_url:
            row["LinkURL"] = e.link_url
        rows.append(row)
    return {"Activity": rows}


SUBSCRIBER_GET_ACTIVITY = Command(
    name="Subscriber.Get.Activity", run=activity, params=ActivityParams, permission="Subscribers.Get",
    error_shape=SCALAR, read_only=True,
    errors={1: "Missing SubscriberID parameter", 2: "Missing SubscriberListID parameter", 3: "Subscriber not found"},
    # Another account's list hides its subscribers: "not found" either way.
    raises={SubscriberNotFound: 3, ListNotFound: 3},
)


# --- Subscribers.Search ------------------------------------------------------------------------
class PageSize(LegacyField):
    """RecordsPerRequest as the page documents it: a JSON integer 0 means the default, a 0 sent as
    text (a form field, "0") means LIMIT 0 (no rows); anything unreadable means the default."""

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return DEFAULT_PAGE if value == 0 else max(1, min(value, MAX_PAGE))
        text = str(value).strip() if isinstance(value, (str, float)) else ""
        return min(int(text), MAX_PAGE) if text.isdigit() else DEFAULT_PAGE


class SearchParams(LegacySchema):
    ListID = Id(required=True, code=1, invalid_code=3)
    Operator = Choice(("and", "or"), required=True, code=2, invalid_code=6)
    Rules = Text(lenient=True)
    RulesJSON = RulesJsonText(code=6)
    RecordsPerRequest = PageSize()
    RecordsFrom = Id(lenient=True)
    OrderField = Text(lenient=True)
    OrderType = Choice(("ASC", "DESC"), lenient=True)
    OnlyTotal = Bool()


def search(ctx: Context, p: dict) -> dict:
    if p.get("Rules") and not p.get("RulesJSON"):
        # Never read as "no filter" (the v5.9.3 note): the whole list is not what the caller meant.
        raise ParamError(4, "the legacy Rules format is not supported; send RulesJSON")
    try:
        rows, total = ctx.uow.subscriber_reports.search(
            ctx.actor, p["ListID"], p.get("RulesJSON"), p["Operator"], order_field=p.get("OrderField"),
            descending=p.get("OrderType") == "DESC", offset=p.get("RecordsFrom", 0),
            limit=p.get("RecordsPerRequest", DEFAULT_PAGE), only_total=p.get("OnlyTotal", False))
    except InvalidRules as exc:
        # The rules parser names a segment that refers back to itself; the page gives that its own code.
        if "recursion limit" in exc.message:
            raise ParamError(5, exc.message) from None
        raise
    if p.get("OnlyTotal"):
        return {"TotalSubscribers": total}
    return {"TotalSubscribers": total, "Subscribers": _rows(ctx, p["ListID"], rows)}


def _rows(ctx: Context, list_id: int, rows) -> list[dict]:
    ids = [r.subscriber.id for r in rows]
    field_ids = [f.id for f in ctx.uow.custom_fields.applicable(ctx.uow.lists.get(ctx.actor, list_id))]
    values, tags = ctx.uow.subscribers.values_of(ids), ctx.uow.subscriber_tags.tags_of(ids)
    out = []
    for r in rows:
        row = subscriber_row(r.subscriber, values[r.subscriber.id], field_ids)
        row.update(SubscriberID=r.subscriber.id, SubscriberTags=[subscriber_tag(t) for t in tags[r.subscriber.id]],
                   Suppressed=r.suppressed, TotalRevenue=0)
        out.append(row)
    return out


SUBSCRIBERS_SEARCH = Command(
    name="Subscribers.Search", run=search, params=SearchParams, permission="Subscribers.Get",
    success_extra={"ErrorText": ""}, read_only=True,
    errors={1: "Missing ListID parameter", 2: "Missing Operator parameter", 3: "ListID not found",
            4: "Problem with the segment engine", 5: "Segment recursion limit exceeded",
            6: "Invalid RulesJSON syntax. It must be a properly formatted JSON payload"},
    raises={ListNotFound: 3, InvalidRules: 6},
)

COMMANDS = (SUBSCRIBER_EXISTS, SUBSCRIBER_GET_ACTIVITY, SUBSCRIBERS_SEARCH)
