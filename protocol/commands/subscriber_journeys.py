"""A subscriber's journeys (v5.9.4 subscribers.md): Subscriber.Journey.Trigger, .Remove, .Exit, .List.

Permission `Campaign.Create`, as the page documents. A journey that is not the caller's is skipped
(Trigger / Remove) or answers 7 (Exit); when every journey is skipped the call answers 7 with
`SkippedJourneys` beside it, as the page's example shows."""
from __future__ import annotations

from engine.errors import AllJourneysSkipped, JourneyNotFound, ListNotFound, SubscriberNotFound
from protocol.command import V1, Command, Context
from protocol.params import Bool, Id, IdList, LegacySchema
from protocol.views.journeys import when

PERMISSION = "Campaign.Create"
ERRORS = {1: "Missing JourneyID parameter", 2: "Missing ListID parameter", 3: "Missing SubscriberID parameter",
          4: "Invalid JourneyID parameter", 5: "Invalid ListID parameter", 6: "Invalid SubscriberID parameter",
          7: "Journey not found (all journeys skipped)", 8: "List not found", 9: "Subscriber not found"}
RAISES = {AllJourneysSkipped: 7, JourneyNotFound: 7, ListNotFound: 8, SubscriberNotFound: 9}


class OneSubscriber(LegacySchema):
    ListID = Id(required=True, code=2, invalid_code=5)
    SubscriberID = Id(required=True, code=3, invalid_code=6)


class ManyJourneys(OneSubscriber):
    JourneyID = IdList(required=True, max_items=100, code=1, invalid_code=4)


class TriggerParams(ManyJourneys):
    BypassJourneyStatusCheck = Bool()


def _answer(p: dict, entered: list[int], skipped: list[dict]) -> dict:
    answer = {"JourneyIDs": entered, "ListID": p["ListID"], "SubscriberID": p["SubscriberID"]}
    if skipped:
        answer["SkippedJourneys"] = skipped
    return answer


def trigger(ctx: Context, p: dict) -> dict:
    entered, skipped = ctx.uow.journey_members.trigger(ctx.actor, p["JourneyID"], p["ListID"], p["SubscriberID"],
                                                       bypass_status=p.get("BypassJourneyStatusCheck", False))
    return _answer(p, entered, skipped)


SUBSCRIBER_JOURNEY_TRIGGER = Command(
    name="Subscriber.Journey.Trigger", run=trigger, params=TriggerParams, permission=PERMISSION, error_shape=V1,
    errors=ERRORS, raises=RAISES,
)


def remove(ctx: Context, p: dict) -> dict:
    return _answer(p, *ctx.uow.journey_members.remove(ctx.actor, p["JourneyID"], p["ListID"], p["SubscriberID"]))


SUBSCRIBER_JOURNEY_REMOVE = Command(
    name="Subscriber.Journey.Remove", run=remove, params=ManyJourneys, permission=PERMISSION, error_shape=V1,
    errors=ERRORS, raises=RAISES,
)


class ExitParams(OneSubscriber):
    JourneyID = Id(required=True, code=1, invalid_code=4)


def exit_(ctx: Context, p: dict) -> dict:
    ctx.uow.journey_members.exit(ctx.actor, p["JourneyID"], p["ListID"], p["SubscriberID"])
    return {"JourneyID": p["JourneyID"], "ListID": p["ListID"], "SubscriberID": p["SubscriberID"]}


SUBSCRIBER_JOURNEY_EXIT = Command(
    name="Subscriber.Journey.Exit", run=exit_, params=ExitParams, permission=PERMISSION, error_shape=V1,
    errors={**ERRORS, 7: "Journey not found"}, raises=RAISES,
)


def list_(ctx: Context, p: dict) -> dict:
    rows = ctx.uow.journey_members.journeys_of(ctx.actor, p["ListID"], p["SubscriberID"])
    return {"ListID": p["ListID"], "SubscriberID": p["SubscriberID"],
            "Journeys": [{"JourneyID": j.id, "JourneyName": j.name, "Status": j.status, "JoinedAt": when(e.created_at),
                          "RunStatus": e.state, "Run": e.run_no} for j, e in rows]}


SUBSCRIBER_JOURNEY_LIST = Command(
    name="Subscriber.Journey.List", run=list_, params=OneSubscriber, permission=PERMISSION, error_shape=V1,
    read_only=True,
    errors={2: "Missing ListID parameter", 3: "Missing SubscriberID parameter", 5: "Invalid ListID parameter",
            6: "Invalid SubscriberID parameter", 8: "List not found", 9: "Subscriber not found"},
    raises={ListNotFound: 8, SubscriberNotFound: 9},
)

COMMANDS = (SUBSCRIBER_JOURNEY_TRIGGER, SUBSCRIBER_JOURNEY_REMOVE, SUBSCRIBER_JOURNEY_EXIT, SUBSCRIBER_JOURNEY_LIST)
