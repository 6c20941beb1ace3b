"""Webhook registration and the delivery log over /api.php (commands Sendmill adds, legacy style).

`EventTypes` is a comma list, an `EventTypes[]=` list or a JSON array of event types (an event's
`eventType`, or an `entityFqdn` for all of its events); absent on create = every event, `*` on
update = every event again. Scalar error codes, as for the other commands Sendmill adds.
"""
from __future__ import annotations

import json

from marshmallow import ValidationError

from engine.errors import InvalidWebhookEventType, InvalidWebhookUrl, WebhookDisabled, WebhookNotFound
from engine.models.webhooks import DELIVERY_STATES
from protocol.command import SCALAR, Command, Context
from protocol.params import Bool, Choice, Id, Int, LegacyField, LegacySchema, Text
from protocol.views.webhooks import legacy_delivery, legacy_webhook

NOT_FOUND = "Webhook does not exist or does not belong to the user"
BAD_URL = "Invalid URL (an absolute http:// or https:// URL, at most 2000 characters)"
BAD_TYPES = "Invalid event types (unknown eventType or entityFqdn, or more than 50)"


class EventTypeList(LegacyField):
    """A list of event types; `*` = every event (an empty list)."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, str) and value.strip().startswith("["):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):  # RecursionError: nested thousands deep
                raise ValidationError("is not a valid JSON array") from None
        items = self._list_items(value)
        if not all(isinstance(i, str) for i in items):
            raise ValidationError("must be a list of event type names")
        names = [i.strip() for i in items if i.strip()]
        return [] if names == ["*"] else names


# --- Webhook.Create ----------------------------------------------------------------------------
class CreateParams(LegacySchema):
    URL = Text(required=True, code=1, invalid_code=2)
    EventTypes = EventTypeList(code=3)
    Enabled = Bool()


def create(ctx: Context, p: dict) -> dict:
    endpoint, types, secret = ctx.uow.webhooks.create(ctx.actor, p["URL"], p.get("EventTypes"),
                                                      p.get("Enabled", True))
    return {"WebhookID": endpoint.id, "Secret": secret, "Webhook": legacy_webhook(endpoint, types)}


WEBHOOK_CREATE = Command(
    name="Webhook.Create", run=create, params=CreateParams, error_shape=SCALAR,
    errors={1: "Missing required parameter (URL)", 2: BAD_URL, 3: BAD_TYPES},
    raises={InvalidWebhookUrl: 2, InvalidWebhookEventType: 3},
)


# --- Webhooks.Get ------------------------------------------------------------------------------
def list_webhooks(ctx: Context, p: dict) -> dict:
    rows = [legacy_webhook(endpoint, types) for endpoint, types in ctx.uow.webhooks.list(ctx.actor)]
    return {"TotalWebhookCount": len(rows), "Webhooks": rows}


WEBHOOKS_GET = Command(name="Webhooks.Get", run=list_webhooks, error_shape=SCALAR)


# --- Webhook.Update ----------------------------------------------------------------------------
class UpdateParams(LegacySchema):
    WebhookID = Id(required=True, code=1, invalid_code=2)
    URL = Text(code=3)
    EventTypes = EventTypeList(code=4)
    Enabled = Bool()
    RotateSecret = Bool()


def update(ctx: Context, p: dict) -> dict:
    endpoint, types, secret = ctx.uow.webhooks.update(
        ctx.actor, p["WebhookID"], url=p.get("URL"), event_types=p.get("EventTypes"), enabled=p.get("Enabled"),
        rotate_secret=p.get("RotateSecret", False))
    return {"Webhook": legacy_webhook(endpoint, types), **({"Secret": secret} if secret else {})}


WEBHOOK_UPDATE = Command(
    name="Webhook.Update", run=update, params=UpdateParams, error_shape=SCALAR,
    errors={1: "Missing required parameter (WebhookID)", 2: NOT_FOUND, 3: BAD_URL, 4: BAD_TYPES},
    raises={WebhookNotFound: 2, InvalidWebhookUrl: 3, InvalidWebhookEventType: 4},
)


# --- Webhook.Delete ----------------------------------------------------------------------------
class IdParams(LegacySchema):
    WebhookID = Id(required=True, code=1, invalid_code=2)


def delete(ctx: Context, p: dict) -> dict:
    ctx.uow.webhooks.delete(ctx.actor, p["WebhookID"])
    return {}


WEBHOOK_DELETE = Command(
    name="Webhook.Delete", run=delete, params=IdParams, error_shape=SCALAR,
    errors={1: "Missing required parameter (WebhookID)", 2: NOT_FOUND}, raises={WebhookNotFound: 2},
)


# --- Webhook.Deliveries.Get --------------------------------------------------------------------
class DeliveriesParams(LegacySchema):
    WebhookID = Id(required=True, code=1, invalid_code=2)
    State = Choice(DELIVERY_STATES, code=3)
    RecordsFrom = Int(min_value=0, code=4)
    RecordsPerRequest = Int(min_value=1, max_value=1000, code=5)


def deliveries(ctx: Context, p: dict) -> dict:
    page = ctx.uow.webhooks.deliveries(ctx.actor, p["WebhookID"], state=p.get("State"),
                                       offset=p.get("RecordsFrom", 0), limit=p.get("RecordsPerRequest", 100))
    return {"TotalDeliveryCount": page.total, "Deliveries": [legacy_delivery(d, e) for d, e in page.rows]}


WEBHOOK_DELIVERIES_GET = Command(
    name="Webhook.Deliveries.Get", run=deliveries, params=DeliveriesParams, error_shape=SCALAR,
    errors={1: "Missing required parameter (WebhookID)", 2: NOT_FOUND,
            3: "Invalid State (pending, sending, delivered or failed)", 4: "Invalid RecordsFrom",
            5: "Invalid RecordsPerRequest (1 to 1000)"},
    raises={WebhookNotFound: 2},
)


# --- Webhook.Test ------------------------------------------------------------------------------
def test(ctx: Context, p: dict) -> dict:
    event, delivery = ctx.uow.webhooks.ping(ctx.actor, p["WebhookID"])
    return {"EventID": event.event_id, "DeliveryID": delivery.id}


WEBHOOK_TEST = Command(
    name="Webhook.Test", run=test, params=IdParams, error_shape=SCALAR,
    errors={1: "Missing required parameter (WebhookID)", 2: NOT_FOUND, 3: "The webhook is disabled"},
    raises={WebhookNotFound: 2, WebhookDisabled: 3},
)

COMMANDS = (WEBHOOK_CREATE, WEBHOOKS_GET, WEBHOOK_UPDATE, WEBHOOK_DELETE, WEBHOOK_DELIVERIES_GET, WEBHOOK_TEST)
