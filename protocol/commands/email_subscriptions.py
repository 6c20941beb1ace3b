"""Email subscriptions as /api.php commands (Sendmill's own, over the same engine as the REST surface).

EmailSubscriptions.Query, EmailSubscription.Upsert, EmailSubscriptions.BulkUpsert and
EmailSubscription.UnsubscribeLink; scalar error codes, listed in the README.
"""
from __future__ import annotations

import json

from marshmallow import ValidationError

from engine.audience.email_subscriptions import MAX_BULK, MAX_QUERY_EMAILS
from engine.errors import InvalidEmailAddress, InvalidValue
from engine.models.email_subscriptions import DELIVERABILITY_STATUSES, SUBSCRIPTION_STATUSES
from protocol.command import SCALAR, Command, Context
from protocol.params import Choice, Int, LegacyField, LegacySchema, Text
from protocol.views.email_subscriptions import legacy_bulk, legacy_subscription


def _items(value) -> list:
    """A list from a JSON array, a real array, or a bracket map (`a[0]=…&a[1]=…` arrives as {"0": …})."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise ValidationError("is not a JSON array")
    if isinstance(value, dict):
        if not all(str(k).isdecimal() for k in value):
            raise ValidationError("is not an array")
        value = [value[k] for k in sorted(value, key=int)]
    if not isinstance(value, list):
        raise ValidationError("is not an array")
    return value


class EmailList(LegacyField):
    """Addresses: a JSON array, a real array, or a comma-separated string."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        if isinstance(value, str) and not value.strip().startswith("["):
            items = [part for part in value.split(",") if part.strip()]
        else:
            items = _items(value)
        if any(not isinstance(item, str) for item in items):
            raise ValidationError("must hold email addresses (strings)")
        if len(items) > MAX_QUERY_EMAILS:
            raise ValidationError(f"at most {MAX_QUERY_EMAILS} addresses")
        return [item.strip() for item in items]


class SubscriptionItems(LegacyField):
    """BulkUpsert's Subscriptions: 1–100 objects; each is checked on its own by the engine."""

    def _deserialize(self, value, attr, data, **kwargs) -> list:
        items = _items(value)
        if not 1 <= len(items) <= MAX_BULK:
            raise ValidationError(f"must hold 1 to {MAX_BULK} subscriptions")
        return [_engine_item(item) for item in items]


def _engine_item(item):
    if not isinstance(item, dict):
        return item
    keys = {str(k).lower(): v for k, v in item.items()}
    return {"email": keys.get("emailaddress", keys.get("email")),
            "subscription_status": keys.get("subscriptionstatus"),
            "deliverability_status": keys.get("deliverabilitystatus")}


# --- EmailSubscriptions.Query --------------------------------------------------------------------
class QueryParams(LegacySchema):
    EmailAddresses = EmailList(code=1)
    Offset = Int(min_value=0, code=2)
    Limit = Int(min_value=0, max_value=1000, code=2)


def query(ctx: Context, p: dict) -> dict:
    rows, total = ctx.uow.email_subscriptions.find(ctx.actor, p.get("EmailAddresses"), offset=p.get("Offset", 0),
                                                    limit=p.get("Limit", 100))
    return {"TotalRecords": total, "Subscriptions": [legacy_subscription(r) for r in rows]}


EMAIL_SUBSCRIPTIONS_QUERY = Command(
    name="EmailSubscriptions.Query", run=query, params=QueryParams, error_shape=SCALAR,
    errors={1: "Invalid EmailAddresses (not a list of valid addresses, or more than 1000)",
            2: "Invalid Offset or Limit (Limit is 0 to 1000)"},
    raises={InvalidEmailAddress: 1},
)


# --- EmailSubscription.Upsert --------------------------------------------------------------------
class UpsertParams(LegacySchema):
    EmailAddress = Text(max_length=254, code=1, invalid_code=2, required=True)
    SubscriptionStatus = Choice(SUBSCRIPTION_STATUSES, code=3)
    DeliverabilityStatus = Choice(DELIVERABILITY_STATUSES, code=4)


def upsert(ctx: Context, p: dict) -> dict:
    row = ctx.uow.email_subscriptions.upsert(ctx.actor, p["EmailAddress"], p.get("SubscriptionStatus"),
                                             p.get("DeliverabilityStatus"))
    return {"Subscription": legacy_subscription(row)}


EMAIL_SUBSCRIPTION_UPSERT = Command(
    name="EmailSubscription.Upsert", run=upsert, params=UpsertParams, error_shape=SCALAR,
    errors={1: "Missing EmailAddress", 2: "Invalid email address",
            3: "Invalid SubscriptionStatus (NOT_SET, PENDING, SUBSCRIBED or UNSUBSCRIBED)",
            4: "Invalid DeliverabilityStatus (NOT_SET, VALID, BOUNCED, SPAM_COMPLAINT or INACTIVE)"},
    raises={InvalidEmailAddress: 2, InvalidValue: 3},
)


# --- EmailSubscriptions.BulkUpsert ---------------------------------------------------------------
class BulkParams(LegacySchema):
    Subscriptions = SubscriptionItems(code=1, invalid_code=2, required=True)


def bulk_upsert(ctx: Context, p: dict) -> dict:
    return legacy_bulk(ctx.uow.email_subscriptions.bulk_upsert(ctx.actor, p["Subscriptions"]))


EMAIL_SUBSCRIPTIONS_BULK_UPSERT = Command(
    name="EmailSubscriptions.BulkUpsert", run=bulk_upsert, params=BulkParams, error_shape=SCALAR,
    errors={1: "Missing Subscriptions",
            2: "Subscriptions must be a JSON array of 1 to 100 objects"},
)


# --- EmailSubscription.UnsubscribeLink -----------------------------------------------------------
class LanguageCode(Text):
    """A 2-letter ISO 639-1 language code such as `en`."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not (len(text) == 2 and text.isascii() and text.isalpha()):
            raise ValidationError("must be a 2-letter ISO 639-1 code")
        return text


class LinkParams(LegacySchema):
    EmailAddress = Text(max_length=254, code=1, invalid_code=2, required=True)
    Language = LanguageCode(code=3)   # accepted for the modern API's sake; the page is in English


def unsubscribe_link(ctx: Context, p: dict) -> dict:
    return {"UnsubscribeLink": ctx.uow.email_subscriptions.unsubscribe_link(ctx.actor, p["EmailAddress"])}


EMAIL_SUBSCRIPTION_UNSUBSCRIBE_LINK = Command(
    name="EmailSubscription.UnsubscribeLink", run=unsubscribe_link, params=LinkParams, error_shape=SCALAR,
    errors={1: "Missing EmailAddress", 2: "Invalid email address", 3: "Invalid Language (a 2-letter code)"},
    raises={InvalidEmailAddress: 2},
)

COMMANDS = (EMAIL_SUBSCRIPTIONS_QUERY, EMAIL_SUBSCRIPTION_UPSERT, EMAIL_SUBSCRIPTIONS_BULK_UPSERT,
            EMAIL_SUBSCRIPTION_UNSUBSCRIBE_LINK)
