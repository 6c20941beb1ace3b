"""The Webhook action: one signed POST per subscriber reaching it, through the webhook delivery of
engine/events (outbox event + delivery row, claimed, signed as a JWT, retried with backoff, POSTed by
webhook_http with its private-address guard). Both rows are written in the runner's transaction, so a
step and its POST are queued together or not at all, and a step taken once is posted at most once per
attempt schedule (the dispatcher's at-least-once: a receiver de-duplicates on X-Sendmill-Event-Id).

The POST goes to the owner's webhook endpoint for WebhookURL: one registered with Webhook.Create (its
secret known to the user, its event types irrelevant here), else an endpoint made for it, subscribed to
no event anything fans out (JOURNEY_EVENT_TYPE), whose secret is never shown (README "Journeys").
"""
from __future__ import annotations

import json
import secrets
import uuid
from datetime import datetime, timezone

from sqlalchemy import insert, literal, select

from engine.events import outbox
from engine.models import Journey, JourneyEnrollment as E, Subscriber
from engine.models.outbox import OutboxEvent
from engine.models.webhooks import WebhookDelivery, WebhookEndpoint, WebhookEventType

SLUG = "journey"
JOURNEY_EVENT_TYPE = f"{outbox.WEBHOOK}_{SLUG}"   # the webhook entity is never fanned out


def webhook(session, token, action, p, now: datetime) -> None:
    journey = session.get(Journey, action.journey_id)
    url = str(p.get("WebhookURL") or "")
    if journey is None or not url:
        return
    rows = session.execute(select(E.id, E.subscriber_id, E.list_id, E.run_no, Subscriber.email_address)
                           .outerjoin(Subscriber, Subscriber.id == E.subscriber_id).where(E.claim == token)).all()
    if not rows:
        return
    endpoint_id = _endpoint(session, journey.owner_user_id, url, now)
    stamp = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    events = [{"event_id": str(uuid.uuid4()), "owner_user_id": journey.owner_user_id, "entity_fqdn": outbox.WEBHOOK,
               "slug": SLUG, "entity_id": str(journey.id), "occurred_at": now, "payload": json.dumps({
                   "journeyId": str(journey.id), "actionId": str(action.id), "subscriberId": str(subscriber_id),
                   "listId": str(list_id), "emailAddress": address or "", "runNo": run_no, "timestamp": stamp})}
              for _, subscriber_id, list_id, run_no, address in rows]
    session.execute(insert(OutboxEvent), events)
    d = WebhookDelivery
    session.execute(insert(d).from_select(
        ["event_id", "endpoint_id", "state", "attempts", "next_attempt_at", "claim", "last_error", "created_at"],
        select(OutboxEvent.id, literal(endpoint_id), literal("pending"), literal(0),
               literal(now, d.next_attempt_at.type), literal(""), literal(""), literal(now, d.created_at.type))
        .where(OutboxEvent.event_id.in_([e["event_id"] for e in events]))))


def _endpoint(session, owner_user_id: int, url: str, now: datetime) -> int:
    mine = select(WebhookEndpoint.id).where(WebhookEndpoint.owner_user_id == owner_user_id,
                                            WebhookEndpoint.url == url)
    found = session.scalar(mine.order_by(WebhookEndpoint.enabled.desc(), WebhookEndpoint.id).limit(1))
    if found is not None:
        return found
    endpoint = WebhookEndpoint(owner_user_id=owner_user_id, url=url, secret=secrets.token_urlsafe(32), enabled=True,
                               created_at=now, updated_at=now, active_since=now)
    session.add(endpoint)
    session.flush()
    session.add(WebhookEventType(endpoint_id=endpoint.id, event_type=JOURNEY_EVENT_TYPE))
    session.flush()
    return endpoint.id
