"""Email subscriptions over REST (modern-email-subscriptions-api.txt): query, upsert, bulk upsert and
the unsubscribe link (Wix's `POST /email-marketing/v1/email-subscriptions/unsubscribe-link`).

Filter: `{"email": {"$in": [...]}}`, `{"email": {"$eq": "..."}}` or `{"email": "..."}`; no filter
lists every subscription of the caller. SubscriptionPaging: `limit` 0–1000 (default 100), `offset`.
"""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from engine.audience.email_subscriptions import MAX_BULK, MAX_QUERY_EMAILS
from engine.errors import InvalidEmailAddress, InvalidValue
from engine.models.email_subscriptions import DELIVERABILITY_STATUSES, SUBSCRIPTION_STATUSES
from protocol.rest.core import Endpoint, RestContext, RestSchema
from protocol.views.email_subscriptions import rest_bulk, rest_subscription

BASE = "/email-marketing/v1/email-subscriptions"
TAG = "Email subscriptions"
BAD_INPUT = (400, "INVALID_ARGUMENT")
ERRORS = {InvalidEmailAddress: BAD_INPUT, InvalidValue: BAD_INPUT}


class EmailFilter(fields.Field):
    """The query filter: only the `email` field, with `$in`, `$eq` or a bare value; None = no filter."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("must be an object such as {\"email\": {\"$in\": [...]}}")
        unknown = sorted(set(value) - {"email"})
        if unknown:
            raise ValidationError(f"filtering is supported on `email` only, not {', '.join(unknown)}")
        if "email" not in value:
            return None
        condition = value["email"]
        if isinstance(condition, str):
            condition = {"$eq": condition}
        if not isinstance(condition, dict) or len(condition) != 1 or next(iter(condition)) not in ("$in", "$eq"):
            raise ValidationError("`email` takes {\"$in\": [addresses]} or {\"$eq\": address}")
        operator, operand = next(iter(condition.items()))
        emails = operand if operator == "$in" else [operand]
        if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
            raise ValidationError(f"`{operator}` takes {'a list of addresses' if operator == '$in' else 'an address'}")
        if len(emails) > MAX_QUERY_EMAILS:
            raise ValidationError(f"`$in` takes at most {MAX_QUERY_EMAILS} addresses")
        return emails


class SubscriptionPaging(RestSchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(0, 1000), strict=True)
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 2**31 - 1), strict=True)


class SubscriptionQueryBody(RestSchema):
    filter = EmailFilter(load_default=None)
    paging = fields.Nested(SubscriptionPaging, load_default=lambda: {"limit": 100, "offset": 0})


class EmailSubscriptionObject(RestSchema):
    id = fields.String(dump_only=True)
    email = fields.String(required=True, validate=validate.Length(1, 254))
    subscriptionStatus = fields.String(validate=validate.OneOf(SUBSCRIPTION_STATUSES))
    deliverabilityStatus = fields.String(validate=validate.OneOf(DELIVERABILITY_STATUSES))
    createdDate = fields.String(dump_only=True)
    updatedDate = fields.String(dump_only=True)


class SubscriptionUpsertBody(RestSchema):
    subscription = fields.Nested(EmailSubscriptionObject, required=True)


class SubscriptionBulkBody(RestSchema):
    # Items are checked one by one by the engine, so a bad item fails alone (reported in `results`).
    subscriptions = fields.List(fields.Raw(), required=True, validate=validate.Length(1, MAX_BULK))


class UnsubscribeLinkBody(RestSchema):
    emailAddress = fields.String(required=True, validate=validate.Length(1, 254))
    language = fields.String(validate=validate.Regexp(r"^[A-Za-z]{2}$", error="must be a 2-letter ISO 639-1 code"))
    metadata = fields.Dict(keys=fields.String(), values=fields.String())


class SubscriptionQueryAnswer(RestSchema):
    subscriptions = fields.List(fields.Nested(EmailSubscriptionObject))
    metadata = fields.Dict()


class SubscriptionAnswer(RestSchema):
    subscription = fields.Nested(EmailSubscriptionObject)


class UnsubscribeLinkAnswer(RestSchema):
    link = fields.String()


def _engine_item(item):
    if not isinstance(item, dict):
        return item
    return {"email": item.get("email"), "subscription_status": item.get("subscriptionStatus"),
            "deliverability_status": item.get("deliverabilityStatus")}


def query(ctx: RestContext) -> dict:
    paging = ctx.body["paging"]
    rows, total = ctx.uow.email_subscriptions.find(ctx.actor, ctx.body["filter"], offset=paging["offset"],
                                                    limit=paging["limit"])
    return {"subscriptions": [rest_subscription(r) for r in rows],
            "metadata": {"count": len(rows), "offset": paging["offset"], "total": total, "tooManyToCount": False}}


def upsert(ctx: RestContext) -> dict:
    item = ctx.body["subscription"]
    row = ctx.uow.email_subscriptions.upsert(ctx.actor, item["email"], item.get("subscriptionStatus"),
                                             item.get("deliverabilityStatus"))
    return {"subscription": rest_subscription(row)}


def bulk_upsert(ctx: RestContext) -> dict:
    items = [_engine_item(item) for item in ctx.body["subscriptions"]]
    return rest_bulk(ctx.uow.email_subscriptions.bulk_upsert(ctx.actor, items))


def unsubscribe_link(ctx: RestContext) -> dict:
    return {"link": ctx.uow.email_subscriptions.unsubscribe_link(ctx.actor, ctx.body["emailAddress"])}


ENDPOINTS = [
    Endpoint("POST", f"{BASE}/query", query, "Query Email Subscriptions", TAG, body=SubscriptionQueryBody,
             response=SubscriptionQueryAnswer, errors=ERRORS, permission="EmailSubscriptions.Query"),
    Endpoint("POST", BASE, upsert, "Upsert Email Subscription", TAG, body=SubscriptionUpsertBody,
             response=SubscriptionAnswer, errors=ERRORS, permission="EmailSubscription.Upsert"),
    Endpoint("POST", f"{BASE}/bulk", bulk_upsert, "Bulk Upsert Email Subscription", TAG,
             body=SubscriptionBulkBody,
             errors=ERRORS, permission="EmailSubscriptions.BulkUpsert",
             description="Each item succeeds or fails alone; `results[].itemMetadata` reports it."),
    Endpoint("POST", f"{BASE}/unsubscribe-link", unsubscribe_link, "Generate Unsubscribe Link", TAG,
             body=UnsubscribeLinkBody, response=UnsubscribeLinkAnswer, errors=ERRORS,
             permission="EmailSubscription.UnsubscribeLink",
             description="A link to the public unsubscribe page; pressing its button sets UNSUBSCRIBED."),
]
