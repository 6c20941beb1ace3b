"""Webhooks: registering endpoints, and delivering outbox events to them as signed JWTs.

Delivery is two idempotent steps, safe to run from several processes at once:
* fan-out: one INSERT … SELECT queues every committed outbox event for every matching enabled
  endpoint of its owner that has no delivery row for it yet; the UNIQUE (event, endpoint) key makes
  a second, concurrent fan-out harmless. Only committed events exist for it: an event recorded in a
  rolled-back transaction was never there. Each endpoint keeps a cursor (`fanned_out_to`): a pass
  reads only events after it, and moves it over the events older than FANOUT_COMMIT_LAG, which every
  pass from then on would find already handled. Younger ones are read again: an event with a lower
  id may still be committed after a higher one was queued.
* dispatch (webhook_dispatch.py): due rows are claimed by compare-and-set (state + a random claim token + a lease), then
  POSTed outside any transaction; the outcome is written only while the claim is still ours.
"""
from __future__ import annotations

import ipaddress
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import jwt
from sqlalchemy import String, and_, cast, delete, exists, func, insert, literal, or_, select, update

from engine.events import outbox
from engine.errors import InvalidWebhookEventType, InvalidWebhookUrl, WebhookDisabled, WebhookNotFound
from engine.models.outbox import OutboxEvent
from engine.models.webhooks import WebhookDelivery, WebhookEndpoint, WebhookEventType
from engine.ownership import get_owned
from engine.events.public_address import is_public

MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
MAX_URL = 2000
MAX_EVENT_TYPES = 50
FANOUT_BATCH = 1000
# Longer than any transaction that records an outbox event stays open: an event that occurred this
# long ago and is not visible now never will be, so the fan-out cursor may pass it.
FANOUT_COMMIT_LAG = timedelta(minutes=10)
# Entities whose events a user may subscribe to (engine/events/outbox.py), and the ping of Webhook.Test.
KNOWN_FQDNS = (outbox.CAMPAIGN, outbox.SENDER_EMAIL, outbox.EMAIL_SUBSCRIPTION, outbox.WEBHOOK)


def retry_delay(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed POST: 30 s, 1 min, 2 min … capped at one hour."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)


def event_type(event: OutboxEvent) -> str:
    """The spec's `eventType`: entityFqdn + "_" + slug (wix.email_marketing.v1.campaign_created)."""
    return f"{event.entity_fqdn}_{event.slug}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def event_data(event: OutboxEvent) -> dict:
    """The spec's "Event Data" of one outbox event (sent stringified inside the JWT)."""
    body = json.loads(event.payload or "{}")
    data = {"id": event.event_id, "entityFqdn": event.entity_fqdn, "slug": event.slug,
            "entityId": event.entity_id, "eventTime": _iso(event.occurred_at), "triggeredByAnonymizeRequest": False}
    # The spec's examples: deletions carry `deletedEvent`, sender-email entity events
    # `createdEvent` / `updatedEvent` (the recorded body is that field's content, e.g.
    # {"entity": {...}}), every other event `actionEvent.body`.
    if event.slug == "deleted":
        data["deletedEvent"] = body
    elif event.entity_fqdn == outbox.SENDER_EMAIL and event.slug in ("created", "updated"):
        data[f"{event.slug}Event"] = body
    else:
        data["actionEvent"] = {"body": body}
    return data


def signed_body(event: OutboxEvent, secret: str) -> str:
    """The POST body: a JWT (HS256, the endpoint's secret) whose payload is the spec's Event Body."""
    identity = {"identityType": "WIX_USER", "wixUserId": str(event.owner_user_id)}
    claims = {"data": {"eventType": event_type(event), "instanceId": str(event.owner_user_id),
                       "data": json.dumps(event_data(event)), "identity": json.dumps(identity)}}
    return jwt.encode(claims, secret, algorithm="HS256")


def allow_private(settings) -> bool:
    """Whether webhooks may target private, loopback and link-local addresses (off by default: a
    user must not make this server POST into its own network)."""
    return settings.webhook_allow_private


def checked_url(url: str, settings) -> str:
    """The URL, trimmed, when it may be a webhook target (http or https, no literal private address);
    otherwise InvalidWebhookUrl."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port   # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidWebhookUrl() from None
    if (len(url) > MAX_URL or parts.scheme.lower() not in ("http", "https") or not host
            or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url)):
        raise InvalidWebhookUrl()
    if not allow_private(settings):
        # Names are checked when dialled (_public_connection); literal addresses already here.
        try:
            literal_private = not is_public(str(ipaddress.ip_address(host)))
        except ValueError:
            literal_private = False
        if host.lower() == "localhost" or host.lower().endswith(".localhost") or literal_private:
            raise InvalidWebhookUrl("The webhook URL must not point to a private, loopback or link-local address")
    return url


def _check_types(types) -> list[str]:
    clean: list[str] = []
    for item in types or ():
        text = str(item).strip()
        fqdn = next((f for f in KNOWN_FQDNS if text == f or text.startswith(f + "_")), None)
        if fqdn is None or len(text) > 200 or not all(c.isalnum() or c in "._" for c in text):
            raise InvalidWebhookEventType(f"Unknown event type {text[:80]!r}")
        if text not in clean:
            clean.append(text)
    if len(clean) > MAX_EVENT_TYPES:
        raise InvalidWebhookEventType(f"At most {MAX_EVENT_TYPES} event types")
    return clean


@dataclass
class DeliveryPage:
    total: int
    rows: list   # (WebhookDelivery, OutboxEvent)


class WebhookService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- registration --------------------------------------------------------------------------
    def create(self, actor, url: str, event_types=None, enabled: bool = True) -> tuple[WebhookEndpoint, list, str]:
        """A new endpoint, its event types and its signing secret (returned here only; never answered again)."""
        now = self.uow.clock()
        secret = secrets.token_urlsafe(32)
        endpoint = WebhookEndpoint(owner_user_id=actor.id, url=checked_url(url, self.uow.settings), secret=secret,
                                   enabled=enabled, created_at=now, updated_at=now, active_since=now)
        self.s.add(endpoint)
        self.s.flush()
        types = _check_types(event_types)
        self._set_types(endpoint, types)
        return endpoint, types, secret

    def get(self, actor, endpoint_id: int, *, for_update: bool = False) -> WebhookEndpoint:
        return get_owned(self.s, WebhookEndpoint, endpoint_id, actor, WebhookNotFound, for_update=for_update)

    def show(self, actor, endpoint_id: int) -> tuple[WebhookEndpoint, list[str]]:
        endpoint = self.get(actor, endpoint_id)
        return endpoint, self.event_types([endpoint.id])[endpoint.id]

    def list(self, actor) -> list[tuple[WebhookEndpoint, list[str]]]:
        """The caller's endpoints with their event types, oldest first."""
        endpoints = list(self.s.scalars(select(WebhookEndpoint).where(WebhookEndpoint.owner_user_id == actor.id,
                                                                      WebhookEndpoint.list_id.is_(None))
                                        .order_by(WebhookEndpoint.id)))
        types = self.event_types([e.id for e in endpoints])
        return [(e, types[e.id]) for e in endpoints]

    def event_types(self, endpoint_ids: list[int]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {i: [] for i in endpoint_ids}
        if endpoint_ids:
            for endpoint_id, value in self.s.execute(
                    select(WebhookEventType.endpoint_id, WebhookEventType.event_type)
                    .where(WebhookEventType.endpoint_id.in_(endpoint_ids)).order_by(WebhookEventType.id)):
                found[endpoint_id].append(value)
        return found

    def update(self, actor, endpoint_id: int, *, url: str | None = None, event_types=None,
               enabled: bool | None = None, rotate_secret: bool = False) -> tuple[WebhookEndpoint, list[str], str]:
        """Change what was given; re-enabling receives events from now on (not those missed meanwhile).

        The third value is the new secret when `rotate_secret` (shown this once; deliveries not yet
        made, retries included, are signed with it), else "".
        """
        endpoint = self.get(actor, endpoint_id, for_update=True)
        now = self.uow.clock()
        secret = ""
        if rotate_secret:
            endpoint.secret = secret = secrets.token_urlsafe(32)
        if url is not None:
            endpoint.url = checked_url(url, self.uow.settings)
        if event_types is not None:
            self._set_types(endpoint, _check_types(event_types))
        if enabled is not None:
            if enabled and not endpoint.enabled:
                endpoint.active_since = now
            endpoint.enabled = enabled
        endpoint.updated_at = now
        self.s.flush()
        return endpoint, self.event_types([endpoint.id])[endpoint.id], secret

    def delete(self, actor, endpoint_id: int) -> None:
        endpoint = self.get(actor, endpoint_id, for_update=True)
        self.s.delete(endpoint)   # its event types and deliveries go by ON DELETE CASCADE
        self.s.flush()

    def _set_types(self, endpoint: WebhookEndpoint, types: list[str]) -> None:
        self.s.execute(delete(WebhookEventType).where(WebhookEventType.endpoint_id == endpoint.id))
        self.s.add_all(WebhookEventType(endpoint_id=endpoint.id, event_type=t) for t in types)
        self.s.flush()

    def ping(self, actor, endpoint_id: int) -> tuple[OutboxEvent, WebhookDelivery]:
        """Queue a test event for this endpoint only (delivered by the next dispatch pass)."""
        endpoint = self.get(actor, endpoint_id)
        if not endpoint.enabled:
            raise WebhookDisabled()
        now = self.uow.clock()
        event = self.uow.outbox.record(owner_user_id=actor.id, entity_fqdn=outbox.WEBHOOK, slug="ping",
                                       entity_id=endpoint.id, body={"webhookId": str(endpoint.id)})
        self.s.flush()
        delivery = WebhookDelivery(event_id=event.id, endpoint_id=endpoint.id, state="pending", attempts=0,
                                   next_attempt_at=now, claim="", last_error="", created_at=now)
        self.s.add(delivery)
        self.s.flush()
        return event, delivery

    def deliveries(self, actor, endpoint_id: int, *, state: str | None = None, offset: int = 0,
                   limit: int = 100) -> DeliveryPage:
        """One endpoint's delivery log, newest first."""
        endpoint = self.get(actor, endpoint_id)
        where = [WebhookDelivery.endpoint_id == endpoint.id]
        if state:
            where.append(WebhookDelivery.state == state)
        total = self.s.scalar(select(func.count()).select_from(WebhookDelivery).where(*where))
        rows = self.s.execute(select(WebhookDelivery, OutboxEvent).join(
            OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id).where(*where)
            .order_by(WebhookDelivery.id.desc()).offset(offset).limit(limit)).all()
        return DeliveryPage(total or 0, [tuple(r) for r in rows])

    # --- fan-out ------------------------------------------------------------------------------
    def fan_out(self, limit: int = FANOUT_BATCH) -> int:
        """Queue committed events for matching endpoints that lack a delivery row; returns how many."""
        e, p, t, d = OutboxEvent, WebhookEndpoint, WebhookEventType, WebhookDelivery
        now = self.uow.clock()
        wanted = or_(~exists().where(t.endpoint_id == p.id),
                     exists().where(t.endpoint_id == p.id,
                                    or_(t.event_type == e.entity_fqdn, t.event_type == e.entity_fqdn + "_" + e.slug)))
        # A list integration (ListIntegration.AddURL) hears only its list's events, and nothing else does.
        scoped = or_(and_(p.list_id.is_(None), e.entity_fqdn != outbox.LIST_INTEGRATION),
                     and_(e.entity_fqdn == outbox.LIST_INTEGRATION, cast(p.list_id, String) == e.entity_id))
        # One INSERT … SELECT (works on all three databases): the anti-join on the UNIQUE key is
        # what makes a re-run, or a concurrent run, queue nothing twice.
        pairs = (select(e.id, p.id, literal("pending"), literal(0), literal(now, d.next_attempt_at.type),
                        literal(""), literal(""), literal(now, d.created_at.type))
                 .join(p, and_(p.owner_user_id == e.owner_user_id, p.enabled.is_(True),
                               e.id > p.fanned_out_to, e.occurred_at >= p.active_since))
                 .where(e.entity_fqdn != outbox.WEBHOOK, wanted, scoped,
                        ~exists().where(d.event_id == e.id, d.endpoint_id == p.id))
                 .order_by(e.id, p.id).limit(limit))
        result = self.s.execute(insert(d).from_select(
            ["event_id", "endpoint_id", "state", "attempts", "next_attempt_at", "claim", "last_error",
             "created_at"], pairs).execution_options(preserve_rowcount=True))
        queued = max(result.rowcount or 0, 0)
        if queued < limit:   # everything this pass could see is queued: the cursors may move
            self._advance_cursors(now - FANOUT_COMMIT_LAG)
        return queued

    def _advance_cursors(self, horizon: datetime) -> None:
        """Move each endpoint's cursor to its owner's newest event older than `horizon` (disabled endpoints
        too: what happens while disabled is never delivered). Only endpoints with such events are written."""
        e, p = OutboxEvent, WebhookEndpoint
        newest = (select(func.max(e.id))
                  .where(e.owner_user_id == p.owner_user_id, e.id > p.fanned_out_to, e.occurred_at < horizon)
                  .scalar_subquery())
        self.s.execute(update(p).where(newest.is_not(None)).values(fanned_out_to=newest)
                       .execution_options(synchronize_session=False))

    # --- claiming and settling ------------------------------------------------------------------
    def _due(self, now: datetime):
        d = WebhookDelivery
        return or_(and_(d.state == "pending", d.next_attempt_at <= now),
                   and_(d.state == "sending", d.lease_until <= now))   # a dispatcher died mid-POST

    def claim(self, limit: int, lease: timedelta) -> list[tuple[WebhookDelivery, OutboxEvent, WebhookEndpoint]]:
        """Take up to `limit` due deliveries by compare-and-set; the caller commits before POSTing."""
        d, p = WebhookDelivery, WebhookEndpoint
        now = self.uow.clock()
        ids = list(self.s.scalars(select(d.id).join(p, p.id == d.endpoint_id)
                                  .where(p.enabled.is_(True), self._due(now))
                                  .order_by(d.next_attempt_at, d.id).limit(limit)))
        if not ids:
            return []
        token = uuid.uuid4().hex
        # Compare-and-set: the WHERE is re-checked on the locked row, so of two dispatchers that
        # picked the same ids only one sets its token on each row.
        self.s.execute(update(d).where(d.id.in_(ids), self._due(now)).values(
            state="sending", claim=token, lease_until=now + lease, attempts=d.attempts + 1)
            .execution_options(synchronize_session=False))
        return [tuple(r) for r in self.s.execute(
            select(d, OutboxEvent, p).join(OutboxEvent, OutboxEvent.id == d.event_id).join(p, p.id == d.endpoint_id)
            .where(d.id.in_(ids), d.claim == token, d.state == "sending").order_by(d.id)).all()]

    def release(self, delivery_id: int, claim: str) -> None:
        d = WebhookDelivery
        self.s.execute(update(d).where(d.id == delivery_id, d.claim == claim, d.state == "sending").values(
            state="pending", claim="", lease_until=None, attempts=d.attempts - 1)
            .execution_options(synchronize_session=False))

    def settle(self, delivery_id: int, claim: str, attempts: int, status: int | None, error: str) -> str:
        """Record one POST's outcome if the claim is still ours; the new state ("" = claim lost)."""
        d = WebhookDelivery
        now = self.uow.clock()
        if status is not None and 200 <= status < 300:
            values = {"state": "delivered", "delivered_at": now, "last_error": ""}
        elif attempts >= MAX_ATTEMPTS:
            values = {"state": "failed", "last_error": error[:1000]}
        else:
            values = {"state": "pending", "next_attempt_at": now + retry_delay(attempts), "last_error": error[:1000]}
        done = self.s.execute(update(d).where(d.id == delivery_id, d.claim == claim, d.state == "sending")
                              .values(last_status_code=status, lease_until=None, **values)
                              .execution_options(synchronize_session=False))
        return values["state"] if done.rowcount == 1 else ""
