"""The list owner's subscriber commands (api-reference/subscribers.md, v5.6.x and v5.9.4
subscribers.md; protocol.md §3.4, §6): Subscriber.Get, Subscriber.Update, Subscribers.Get and
Subscribers.Delete.

Command errors are lists, as in the public commands, except Subscribers.Get, whose documented
scalar shape is kept (legacy-clients.md §6). The public Subscribe / OptIn / Unsubscribe commands are in
public_subscription.py, Subscribers.Import in subscriber_import.py.
"""
from __future__ import annotations

import re

from marshmallow import ValidationError, validates_schema

from engine.errors import (
    CustomFieldInvalid, CustomFieldNotUnique, CustomFieldRequired, InvalidEmailAddress, InvalidRules,
    InvalidSearchField, ListNotFound, SegmentUnavailable, SubscriberExists, SubscriberNotFound, UnknownCustomFields,
)
from engine.models.subscribers import BOUNCE_TYPES, SUBSCRIPTION_STATUSES
from engine.audience.subscriber_search import NAMED_SEGMENTS, SubscriberQuery
from engine.validation import as_id
from protocol.command import SCALAR, Command, Context
from protocol.commands.subscriber_params import (
    CUSTOM_FIELD_PARAMS, OK, EmailText, IpText, LegacyDateTime, RulesJsonText, field_errors, field_values,
    rules_operator,
)
from protocol.params import Bool, Choice, Id, IdList, Int, LegacyField, LegacySchema, ParamError, Text
from protocol.views.autoresponders import subscriber_activity_row
from protocol.views.subscriber_tags import subscriber_tag
from protocol.views.subscribers import subscriber_row

DEFAULT_PAGE = 25
# Subscribers.Get answers are built in memory: a page holds at most this many rows (TotalSubscribers
# always gives the full count, so a client can page through any list).
MAX_PAGE = 50_000
STATUS_ALIASES = {"Confirmation Pending": "Opt-In Pending", "Pending": "Opt-In Pending", "Active": "Subscribed"}


def _subscriber_info(ctx: Context, subscriber, list_row) -> dict:
    field_ids = [f.id for f in ctx.uow.custom_fields.applicable(list_row)]
    values = ctx.uow.subscribers.values_of([subscriber.id])[subscriber.id]
    return subscriber_row(subscriber, values, field_ids)


# --- Subscriber.Get ----------------------------------------------------------------------------
class GetParams(LegacySchema):
    ListID = Id(required=True, code=2, invalid_code=4)
    EmailAddress = Text(max_length=255, code=1, invalid_code=3)
    SubscriberID = Id(code=1, invalid_code=3)

    @validates_schema
    def selector(self, data, **kwargs):
        if "EmailAddress" not in data and "SubscriberID" not in data:
            raise ParamError(1, "give EmailAddress or SubscriberID")


def get(ctx: Context, p: dict) -> dict:
    subscriber = ctx.uow.subscribers.get(ctx.actor, p["ListID"], subscriber_id=p.get("SubscriberID"),
                                         email=p.get("EmailAddress"))
    info = _subscriber_info(ctx, subscriber, ctx.uow.lists.get(ctx.actor, p["ListID"]))
    suppressed = ctx.uow.subscribers.is_suppressed(subscriber)
    info["Suppressed"] = suppressed  # v5.6.x shows it here, v5.9.4 at the top level: both
    tags = ctx.uow.subscriber_tags.tags_of([subscriber.id])[subscriber.id]
    return {"SubscriberInformation": info, "Suppressed": suppressed,
            "SubscriberTags": [subscriber_tag(t) for t in tags],
            "SubscriberSegments": [], "SubscriberJourneys": [],
            "SubscriberActivity": [subscriber_activity_row(row, name) for row, name in
                                   ctx.uow.autoresponder_activity.of_subscriber(subscriber.id)],
            "SubscriberWebsiteEvents": [], "TotalRevenue": 0}


SUBSCRIBER_GET = Command(
    name="Subscriber.Get", run=get, params=GetParams, permission="Subscribers.Get",
    errors={1: "Email address is required.", 2: "List ID is required.", 3: "Subscriber not found.",
            4: "List not found."},
    raises={SubscriberNotFound: 3, ListNotFound: 4},
)


# --- Subscriber.Update -------------------------------------------------------------------------
class UpdateParams(LegacySchema):
    SubscriberID = Id(required=True, code=1, invalid_code=6)
    SubscriberListID = Id(required=True, code=2, invalid_code=5)
    EmailAddress = EmailText(code=3, invalid_code=4)
    SubscriptionStatus = Choice(SUBSCRIPTION_STATUSES, aliases=STATUS_ALIASES, code=12)
    BounceType = Choice(BOUNCE_TYPES, aliases={"Soft bounced": "Soft", "Hard bounced": "Hard"}, code=12)
    UnsubscriptionIP = IpText(code=12)
    UnsubscriptionDate = LegacyDateTime(code=12)
    EnforceRequiredFields = Bool()
    # Accepted for old clients; only the fields given ever change, so it changes nothing.
    IgnoreAllOtherCustomFieldsExceptGivenOnes = Bool()


UPDATE_FIELD_CODES = {CustomFieldRequired: 8, CustomFieldNotUnique: 9, CustomFieldInvalid: 10,
                      UnknownCustomFields: 11}
UPDATE_KEYS = {"EmailAddress": "email", "SubscriptionStatus": "subscription_status", "BounceType": "bounce_type",
               "UnsubscriptionIP": "unsubscription_ip", "UnsubscriptionDate": "unsubscription_date"}


def update(ctx: Context, p: dict) -> dict:
    changes = {UPDATE_KEYS[k]: v for k, v in p.items() if k in UPDATE_KEYS}
    with field_errors(UPDATE_FIELD_CODES, plural=True):
        ctx.uow.subscribers.update(ctx.actor, p["SubscriberListID"], p["SubscriberID"], changes,
                                   field_values(ctx.params), enforce_required=p.get("EnforceRequiredFields", False))
    return {}


SUBSCRIBER_UPDATE = Command(
    name="Subscriber.Update", run=update, params=UpdateParams, success_extra=OK,
    extra_params=CUSTOM_FIELD_PARAMS,
    errors={
        1: "Required field 'subscriberid' is missing.",
        2: "Required field 'subscriberlistid' is missing.",
        3: "Email address is empty.",
        4: "Email address is invalid.",
        5: "Subscriber list does not exist or does not belong to the user.",
        6: "Subscriber does not exist.",
        7: "Email address is a duplicate.",
        8: "Required custom field is missing.",
        9: "Custom field value is not unique.",
        10: "Custom field value failed validation.",
        11: "Unknown custom field ID(s)",
        12: "Invalid SubscriptionStatus, BounceType or unsubscription value",  # Sendmill's addition
    },
    raises={InvalidEmailAddress: 4, ListNotFound: 5, SubscriberNotFound: 6, SubscriberExists: 7,
            **UPDATE_FIELD_CODES},
)


# --- Subscribers.Get ---------------------------------------------------------------------------
class SegmentParam(LegacyField):
    """A named segment (Active, Unsubscribed, Suppressed, Soft bounced, Hard bounced, Opt-In Pending
    — also spelled "Confirmation Pending" as the WordPress widget does — or All) or a segment ID."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = self._scalar_text(value).strip()
        if text.isdigit():
            if as_id(text) is None:
                raise ValidationError(f"'{text}' is not a segment ID")
            return int(text)
        key = re.sub(r"[\s_-]+", "", text.lower())
        if key not in NAMED_SEGMENTS:
            raise ValidationError(f"'{text}' is neither a named segment nor a segment ID")
        return NAMED_SEGMENTS[key]


class SearchFieldParam(LegacyField):
    """The SearchField allow-list (v5.9.4): subscriber columns or a custom field (ID or CustomField<ID>)."""

    NAMES = {n.lower(): n for n in ("EmailAddress", "SubscriberID", "SubscriptionDate", "SubscriptionIP",
                                    "OptInDate")}

    def _deserialize(self, value, attr, data, **kwargs):
        text = self._scalar_text(value).strip().lower()
        if text in self.NAMES:
            return self.NAMES[text]
        match = re.fullmatch(r"(?:customfield)?(\d{1,18})", text)
        if match and as_id(match.group(1)) is not None:
            return int(match.group(1))
        raise ValidationError(f"'{text}' is not a searchable field")


class ListParams(LegacySchema):
    SubscriberListID = Id(required=True, code=1, invalid_code=3)
    SubscriberSegment = SegmentParam(required=True, code=2, invalid_code=5)
    SearchField = SearchFieldParam(code=4)
    SearchKeyword = Text(strip=False, lenient=True)
    OrderField = Text(lenient=True)
    OrderType = Choice(("ASC", "DESC"), lenient=True)
    RecordsFrom = Int(min_value=0, lenient=True)
    RecordsPerRequest = Int(min_value=0, lenient=True)


def list_subscribers(ctx: Context, p: dict) -> dict:
    keyword = p.get("SearchKeyword")
    query = SubscriberQuery(
        segment=p["SubscriberSegment"], search_field=p.get("SearchField"),
        keyword=keyword if keyword and keyword.strip() else None,
        order_field=p.get("OrderField", "").lower() or None, descending=p.get("OrderType") == "DESC",
        offset=p.get("RecordsFrom", 0), limit=min(p.get("RecordsPerRequest") or DEFAULT_PAGE, MAX_PAGE))
    page = ctx.uow.subscriber_pages.page(ctx.actor, p["SubscriberListID"], query)
    return {"Subscribers": [subscriber_row(r, page.values[r.id], page.field_ids) for r in page.rows],
            "TotalSubscribers": page.total}


SUBSCRIBERS_GET = Command(
    name="Subscribers.Get", run=list_subscribers, params=ListParams, error_shape=SCALAR, success_extra=OK,
    read_only=True,
    errors={
        1: "SubscriberListID is a required field.",
        2: "SubscriberSegment is a required field.",
        3: "The list does not belong to the authenticated user.",
        4: "Invalid SearchField (not a default search field or a numeric custom-field ID)",
        5: "Invalid SubscriberSegment (a named segment or a segment ID of this list)",  # Sendmill's addition
    },
    raises={ListNotFound: 3, InvalidSearchField: 4, SegmentUnavailable: 5},
)


# --- Subscribers.Delete ------------------------------------------------------------------------
class DeleteParams(LegacySchema):
    SubscriberListID = Id(required=True, code=2, invalid_code=5)
    Subscribers = IdList(code=1, invalid_code=8)
    RulesJSON = RulesJsonText(code=7)
    RulesOperator = Text(lenient=True)
    Suppressed = Bool()

    @validates_schema
    def selector(self, data, **kwargs):
        if "RulesJSON" in data:
            data["RulesOperator"] = rules_operator(data, 4)
        elif "RulesOperator" in data and "Subscribers" not in data:
            raise ParamError(3, "RulesOperator was given without RulesJSON")
        elif "Subscribers" not in data:
            raise ParamError(1, "missing required parameter subscribers (or RulesJSON)")


def delete(ctx: Context, p: dict) -> dict:
    """By IDs, by RulesJSON criteria, or both (the listed subscribers that match)."""
    rules = (p["RulesJSON"], p["RulesOperator"]) if "RulesJSON" in p else None
    suppression_only = p.get("Suppressed", False)
    count = ctx.uow.bulk_subscribers.delete(ctx.actor, p["SubscriberListID"], p.get("Subscribers"), rules=rules,
                                            suppression_only=suppression_only)
    return {"TotalUnsuppressed" if suppression_only else "TotalDeleted": count}


SUBSCRIBERS_DELETE = Command(
    name="Subscribers.Delete", run=delete, params=DeleteParams, success_extra=OK,
    errors={
        1: "Missing subscribers parameter",
        2: "Missing subscriber list id",
        3: "Missing RulesJSON parameter",
        4: "Missing RulesOperator parameter",
        5: "Invalid list id",
        6: "Invalid query builder response",
        7: "Invalid RulesJSON syntax. It must be a properly formatted JSON payload",
        8: "Invalid Subscribers value (contains a non-integer subscriber ID)",
    },
    raises={ListNotFound: 5, InvalidRules: 7},
)

COMMANDS = (SUBSCRIBER_GET, SUBSCRIBER_UPDATE, SUBSCRIBERS_DELETE, SUBSCRIBERS_GET)
