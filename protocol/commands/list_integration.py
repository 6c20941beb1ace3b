"""ListIntegration.* (v5.9.4 lists.md, "Add Integration URL" … "Generate Unsubscription Form HTML"; deprecated
there, still sent by the generated PHP wrappers): a list's web service integration URLs and its form HTML.

An integration URL is a list-scoped webhook (engine/audience/list_integrations.py): Sendmill POSTs the signed
event (README "Webhooks" for the body and its signature) when someone subscribes to (`subscription`) or
unsubscribes from (`unsubscription`) the list. Event names: the wrappers' `subscription|unsubscription`, the
page example's `Subscribe` / `Unsubscribe` too; answered canonically. Errors are lists, as the page shows.
"""
from __future__ import annotations

from engine.errors import IntegrationNotFound, IntegrationUrlUnreachable, InvalidWebhookUrl, ListNotFound
from engine.audience.list_integrations import EVENTS
from protocol.command import Command, Context
from protocol.params import Choice, Id, IdList, LegacySchema, Text

EVENT_ALIASES = {"subscribe": "subscription", "unsubscribe": "unsubscription"}
BAD_URL = "Invalid URL (an absolute http:// or https:// URL, not a private, loopback or link-local address)"
BAD_EVENT = "Invalid event type (subscription or unsubscription)"


def _url_row(endpoint, event: str) -> dict:
    return {"WebServiceIntegrationID": endpoint.id, "RelListID": endpoint.list_id, "EventType": event,
            "ServiceURL": endpoint.url}


# --- ListIntegration.AddURL ----------------------------------------------------------------------
class AddParams(LegacySchema):
    SubscriberListID = Id(required=True, code=1, invalid_code=4)
    URL = Text(required=True, max_length=2000, code=2, invalid_code=5)
    Event = Choice(EVENTS, aliases=EVENT_ALIASES, required=True, code=3, invalid_code=6)


def add_url(ctx: Context, p: dict) -> dict:
    endpoint = ctx.uow.list_integrations.add_url(ctx.actor, p["SubscriberListID"], p["Event"], p["URL"])
    return {"WebServiceIntegrationID": endpoint.id, "EventType": p["Event"], "ServiceURL": endpoint.url}


ADD_URL = Command(
    name="ListIntegration.AddURL", run=add_url, params=AddParams, permission="List.Update",
    success_extra={"ErrorText": ""},
    errors={1: "Missing subscriber list ID", 2: "Missing URL", 3: "Missing event type",
            4: "Invalid subscriber list ID", 5: BAD_URL, 6: BAD_EVENT},
    raises={ListNotFound: 4, InvalidWebhookUrl: 5},
)


# --- ListIntegration.GetURLs ---------------------------------------------------------------------
class GetParams(LegacySchema):
    SubscriberListID = Id(required=True, code=1, invalid_code=2)
    Event = Choice(EVENTS, aliases=EVENT_ALIASES, code=3)


def get_urls(ctx: Context, p: dict) -> dict:
    rows = ctx.uow.list_integrations.urls(ctx.actor, p["SubscriberListID"], p.get("Event"))
    return {"URLs": [_url_row(endpoint, event) for endpoint, event in rows]}


GET_URLS = Command(
    name="ListIntegration.GetURLs", run=get_urls, params=GetParams, permission="List.Get", read_only=True,
    success_extra={"ErrorText": ""},
    errors={1: "Missing subscriber list ID", 2: "Invalid subscriber list ID", 3: BAD_EVENT},
    raises={ListNotFound: 2},
)


# --- ListIntegration.DeleteURLs ------------------------------------------------------------------
class DeleteParams(LegacySchema):
    URLs = IdList(required=True, code=1, invalid_code=2)


def delete_urls(ctx: Context, p: dict) -> dict:
    ctx.uow.list_integrations.delete_urls(ctx.actor, p["URLs"])
    return {}


DELETE_URLS = Command(
    name="ListIntegration.DeleteURLs", run=delete_urls, params=DeleteParams, permission="List.Update",
    success_extra={"ErrorText": ""},
    errors={1: "Web service integration URL IDs are missing",
            2: "A web service integration ID is malformed or not yours (nothing was deleted)"},
    raises={IntegrationNotFound: 2},
)


# --- ListIntegration.TestURL ---------------------------------------------------------------------
class TestParams(LegacySchema):
    URL = Text(required=True, max_length=2000, code=1, invalid_code=2)


def test_url(ctx: Context, p: dict) -> dict:
    return {"StatusCode": ctx.uow.list_integrations.test_url(p["URL"])}


TEST_URL = Command(
    name="ListIntegration.TestURL", run=test_url, params=TestParams, permission="List.Update", read_only=True,
    success_extra={"ErrorText": ""},
    errors={1: "URL is missing", 2: BAD_URL,
            3: "The URL did not answer the test POST with a 2xx status within 5 seconds"},
    raises={InvalidWebhookUrl: 2, IntegrationUrlUnreachable: 3},
)


# --- ListIntegration.GenerateSubscriptionFormHTMLCode --------------------------------------------
class SubscriptionFormParams(LegacySchema):
    SubscriberListID = Id(required=True, code=1, invalid_code=2)
    CustomFields = IdList(code=4)
    EmailAddressString = Text(max_length=255, code=5)
    SubscribeButtonString = Text(max_length=255, code=5)
    HTMLSpecialChars = Text(lenient=True)


def _encoded(lines: list[str], p: dict) -> list[str]:
    """htmlspecialchars() of every line unless HTMLSpecialChars is false (the page's default: "true")."""
    if str(p.get("HTMLSpecialChars", "true")).lower() in ("false", "0", "no", "off"):
        return lines
    return [line.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
            for line in lines]


def subscription_form(ctx: Context, p: dict) -> dict:
    lines = ctx.uow.list_integrations.subscription_form(
        ctx.actor, p["SubscriberListID"], p.get("CustomFields", []),
        email_label=p.get("EmailAddressString", "Email address"), button=p.get("SubscribeButtonString", "Subscribe"))
    return {"HTMLCode": _encoded(lines, p)}


SUBSCRIPTION_FORM = Command(
    name="ListIntegration.GenerateSubscriptionFormHTMLCode", run=subscription_form, params=SubscriptionFormParams,
    permission="List.Get", read_only=True, success_extra={"ErrorText": ""},
    errors={1: "Missing subscriber list ID", 2: "Invalid subscriber list id (must be a positive integer)",
            3: "Invalid subscriber list id (list not found or not owned by you)",
            4: "A custom field ID is malformed or not a field of this list",
            5: "A label is over 255 characters"},
    raises={ListNotFound: 3, IntegrationNotFound: 4},
)


# --- ListIntegration.GenerateUnsubscriptionFormHTMLCode ------------------------------------------
class UnsubscriptionFormParams(LegacySchema):
    SubscriberListID = Id(required=True, code=1, invalid_code=2)
    UnsubscribeButtonString = Text(max_length=255, code=4)
    HTMLSpecialChars = Text(lenient=True)


def unsubscription_form(ctx: Context, p: dict) -> dict:
    lines = ctx.uow.list_integrations.unsubscription_form(
        ctx.actor, p["SubscriberListID"], button=p.get("UnsubscribeButtonString", "Unsubscribe"))
    return {"HTMLCode": _encoded(lines, p)}


UNSUBSCRIPTION_FORM = Command(
    name="ListIntegration.GenerateUnsubscriptionFormHTMLCode", run=unsubscription_form,
    params=UnsubscriptionFormParams, permission="List.Get", read_only=True, success_extra={"ErrorText": ""},
    errors={1: "Missing subscriber list ID", 2: "Invalid subscriber list id (must be a positive integer)",
            3: "Invalid subscriber list id (list not found or not owned by you)",
            4: "UnsubscribeButtonString is over 255 characters"},
    raises={ListNotFound: 3},
)

COMMANDS = (ADD_URL, GET_URLS, DELETE_URLS, TEST_URL, SUBSCRIPTION_FORM, UNSUBSCRIPTION_FORM)
