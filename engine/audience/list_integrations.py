"""List integrations (Oempro's ListIntegration.*): web service URLs told of a list's subscriptions and
unsubscriptions, and the HTML of subscribe / unsubscribe forms for a list.

An integration URL is a webhook endpoint scoped to one list (webhook_endpoints.list_id), so it is delivered
by the webhook machinery: signed, retried with back-off, at most once per (event, endpoint) under concurrent
dispatchers, and refused when it points at a private, loopback or link-local address
(engine/events/webhooks.py). `notify` records the outbox event in the transaction that subscribes or
unsubscribes, and only when the list has an enabled integration for that event.
"""
from __future__ import annotations

import html
import json
import secrets

from sqlalchemy import delete, exists, select

from engine.accounts.auth import Actor
from engine.errors import IntegrationNotFound, IntegrationUrlUnreachable
from engine.events import outbox
from engine.events.webhook_http import post
from engine.events.webhooks import checked_url, allow_private
from engine.models import Subscriber, SubscriberList
from engine.models.webhooks import WebhookEndpoint, WebhookEventType

EVENTS = ("subscription", "unsubscription")
TEST_TIMEOUT = 5.0   # seconds: TestURL holds the request while it POSTs


def event_type(event: str) -> str:
    return f"{outbox.LIST_INTEGRATION}_{event}"


def listens(list_id_column, event: str):
    """Whether the list (`list_id_column`, correlated) has an enabled integration URL for `event`: a column a
    caller that reads the list anyway selects with it (engine/audience/subscription_target.py)."""
    return exists().where(WebhookEndpoint.list_id == list_id_column, WebhookEndpoint.enabled.is_(True),
                          WebhookEventType.endpoint_id == WebhookEndpoint.id,
                          WebhookEventType.event_type == event_type(event))


class ListIntegrationService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session
        # (list ID, event) -> whether notify() records it, as read earlier in this unit of work (`known`).
        self._listening: dict[tuple[int, str], bool] = {}

    def known(self, list_id: int, event: str, listening: bool) -> None:
        """What `listens()` answered for the list in this unit of work: notify() then asks nothing. Only a
        command that cannot add or enable an integration URL before it notifies may say so."""
        self._listening[(list_id, event)] = listening

    # --- integration URLs ----------------------------------------------------------------------
    def add_url(self, actor: Actor, list_id: int, event: str, url: str) -> WebhookEndpoint:
        list_row = self.uow.lists.get(actor, list_id)
        now = self.uow.clock()
        endpoint = WebhookEndpoint(owner_user_id=list_row.owner_user_id, list_id=list_row.id,
                                   url=checked_url(url, self.uow.settings), secret=secrets.token_urlsafe(32),
                                   enabled=True, created_at=now, updated_at=now, active_since=now)
        self.s.add(endpoint)
        self.s.flush()
        self.s.add(WebhookEventType(endpoint_id=endpoint.id, event_type=event_type(event)))
        self.s.flush()
        return endpoint

    def urls(self, actor: Actor, list_id: int, event: str | None = None) -> list[tuple[WebhookEndpoint, str]]:
        """The list's integration URLs with their event, oldest first."""
        list_row = self.uow.lists.get(actor, list_id)
        query = (select(WebhookEndpoint, WebhookEventType.event_type)
                 .join(WebhookEventType, WebhookEventType.endpoint_id == WebhookEndpoint.id)
                 .where(WebhookEndpoint.list_id == list_row.id).order_by(WebhookEndpoint.id))
        if event is not None:
            query = query.where(WebhookEventType.event_type == event_type(event))
        return [(endpoint, kind.rsplit("_", 1)[1]) for endpoint, kind in self.s.execute(query)]

    def delete_urls(self, actor: Actor, ids: list[int]) -> int:
        """All or nothing: an ID that is not one of the caller's integration URLs deletes none."""
        query = select(WebhookEndpoint.id).where(WebhookEndpoint.id.in_(ids), WebhookEndpoint.list_id.is_not(None))
        if not actor.is_admin:
            query = query.where(WebhookEndpoint.owner_user_id == actor.id)
        found = set(self.s.scalars(query))
        missing = [i for i in ids if i not in found]
        if missing:
            raise IntegrationNotFound(f"web service integration {missing[0]} does not exist or is not yours")
        self.s.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id.in_(found)))
        return len(found)

    def test_url(self, url: str) -> int:
        """POST a test notice to the URL now; its HTTP status when 2xx, else IntegrationUrlUnreachable."""
        settings = self.uow.settings
        body = json.dumps({"event": "test", "source": "Sendmill ListIntegration.TestURL"})
        status, error = post(checked_url(url, settings), body, {"Content-Type": "application/json"},
                             TEST_TIMEOUT, allow_private=allow_private(settings))
        if status is None or not 200 <= status < 300:
            raise IntegrationUrlUnreachable(error or f"HTTP {status}")
        return status

    # --- delivery ------------------------------------------------------------------------------
    def notify(self, list_row: SubscriberList, subscriber: Subscriber, event: str) -> None:
        """Record the event for the list's integration URLs, when it has an enabled one for it."""
        listening = self._listening.get((list_row.id, event))
        if listening is None:
            listening = self.s.scalar(select(listens(list_row.id, event)))
        if not listening:
            return
        self.uow.outbox.record(owner_user_id=list_row.owner_user_id, entity_fqdn=outbox.LIST_INTEGRATION,
                               slug=event, entity_id=list_row.id, body={
                                   "event": event, "listId": str(list_row.id), "subscriberId": str(subscriber.id),
                                   "emailAddress": subscriber.email_address,
                                   "subscriptionStatus": subscriber.subscription_status})

    # --- forms ---------------------------------------------------------------------------------
    def subscription_form(self, actor: Actor, list_id: int, field_ids: list[int], *, email_label: str,
                          button: str) -> list[str]:
        """The lines of an HTML form that subscribes through Subscriber.Subscribe (a public command)."""
        list_row = self.uow.lists.get(actor, list_id)
        fields = {f.id: f for f in self.uow.custom_fields.applicable(list_row)}
        unknown = [i for i in field_ids if i not in fields]
        if unknown:
            raise IntegrationNotFound(f"custom field {unknown[0]} is not a field of this list")
        lines = self._form_head("Subscriber.Subscribe", list_row.id)
        lines += [f'<label>{html.escape(email_label)} <input type="email" name="EmailAddress" required></label>']
        for field_id in field_ids:
            lines.append(f'<label>{html.escape(fields[field_id].name)} '
                         f'<input type="text" name="CustomField{field_id}"></label>')
        return lines + [f'<button type="submit">{html.escape(button)}</button>', "</form>"]

    def unsubscription_form(self, actor: Actor, list_id: int, *, button: str) -> list[str]:
        list_row = self.uow.lists.get(actor, list_id)
        lines = self._form_head("Subscriber.Unsubscribe", list_row.id)
        return lines + ['<label>Email address <input type="email" name="EmailAddress" required></label>',
                        f'<button type="submit">{html.escape(button)}</button>', "</form>"]

    def _form_head(self, command: str, list_id: int) -> list[str]:
        action = html.escape(self.uow.settings.base_url.rstrip("/") + "/api.php")
        return [f'<form action="{action}" method="post">',
                f'<input type="hidden" name="Command" value="{command}">',
                f'<input type="hidden" name="ListID" value="{list_id}">',
                # The form cannot know the visitor's address; the field is only a record (IpText).
                '<input type="hidden" name="IPAddress" value="0.0.0.0">']
