"""How webhook endpoints and their delivery log look on the wire (REST and /api.php).

The signing secret is never part of these views: it is answered once, by the create call.
"""
from __future__ import annotations

from datetime import datetime, timezone

from engine.models.outbox import OutboxEvent
from engine.models.webhooks import WebhookDelivery, WebhookEndpoint
from engine.events.webhooks import event_type

LEGACY_FORMAT = "%Y-%m-%d %H:%M:%S"


def _legacy_time(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime(LEGACY_FORMAT) if moment else ""


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


# --- REST (modern field names) --------------------------------------------------------------------
def rest_webhook(endpoint: WebhookEndpoint, types: list[str]) -> dict:
    return {"id": str(endpoint.id), "url": endpoint.url, "eventTypes": types, "enabled": endpoint.enabled,
            "dateCreated": _iso(endpoint.created_at), "dateUpdated": _iso(endpoint.updated_at)}


def rest_delivery(delivery: WebhookDelivery, event: OutboxEvent) -> dict:
    return {"id": str(delivery.id), "eventId": event.event_id, "eventType": event_type(event),
            "entityId": event.entity_id, "state": delivery.state.upper(), "attempts": delivery.attempts,
            "nextAttemptDate": _iso(delivery.next_attempt_at) if delivery.state == "pending" else None,
            "lastStatusCode": delivery.last_status_code, "lastError": delivery.last_error,
            "dateDelivered": _iso(delivery.delivered_at), "dateCreated": _iso(delivery.created_at)}


# --- /api.php (legacy style) ------------------------------------------------------------------------
def legacy_webhook(endpoint: WebhookEndpoint, types: list[str]) -> dict:
    return {"WebhookID": endpoint.id, "URL": endpoint.url, "EventTypes": types,
            "Enabled": endpoint.enabled, "CreatedAt": _legacy_time(endpoint.created_at),
            "UpdatedAt": _legacy_time(endpoint.updated_at)}


def legacy_delivery(delivery: WebhookDelivery, event: OutboxEvent) -> dict:
    return {"DeliveryID": delivery.id, "EventID": event.event_id, "EventType": event_type(event),
            "EntityID": event.entity_id, "State": delivery.state, "Attempts": delivery.attempts,
            "NextAttemptAt": _legacy_time(delivery.next_attempt_at) if delivery.state == "pending" else "",
            "LastStatusCode": delivery.last_status_code, "LastError": delivery.last_error,
            "DeliveredAt": _legacy_time(delivery.delivered_at), "CreatedAt": _legacy_time(delivery.created_at)}
