"""Recording domain events in the outbox, inside the caller's unit of work.

Services call `uow.outbox.record(...)` next to the change the event describes; the row shares
that transaction. Delivery to webhooks happens later, from the outbox (engine/events/webhooks.py).
"""
from __future__ import annotations

import json
import uuid

from engine.hot_insert import insert_now
from engine.models.outbox import OutboxEvent

# entityFqdn values of the modern events (modern-*-api.txt).
CAMPAIGN = "wix.email_marketing.v1.campaign"
EMAIL_ACTIVITY = "wix.email_marketing.v1.campaign"   # slug email_activity_updated
SENDER_EMAIL = "wix.promote.v1.sender_email"
EMAIL_SUBSCRIPTION = "wix.email_marketing.v1.email_subscription"   # slug email_subscription_changed
# slugs subscription / unsubscription, entity_id = the list ID: delivered only to that list's integration URLs
LIST_INTEGRATION = "sendmill.v1.list_integration"
WEBHOOK = "sendmill.v1.webhook"   # slug ping: Webhook.Test, delivered to the one endpoint tested


class OutboxService:
    def __init__(self, uow):
        self.uow = uow

    def record(self, *, owner_user_id: int, entity_fqdn: str, slug: str, entity_id, body: dict) -> OutboxEvent:
        event = OutboxEvent(event_id=str(uuid.uuid4()), owner_user_id=owner_user_id, entity_fqdn=entity_fqdn,
                            slug=slug, entity_id=str(entity_id), payload=json.dumps(body, default=str),
                            occurred_at=self.uow.clock())
        # Written now (one prebuilt INSERT: engine/hot_insert.py), not at the next flush: every public
        # subscription records one, and the flush cost more than the INSERT.
        insert_now(self.uow.session, event)
        return event
