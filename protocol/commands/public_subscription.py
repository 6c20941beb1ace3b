"""The public subscription commands (api-reference/subscribers.md, v5.6.x and v5.9.4
subscribers.md; protocol.md §3.4, §6): Subscriber.Subscribe, Subscriber.OptIn, Subscriber.Unsubscribe.

They are public (Part 1 §12): they work without credentials and ignore a blank, 0 or stale
SessionID. Command errors are lists (`"ErrorCode": [9]`, as the official WordPress widget counts
and loops them). Without the list owner's credentials they act only on the address the caller names:
no ID-only unsubscribe, no overwriting of an existing subscriber's fields (README, Protocol behaviour).
The owner's subscriber commands are in subscribers.py.
"""
from __future__ import annotations

from marshmallow import validates_schema

from engine.errors import (
    AlreadyUnsubscribed, CampaignNotFound, ConfirmationCodeRequired, CustomFieldInvalid, CustomFieldNotUnique,
    CustomFieldRequired, EmailAddressRequired, EmailNotFound, InvalidConfirmationCode, InvalidEmailAddress,
    InvalidRules, ListNotFound, ListOwnerUnavailable, SubscriberExists, SubscriberLimitReached, SubscriberNotFound,
)
from engine.models.subscribers import SUBSCRIBER_SOURCES
from protocol.command import PUBLIC, Command, Context
from protocol.commands.subscriber_params import (
    CUSTOM_FIELD_PARAMS, IpText, RulesJsonText, field_errors, field_values, rules_operator,
)
from protocol.params import Bool, Choice, Id, IdList, Int, LegacySchema, ParamError, Text
from protocol.views.subscribers import subscribed


def _source(value: str | None) -> str:
    if not value:
        return "API"
    return next((s for s in SUBSCRIBER_SOURCES if s.lower() == value.strip().lower()), "Unknown")


# --- Subscriber.Subscribe ----------------------------------------------------------------------
# A public form subscribes to one list or a few; every list is one more lookup for an anonymous caller.
MAX_SUBSCRIBE_LISTS = 100


class SubscribeParams(LegacySchema):
    ListID = IdList(required=True, max_items=MAX_SUBSCRIBE_LISTS, code=1, invalid_code=4)
    EmailAddress = Text(required=True, max_length=255, code=2, invalid_code=5)
    IPAddress = IpText(required=True, code=3)
    UpdateIfExists = Bool()
    EnforceRequiredFields = Bool()
    Source = Text(lenient=True)
    SourceRef = Text(lenient=True)


SUBSCRIBE_FIELD_CODES = {CustomFieldRequired: 6, CustomFieldNotUnique: 7, CustomFieldInvalid: 8}


def subscribe(ctx: Context, p: dict) -> dict:
    with field_errors(SUBSCRIBE_FIELD_CODES, plural=False):
        result = ctx.uow.subscribers.subscribe(
            p["ListID"], p["EmailAddress"], p["IPAddress"], field_values(ctx.params), actor=ctx.actor,
            update_if_exists=p.get("UpdateIfExists", False), enforce_required=p.get("EnforceRequiredFields", False),
            source=_source(p.get("Source")), source_ref=p.get("SourceRef", "")[:64])
    return subscribed(result.subscriber, result.redirect_url)


SUBSCRIBER_SUBSCRIBE = Command(
    name="Subscriber.Subscribe", run=subscribe, params=SubscribeParams, auth=PUBLIC,
    extra_params=CUSTOM_FIELD_PARAMS,
    rate_limit_owner_lists=lambda p: p["ListID"],
    errors={
        1: "Missing ListID parameter",
        2: "Missing EmailAddress parameter",
        3: "Missing IPAddress parameter",
        4: "Invalid ListID",
        5: "Invalid EmailAddress",
        6: "Required custom field missing",
        7: "Custom field value is not unique",
        8: "Invalid custom field value",
        9: "Duplicate email address",
        10: "Subscription failed",
        11: "Invalid user information",
        12: "Subscriber limit reached (LimitSubscribers of the list owner's user group)",  # Sendmill's addition
        101: "Plugin validation failed",
    },
    raises={ListNotFound: 4, InvalidEmailAddress: 5, SubscriberExists: 9, ListOwnerUnavailable: 11,
            SubscriberLimitReached: 12, **SUBSCRIBE_FIELD_CODES},
)


# --- Subscriber.OptIn --------------------------------------------------------------------------
class OptInParams(LegacySchema):
    ListID = Id(required=True, code=1, invalid_code=5)
    SubscriberID = Id(required=True, code=2, invalid_code=5)
    ConfirmationCode = Text(max_length=128, code=3, invalid_code=4)
    Mode = Choice(("Confirm", "Reject"), code=6)


def opt_in(ctx: Context, p: dict) -> dict:
    mode = p.get("Mode", "Confirm")
    subscriber, redirect = ctx.uow.subscribers.opt_in(ctx.actor, p["ListID"], p["SubscriberID"],
                                                      p.get("ConfirmationCode"), reject=mode == "Reject")
    return {"RedirectURL": redirect, "ProcessedMode": mode, **subscribed(subscriber, redirect)}


SUBSCRIBER_OPTIN = Command(
    name="Subscriber.OptIn", run=opt_in, params=OptInParams, auth=PUBLIC,
    rate_limit_owner_lists=lambda p: [p["ListID"]],
    errors={
        1: "Missing ListID parameter",
        2: "Missing SubscriberID parameter",
        3: "Missing ConfirmationCode parameter",
        4: "Invalid confirmation code",
        5: "Subscriber not found",
        6: "Invalid Mode (Confirm or Reject)",  # Sendmill's addition (the Oempro 4 Mode parameter)
    },
    raises={ConfirmationCodeRequired: 3, InvalidConfirmationCode: 4, ListNotFound: 5, SubscriberNotFound: 5},
)


# --- Subscriber.Unsubscribe --------------------------------------------------------------------
class UnsubscribeParams(LegacySchema):
    ListID = Id(required=True, code=1, invalid_code=4)
    IPAddress = IpText(required=True, code=2)
    EmailAddress = Text(max_length=255, code=3, invalid_code=6)
    SubscriberID = Id(code=3, invalid_code=7)
    CampaignID = Int(min_value=0, code=8)
    EmailID = Int(min_value=0, code=10)
    AutoResponderID = Int(min_value=0, lenient=True)  # accepted; there are no autoresponders to credit
    Channel = Text(max_length=64, lenient=True)
    Preview = Bool()
    AddToGlobalSuppression = Bool()
    RulesJSON = RulesJsonText(code=7)
    RulesOperator = Text(lenient=True)

    @validates_schema
    def selector(self, data, **kwargs):
        if "RulesJSON" in data:
            data["RulesOperator"] = rules_operator(data, 7)
        elif "EmailAddress" not in data and "SubscriberID" not in data:
            raise ParamError(3, "give EmailAddress or SubscriberID (or, as the list owner, RulesJSON)")


def unsubscribe(ctx: Context, p: dict) -> dict:
    """One address, or (list owner only) every subscriber the RulesJSON criteria select."""
    common = dict(ip=p["IPAddress"], email=p.get("EmailAddress"), subscriber_id=p.get("SubscriberID"),
                  campaign_id=p.get("CampaignID"), email_id=p.get("EmailID"), channel=p.get("Channel", "API"),
                  preview=p.get("Preview", False), add_to_global_suppression=p.get("AddToGlobalSuppression", False))
    if "RulesJSON" in p:
        count, redirect = ctx.uow.bulk_subscribers.unsubscribe_matching(ctx.actor, p["ListID"], p["RulesJSON"],
                                                                        p["RulesOperator"], **common)
        return {"RedirectURL": redirect, "TotalUnsubscribed": count}
    _, redirect = ctx.uow.subscribers.unsubscribe_on_request(ctx.actor, p["ListID"], **common)
    return {"RedirectURL": redirect}


SUBSCRIBER_UNSUBSCRIBE = Command(
    name="Subscriber.Unsubscribe", run=unsubscribe, params=UnsubscribeParams, auth=PUBLIC,
    rate_limit_owner_lists=lambda p: [p["ListID"]],
    errors={
        1: "List ID is required.",
        2: "IP address is required.",
        3: "Either email address or subscriber ID must be provided.",
        4: "Invalid list ID or list does not exist.",
        5: "User information could not be retrieved.",
        6: "Invalid email address format.",
        7: "Subscriber does not exist or does not belong to the list, or invalid RulesJSON syntax.",
        8: "Invalid campaign ID or autoresponder ID.",
        9: "Subscriber is already unsubscribed.",
        10: "Invalid email ID.",
        11: "Invalid query builder response.",
    },
    raises={EmailAddressRequired: 3, ListNotFound: 4, InvalidEmailAddress: 6, SubscriberNotFound: 7, InvalidRules: 7,
            CampaignNotFound: 8, AlreadyUnsubscribed: 9, EmailNotFound: 10},
)

COMMANDS = (SUBSCRIBER_OPTIN, SUBSCRIBER_SUBSCRIBE, SUBSCRIBER_UNSUBSCRIBE)
