"""The subscriber area's commands (v5.9.4 subscribers.md): Subscriber.Login and Subscriber.GetLists.

A subscriber, not a user, calls them: Subscriber.Login is public and Subscriber.GetLists takes the
subscriber session Subscriber.Login answered, never a user's (engine/audience/subscriber_sessions.py).
Both pages show scalar codes. Both are public commands, so both count against the per-IP rate limit.
"""
from __future__ import annotations

from engine.errors import InvalidEmailAddress, SubscriberNotFound, SubscriberSessionInvalid
from protocol.command import PUBLIC, SCALAR, Command, Context
from protocol.params import Id, LegacySchema, Text


# --- Subscriber.Login --------------------------------------------------------------------------
class LoginParams(LegacySchema):
    # A ListID that is no ID names no list, so no subscriber: the page's code 4.
    ListID = Id(required=True, code=1, invalid_code=4)
    EmailAddress = Text(required=True, max_length=255, code=2, invalid_code=3)


def login(ctx: Context, p: dict) -> dict:
    session_id, subscriber = ctx.uow.subscriber_sessions.login(p["ListID"], p["EmailAddress"])
    return {"SessionID": session_id,
            "SubscriberInformation": {"SubscriberID": subscriber.id, "EmailAddress": subscriber.email_address,
                                      "SubscriptionStatus": subscriber.subscription_status}}


SUBSCRIBER_LOGIN = Command(
    name="Subscriber.Login", run=login, params=LoginParams, auth=PUBLIC, permission="", error_shape=SCALAR,
    errors={1: "Missing ListID parameter", 2: "Missing EmailAddress parameter", 3: "Invalid EmailAddress",
            4: "Subscriber not found"},
    raises={InvalidEmailAddress: 3, SubscriberNotFound: 4},
)


# --- Subscriber.GetLists -----------------------------------------------------------------------
class GetListsParams(LegacySchema):
    # The subscriber session; a missing, malformed or stale one is the page's only code.
    SessionID = Text(required=True, max_length=200, code=1, invalid_code=1)


def get_lists(ctx: Context, p: dict) -> dict:
    lists = ctx.uow.subscriber_sessions.lists(p["SessionID"])
    return {"Lists": [{"ListID": row.list_id, "ListName": row.name, "SubscriptionStatus": row.subscription_status}
                      for row in lists]}


SUBSCRIBER_GETLISTS = Command(
    name="Subscriber.GetLists", run=get_lists, params=GetListsParams, auth=PUBLIC, permission="",
    error_shape=SCALAR,
    errors={1: "Authentication failure or session expired"},
    raises={SubscriberSessionInvalid: 1},
)

COMMANDS = (SUBSCRIBER_LOGIN, SUBSCRIBER_GETLISTS)
