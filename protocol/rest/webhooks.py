"""Webhook registration and delivery log over REST: `/webhooks/v1/webhooks` (Sendmill's own path;
the modern spec describes the events, not how an app registers for them).

The secret is in the create answer only (`secret`, next to `webhook`); store it then.
"""
from __future__ import annotations

from marshmallow import fields, validate

from engine.errors import InvalidWebhookEventType, InvalidWebhookUrl, WebhookDisabled
from engine.models.webhooks import DELIVERY_STATES
from engine.validation import as_id
from protocol.rest.core import Endpoint, RestContext, RestSchema
from protocol.views.webhooks import rest_delivery, rest_webhook

BASE = "/webhooks/v1/webhooks"
TAG = "Webhooks"
ERRORS = {InvalidWebhookUrl: (400, "INVALID_WEBHOOK_URL"), InvalidWebhookEventType: (400, "INVALID_EVENT_TYPE")}


class Webhook(RestSchema):
    id = fields.String(dump_only=True)
    url = fields.String(validate=validate.Length(1, 2000))
    eventTypes = fields.List(fields.String(validate=validate.Length(1, 200)), validate=validate.Length(0, 50))
    enabled = fields.Boolean()
    dateCreated = fields.String(dump_only=True)
    dateUpdated = fields.String(dump_only=True)


class NewWebhook(Webhook):
    url = fields.String(required=True, validate=validate.Length(1, 2000))


class WebhookCreateBody(RestSchema):
    webhook = fields.Nested(NewWebhook, required=True)


class WebhookUpdateBody(RestSchema):
    webhook = fields.Nested(Webhook, required=True)
    rotateSecret = fields.Boolean(load_default=False,
                                  metadata={"description": "true: a new secret, answered as `secret` this once"})


class WebhookDeliveriesQuery(RestSchema):
    state = fields.String(validate=validate.OneOf([s.upper() for s in DELIVERY_STATES]))
    limit = fields.Integer(data_key="paging.limit", load_default=100, validate=validate.Range(1, 1000))
    offset = fields.Integer(data_key="paging.offset", load_default=0, validate=validate.Range(0, 2**31 - 1))


class WebhookAnswer(RestSchema):
    webhook = fields.Nested(Webhook)


class WebhookCreateAnswer(WebhookAnswer):
    secret = fields.String(metadata={"description": "HS256 signing key of the JWT bodies; shown only here"})


class WebhookListAnswer(RestSchema):
    webhooks = fields.List(fields.Nested(Webhook))


class WebhookDeliveryRow(RestSchema):
    id = fields.String()
    eventId = fields.String()
    eventType = fields.String()
    entityId = fields.String()
    state = fields.String(metadata={"enum": [s.upper() for s in DELIVERY_STATES]})
    attempts = fields.Integer()
    nextAttemptDate = fields.String(allow_none=True)
    lastStatusCode = fields.Integer(allow_none=True)
    lastError = fields.String()
    dateDelivered = fields.String(allow_none=True)
    dateCreated = fields.String()


class WebhookDeliveriesAnswer(RestSchema):
    deliveries = fields.List(fields.Nested(WebhookDeliveryRow))
    pagingMetadata = fields.Dict()


class WebhookTestAnswer(RestSchema):
    eventId = fields.String()
    deliveryId = fields.String()


def _webhook_id(ctx: RestContext) -> int:
    return as_id(ctx.path["webhookId"]) or 0   # 0 names no row: answered 404 like a stranger's id


def create(ctx: RestContext) -> dict:
    item = ctx.body["webhook"]
    endpoint, types, secret = ctx.uow.webhooks.create(ctx.actor, item["url"], item.get("eventTypes"),
                                                      item.get("enabled", True))
    return {"webhook": rest_webhook(endpoint, types), "secret": secret}


def list_webhooks(ctx: RestContext) -> dict:
    return {"webhooks": [rest_webhook(e, types) for e, types in ctx.uow.webhooks.list(ctx.actor)]}


def get_webhook(ctx: RestContext) -> dict:
    return {"webhook": rest_webhook(*ctx.uow.webhooks.show(ctx.actor, _webhook_id(ctx)))}


def update(ctx: RestContext) -> dict:
    item = ctx.body["webhook"]
    endpoint, types, secret = ctx.uow.webhooks.update(
        ctx.actor, _webhook_id(ctx), url=item.get("url"), event_types=item.get("eventTypes"),
        enabled=item.get("enabled"), rotate_secret=ctx.body["rotateSecret"])
    return {"webhook": rest_webhook(endpoint, types), **({"secret": secret} if secret else {})}


def delete(ctx: RestContext) -> dict:
    ctx.uow.webhooks.delete(ctx.actor, _webhook_id(ctx))
    return {}


def deliveries(ctx: RestContext) -> dict:
    a = ctx.args
    state = a.get("state")
    page = ctx.uow.webhooks.deliveries(ctx.actor, _webhook_id(ctx), state=state.lower() if state else None,
                                       offset=a["offset"], limit=a["limit"])
    return {"deliveries": [rest_delivery(d, e) for d, e in page.rows],
            "pagingMetadata": {"count": len(page.rows), "offset": a["offset"], "total": page.total}}


def test(ctx: RestContext) -> dict:
    event, delivery = ctx.uow.webhooks.ping(ctx.actor, _webhook_id(ctx))
    return {"eventId": event.event_id, "deliveryId": str(delivery.id)}


ENDPOINTS = [
    Endpoint("POST", BASE, create, "Create Webhook", TAG, body=WebhookCreateBody, response=WebhookCreateAnswer,
             errors=ERRORS,
             permission="Webhook.Create",
             description="Registers a URL for signed event POSTs; the answer's `secret` is never shown again."),
    Endpoint("GET", BASE, list_webhooks, "List Webhooks", TAG, response=WebhookListAnswer, permission="Webhooks.Get"),
    Endpoint("GET", f"{BASE}/{{webhookId}}", get_webhook, "Get Webhook", TAG, response=WebhookAnswer,
             permission="Webhooks.Get"),
    Endpoint("PATCH", f"{BASE}/{{webhookId}}", update, "Update Webhook", TAG, body=WebhookUpdateBody,
             response=WebhookCreateAnswer, errors=ERRORS, permission="Webhook.Update",
             description="Changes the fields given; `eventTypes: []` receives every event again; "
                         "`rotateSecret: true` answers a new `secret` (this once)."),
    Endpoint("DELETE", f"{BASE}/{{webhookId}}", delete, "Delete Webhook", TAG, permission="Webhook.Delete"),
    Endpoint("GET", f"{BASE}/{{webhookId}}/deliveries", deliveries, "List Webhook Deliveries", TAG,
             query_params=WebhookDeliveriesQuery, response=WebhookDeliveriesAnswer, permission="Webhook.Deliveries.Get",
             description="The delivery log, newest first; filter by `state`."),
    Endpoint("POST", f"{BASE}/{{webhookId}}/test", test, "Test Webhook", TAG, response=WebhookTestAnswer,
             errors={WebhookDisabled: (428, "WEBHOOK_DISABLED")}, permission="Webhook.Test",
             description="Queues a `sendmill.v1.webhook_ping` event for this endpoint only; the next "
                         "dispatch pass delivers it."),
]
