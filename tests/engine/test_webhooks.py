"""Webhook delivery through a real HTTP receiver on loopback: signed, retried, once per endpoint.

The receiver (an http.server in a thread on 127.0.0.1:0) does what a subscriber's server does: it
verifies the JWT with the endpoint's secret, answers 401 to a bad signature, drops duplicates by
event id, and can be told to fail the next N requests.
"""
from __future__ import annotations

import dataclasses

import json
import socket
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select

from engine.events import outbox
from engine.errors import InvalidWebhookEventType, InvalidWebhookUrl, WebhookNotFound
from engine.models import OutboxEvent, WebhookDelivery
from engine.events.webhook_dispatch import dispatch
from engine.events.webhooks import FANOUT_COMMIT_LAG, MAX_ATTEMPTS, event_data, retry_delay
from tests.builders import user_actor


class Receiver:
    """A webhook subscriber's server. `secrets[path]` verifies; `fail[path]` = next N answers 500."""

    def __init__(self):
        self.secrets: dict[str, str] = {}
        self.fail: Counter = Counter()
        self.redirect: dict[str, str] = {}
        self.delay = 0.0
        self.hits: Counter = Counter()            # every request, by path
        self.accepted: list[tuple[str, dict, dict]] = []   # (path, claims, headers), first copies only
        self.copies: Counter = Counter()          # (path, event id) -> verified deliveries
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                status = receiver.handle(self.path, body, dict(self.headers))
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", receiver.redirect[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def handle(self, path: str, body: str, headers: dict) -> int:
        time.sleep(self.delay)
        with self.lock:
            self.hits[path] += 1
            if path in self.redirect:
                return 302
            if self.fail[path] > 0:
                self.fail[path] -= 1
                return 500
        try:
            claims = jwt.decode(body, self.secrets.get(path, "?"), algorithms=["HS256"])
        except jwt.InvalidTokenError:
            return 401
        event_id = json.loads(claims["data"]["data"])["id"]
        with self.lock:
            self.copies[(path, event_id)] += 1
            if self.copies[(path, event_id)] == 1:   # a duplicate is acknowledged and dropped
                self.accepted.append((path, claims, headers))
        return 200

    def events(self, path: str = "/hook") -> list[dict]:
        return [json.loads(claims["data"]["data"]) for p, claims, _ in self.accepted if p == path]


@pytest.fixture(autouse=True)
def loopback_allowed(request):
    """The receiver lives on 127.0.0.1, which production refuses (see the test below)."""
    if "engine" in request.fixturenames:
        engine = request.getfixturevalue("engine")
        engine.settings = dataclasses.replace(engine.settings, webhook_allow_private=True)


@pytest.fixture
def receiver():
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def register(engine, account, receiver, path: str = "/hook", **options) -> int:
    with engine.uow() as uow:
        endpoint, _types, secret = uow.webhooks.create(user_actor(account), receiver.url(path), **options)
        uow.commit()
        receiver.secrets[path] = secret
        return endpoint.id


def record(engine, account, slug: str = "campaign_published_event", fqdn: str = outbox.CAMPAIGN,
           entity_id=7, body=None, commit: bool = True) -> str:
    with engine.uow() as uow:
        event = uow.outbox.record(owner_user_id=account.id, entity_fqdn=fqdn, slug=slug, entity_id=entity_id,
                                  body={"campaignId": str(entity_id)} if body is None else body)
        uow.session.flush()
        if commit:
            uow.commit()
        return event.event_id


def delivery_rows(engine) -> list[WebhookDelivery]:
    with engine.uow() as uow:
        rows = list(uow.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        uow.session.expunge_all()   # keep the loaded values after the unit of work ends
        return rows


def test_a_committed_event_arrives_as_a_jwt_signed_with_the_endpoint_secret(engine, user, clock, receiver):
    register(engine, user, receiver)
    event_id = record(engine, user, body={"campaignId": "7", "landingPageUrl": "https://x.test/so/1",
                                          "mailingListSizeEstimate": 3})
    summary = dispatch(engine)
    assert (summary.queued, summary.delivered, summary.retrying, summary.failed) == (1, 1, 0, 0)
    (path, claims, headers), = receiver.accepted
    assert claims["data"]["eventType"] == "wix.email_marketing.v1.campaign_campaign_published_event"
    assert claims["data"]["instanceId"] == str(user.id)
    assert json.loads(claims["data"]["identity"]) == {"identityType": "WIX_USER", "wixUserId": str(user.id)}
    assert json.loads(claims["data"]["data"]) == {
        "id": event_id, "entityFqdn": "wix.email_marketing.v1.campaign", "slug": "campaign_published_event",
        "entityId": "7", "eventTime": "2026-11-23T12:00:00.000000Z", "triggeredByAnonymizeRequest": False,
        "actionEvent": {"body": {"campaignId": "7", "landingPageUrl": "https://x.test/so/1",
                                 "mailingListSizeEstimate": 3}}}
    assert headers["X-Sendmill-Event-Id"] == event_id
    assert headers["Content-Type"] == "text/plain"
    (row,) = delivery_rows(engine)
    assert (row.state, row.attempts, row.last_status_code, row.delivered_at) == ("delivered", 1, 200, clock.now)
    # Nothing is sent twice: the next pass finds nothing to queue and nothing due.
    assert not dispatch(engine).busy
    assert receiver.hits["/hook"] == 1


def test_the_signature_does_not_verify_with_another_secret(engine, user, receiver):
    register(engine, user, receiver)
    receiver.secrets["/hook"] = "not-the-secret-" + "x" * 32
    record(engine, user)
    summary = dispatch(engine)
    assert (summary.delivered, summary.retrying) == (0, 1)
    (row,) = delivery_rows(engine)
    assert (row.state, row.last_status_code) == ("pending", 401)


def test_an_event_of_a_rolled_back_transaction_is_never_delivered(engine, user, receiver):
    register(engine, user, receiver)
    record(engine, user, entity_id=1, commit=False)
    kept = record(engine, user, entity_id=2)
    assert dispatch(engine).delivered == 1
    assert [e["id"] for e in receiver.events()] == [kept]
    with engine.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxEvent)) == 1


def test_failures_are_retried_with_exponential_backoff(engine, user, clock, receiver):
    register(engine, user, receiver)
    receiver.fail["/hook"] = 2
    event_id = record(engine, user)
    assert dispatch(engine).retrying == 1
    (row,) = delivery_rows(engine)
    assert (row.state, row.attempts, row.last_status_code) == ("pending", 1, 500)
    assert row.next_attempt_at == clock.now + timedelta(seconds=30)
    assert "HTTP 500" in row.last_error
    clock.advance(seconds=29)
    assert not dispatch(engine).busy and receiver.hits["/hook"] == 1     # not due yet
    clock.advance(seconds=1)
    assert dispatch(engine).retrying == 1
    (row,) = delivery_rows(engine)
    assert (row.attempts, row.next_attempt_at) == (2, clock.now + timedelta(seconds=60))
    clock.advance(seconds=60)
    assert dispatch(engine).delivered == 1
    (row,) = delivery_rows(engine)
    assert (row.state, row.attempts, row.last_error) == ("delivered", 3, "")
    assert [e["id"] for e in receiver.events()] == [event_id] and receiver.hits["/hook"] == 3


def test_a_delivery_fails_for_good_after_the_last_attempt(engine, user, clock, receiver):
    register(engine, user, receiver)
    receiver.fail["/hook"] = 10_000
    record(engine, user)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        summary = dispatch(engine)
        assert (summary.retrying, summary.failed) == ((1, 0) if attempt < MAX_ATTEMPTS else (0, 1))
        clock.advance(seconds=retry_delay(attempt).total_seconds())
    (row,) = delivery_rows(engine)
    assert (row.state, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert retry_delay(1) == timedelta(seconds=30) and retry_delay(9) == timedelta(hours=1)
    clock.advance(days=1)
    assert not dispatch(engine).busy and receiver.hits["/hook"] == MAX_ATTEMPTS


def test_a_redirect_is_not_followed(engine, user, receiver):
    register(engine, user, receiver)
    receiver.redirect["/hook"] = "file:///etc/passwd"
    record(engine, user)
    assert dispatch(engine).retrying == 1
    (row,) = delivery_rows(engine)
    assert (row.state, row.last_status_code) == ("pending", 302)


def test_endpoints_get_only_their_owner_s_subscribed_events(engine, user, other_user, receiver):
    register(engine, user, receiver, "/senders", event_types=[outbox.SENDER_EMAIL])
    register(engine, user, receiver, "/published",
             event_types=["wix.email_marketing.v1.campaign_campaign_published_event"])
    register(engine, other_user, receiver, "/other")
    published = record(engine, user)
    record(engine, user, slug="campaign_paused_event")
    created = record(engine, user, fqdn=outbox.SENDER_EMAIL, slug="created",
                     body={"entity": {"id": "5", "email": "a@b.c"}})
    theirs = record(engine, other_user, fqdn=outbox.SENDER_EMAIL, slug="deleted", body={})
    dispatch(engine)
    assert [e["id"] for e in receiver.events("/published")] == [published]
    (sender,) = receiver.events("/senders")
    assert (sender["id"], sender["createdEvent"]) == (created, {"entity": {"id": "5", "email": "a@b.c"}})
    (other,) = receiver.events("/other")
    assert (other["id"], other["deletedEvent"]) == (theirs, {})


def test_events_before_registration_or_while_disabled_are_not_sent(engine, user, clock, receiver):
    record(engine, user, entity_id=1)
    clock.advance(seconds=1)
    endpoint_id = register(engine, user, receiver)
    actor = user_actor(user)
    with engine.uow() as uow:
        uow.webhooks.update(actor, endpoint_id, enabled=False)
        uow.commit()
    record(engine, user, entity_id=2)
    assert not dispatch(engine).busy
    clock.advance(seconds=1)
    with engine.uow() as uow:
        uow.webhooks.update(actor, endpoint_id, enabled=True)
        uow.commit()
    latest = record(engine, user, entity_id=3)
    dispatch(engine)
    assert [e["id"] for e in receiver.events()] == [latest]


def test_fan_out_twice_queues_once(engine, user, receiver):
    register(engine, user, receiver)
    record(engine, user)
    with engine.uow() as uow:
        assert uow.webhooks.fan_out() == 1
        uow.commit()
    with engine.uow() as uow:
        assert uow.webhooks.fan_out() == 0


def test_a_pass_reads_only_events_after_the_endpoint_cursor(engine, user, clock, receiver):
    """Once an event is older than FANOUT_COMMIT_LAG the endpoint's cursor passes it: later passes do not
    read it again, so a delivery row removed afterwards (retention, an operator) does not resend it."""
    register(engine, user, receiver)
    first = record(engine, user, entity_id=1)
    dispatch(engine)
    clock.advance(seconds=FANOUT_COMMIT_LAG.total_seconds() + 1)
    assert not dispatch(engine).busy
    with engine.uow() as uow:
        uow.session.execute(delete(WebhookDelivery))
        uow.commit()
    second = record(engine, user, entity_id=2)
    dispatch(engine)
    assert [e["id"] for e in receiver.events()] == [first, second]
    assert receiver.hits["/hook"] == 2


def test_an_event_committed_after_a_newer_one_was_sent_is_still_delivered(engine, user, clock, receiver):
    """Ids are handed out when an event is written, not when its transaction commits: a pass that has
    queued event n+1 may only later see event n. Events younger than FANOUT_COMMIT_LAG are read again."""
    register(engine, user, receiver)
    reserved = record(engine, user, entity_id=1)      # takes the id the slow transaction's event will have
    newer = record(engine, user, entity_id=2)
    with engine.uow() as uow:
        row = uow.session.scalars(select(OutboxEvent).where(OutboxEvent.event_id == reserved)).one()
        slow = {c.key: getattr(row, c.key) for c in OutboxEvent.__table__.columns}
        uow.session.delete(row)
        uow.commit()
    clock.advance(minutes=2)
    dispatch(engine)
    assert [e["id"] for e in receiver.events()] == [newer]
    with engine.uow() as uow:                          # the slow transaction commits two minutes late
        uow.session.add(OutboxEvent(**slow))
        uow.commit()
    dispatch(engine)
    assert [e["id"] for e in receiver.events()] == [newer, reserved]


def test_registration_checks_url_types_and_owner(engine, user, other_user, receiver):
    actor = user_actor(user)
    with engine.uow() as uow:
        for url in ("ftp://127.0.0.1/x", "file:///etc/passwd", "127.0.0.1:80/x", "http://", "http://h/" + "x" * 2000,
                    "http://h.example/a b", "http://h.example:99999/", "http://h.example/\r\nX: 1"):
            with pytest.raises(InvalidWebhookUrl):
                uow.webhooks.create(actor, url)
        with pytest.raises(InvalidWebhookEventType):
            uow.webhooks.create(actor, receiver.url(), event_types=["wix.unknown.v1.thing_created"])
    endpoint_id = register(engine, user, receiver)
    with engine.uow() as uow:
        for call in (lambda: uow.webhooks.get(user_actor(other_user), endpoint_id),
                     lambda: uow.webhooks.delete(user_actor(other_user), endpoint_id),
                     lambda: uow.webhooks.deliveries(user_actor(other_user), endpoint_id)):
            with pytest.raises(WebhookNotFound):
                call()


def test_email_activity_is_recorded_and_delivered(engine, api, user, receiver):
    from tests.protocol.test_tracking import dsn, sent_campaign

    def record_message(engine, data, recipients):
        with engine.uow() as uow:
            outcome = uow.events.record_message(data, recipients)
            uow.commit()
            return outcome

    sent = sent_campaign(engine, api, user)
    register(engine, user, receiver, event_types=["wix.email_marketing.v1.campaign_email_activity_updated"])
    with engine.uow() as uow:
        uow.events.record_open(sent.instance_id, sent.alice, nonce=sent.nonce)
        url = uow.events.record_click(sent.instance_id, sent.alice, 0, nonce=sent.nonce)
        assert uow.events.unsubscribe(sent.instance_id, sent.bob, "127.0.0.1", nonce=sent.nonce) is True
        uow.commit()
    assert record_message(engine, dsn(sent.verp(sent.bob), "bob@example.org"), [sent.verp(sent.bob)]) == (1, 1)
    dispatch(engine)
    bodies = [e["actionEvent"]["body"] for e in receiver.events()]
    assert [(b["activityType"], b["recipientEmailAddress"], b["campaignId"]) for b in bodies] == [
        ("OPEN", "alice@example.org", str(sent.campaign_id)),
        ("CLICK", "alice@example.org", str(sent.campaign_id)),
        ("UNSUBSCRIBE", "bob@example.org", str(sent.campaign_id)),
        ("HARD_BOUNCE", "bob@example.org", str(sent.campaign_id))]
    assert bodies[1]["click"] == {"url": url} and bodies[3]["hardBounce"] == {}
    assert bodies[0]["timestamp"] == "2026-11-23T12:00:00Z" and bodies[0]["contactId"] == str(sent.alice)
    assert {e["slug"] for e in receiver.events()} == {"email_activity_updated"}


def test_ping_reaches_only_the_tested_endpoint(engine, user, receiver):
    tested = register(engine, user, receiver, "/a")
    register(engine, user, receiver, "/b")
    with engine.uow() as uow:
        uow.webhooks.ping(user_actor(user), tested)
        uow.commit()
    dispatch(engine)
    (ping,) = receiver.events("/a")
    assert (ping["entityFqdn"], ping["slug"], ping["entityId"]) == (outbox.WEBHOOK, "ping", str(tested))
    assert receiver.events("/b") == []


def test_sender_email_updated_uses_the_updated_event_shape(engine, user):
    event = OutboxEvent(event_id="e", owner_user_id=user.id, entity_fqdn=outbox.SENDER_EMAIL, slug="updated",
                        entity_id="3", payload='{"currentEntity": {"id": "3"}}',
                        occurred_at=datetime(2026, 1, 2, tzinfo=timezone.utc))
    assert event_data(event)["updatedEvent"] == {"currentEntity": {"id": "3"}}
    assert event_data(event)["eventTime"] == "2026-01-02T00:00:00.000000Z"


def test_concurrent_dispatchers_deliver_every_event_once_per_endpoint(engine, user, backend, receiver):
    for path in ("/a", "/b"):
        register(engine, user, receiver, path)
    ids = [record(engine, user, entity_id=i) for i in range(20)]
    receiver.delay = 0.005   # widen the window in which two dispatchers could pick one row
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def run():
        try:
            start.wait()
            dispatch(engine, batch=5)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(receiver.copies.values()) == [1] * 40, receiver.copies
    assert {(p, i) for p, _c, h in receiver.accepted for i in [h["X-Sendmill-Event-Id"]]} == {
        (p, i) for p in ("/a", "/b") for i in ids}
    assert sum(receiver.hits.values()) == 40
    assert {r.state for r in delivery_rows(engine)} == {"delivered"}


def test_the_webhooks_command_runs_one_pass(engine, user, clock, receiver, database_url, tmp_path):
    from scheduler.cli import main

    clock.now = datetime.now(timezone.utc) - timedelta(minutes=1)   # the command runs on the real clock
    register(engine, user, receiver)
    event_id = record(engine, user)
    env = {"SENDMILL_DATABASE_URL": database_url, "SENDMILL_SECRET_KEY": "test-secret",
           "SENDMILL_DATA_DIR": str(tmp_path), "SENDMILL_WEBHOOK_ALLOW_PRIVATE": "1"}
    result = CliRunner().invoke(main, ["webhooks", "--once"], env=env, catch_exceptions=False)
    assert result.output == "webhooks: 1 queued, 1 delivered, 0 to retry, 0 failed\n"
    assert [e["id"] for e in receiver.events()] == [event_id]


def test_the_tick_runs_a_dispatch_pass(engine, user, clock, receiver, database_url, tmp_path):
    from scheduler.cli import main

    clock.now = datetime.now(timezone.utc) - timedelta(minutes=1)
    register(engine, user, receiver)
    event_id = record(engine, user)
    env = {"SENDMILL_DATABASE_URL": database_url, "SENDMILL_SECRET_KEY": "test-secret",
           "SENDMILL_DATA_DIR": str(tmp_path), "SENDMILL_WEBHOOK_ALLOW_PRIVATE": "1"}
    result = CliRunner().invoke(main, ["tick", "--send-budget", "0"], env=env, catch_exceptions=False)
    assert result.output.splitlines()[1:] == ["webhooks: 1 queued, 1 delivered, 0 to retry, 0 failed"]
    assert [e["id"] for e in receiver.events()] == [event_id]
    quiet = CliRunner().invoke(main, ["tick", "--send-budget", "0"], env=env, catch_exceptions=False)
    assert len(quiet.output.splitlines()) == 1   # nothing to deliver: the tick's one line only


def test_private_addresses_are_refused_unless_allowed(engine, user, receiver, monkeypatch):
    engine.settings = dataclasses.replace(engine.settings, webhook_allow_private=False)
    actor = user_actor(user)
    with engine.uow() as uow:
        for url in (receiver.url(), "http://localhost/x", "http://[::1]/x", "http://10.0.0.8/x",
                    "http://169.254.169.254/latest/meta-data", "http://[::ffff:127.0.0.1]/x"):
            with pytest.raises(InvalidWebhookUrl):
                uow.webhooks.create(actor, url)
        uow.webhooks.create(actor, "https://hooks.example.com/sendmill")   # a public name is fine
    # A name that resolves to loopback passes registration but is refused when dialled.
    disguised = receiver.url().replace("127.0.0.1", "2130706433")
    with engine.uow() as uow:
        uow.webhooks.create(actor, disguised)
        uow.commit()
    record(engine, user)
    assert dispatch(engine).retrying == 1
    (row,) = delivery_rows(engine)
    assert row.last_status_code is None and "non-public address 127.0.0.1" in row.last_error
    assert receiver.hits["/hook"] == 0


@pytest.mark.parametrize("resolved", ["64:ff9b::7f00:1", "2002:7f00:1::", "::ffff:0:7f00:1", "192.0.0.9"])
def test_a_name_resolving_to_an_ipv6_form_of_a_private_address_is_not_dialled(monkeypatch, resolved):
    """The connect-time check judges a NAT64 / 6to4 / translated address by the IPv4 address it carries."""
    from engine.events import webhook_http

    family = socket.AF_INET6 if ":" in resolved else socket.AF_INET
    monkeypatch.setattr(webhook_http.socket, "getaddrinfo",
                        lambda host, port, **kw: [(family, socket.SOCK_STREAM, 6, "", (resolved, port))])
    dialled = []
    monkeypatch.setattr(webhook_http.socket, "create_connection", lambda *a, **kw: dialled.append(a))
    status, error = webhook_http.post("http://hooks.example.com/x", "{}", {}, timeout=1)
    assert status is None and f"non-public address {resolved}" in error
    assert dialled == []


def test_dispatchers_in_separate_processes_deliver_every_event_once(engine, user, clock, receiver, database_url,
                                                                     tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    clock.now = datetime.now(timezone.utc) - timedelta(minutes=1)   # the processes run on the real clock
    for path in ("/a", "/b"):
        register(engine, user, receiver, path)
    ids = {record(engine, user, entity_id=i) for i in range(15)}
    receiver.delay = 0.005
    env = {**os.environ, "SENDMILL_DATABASE_URL": database_url, "SENDMILL_SECRET_KEY": "test-secret",
           "SENDMILL_DATA_DIR": str(tmp_path), "SENDMILL_WEBHOOK_ALLOW_PRIVATE": "1"}
    root = Path(__file__).resolve().parents[2]
    processes = [subprocess.Popen([sys.executable, "-m", "scheduler", "webhooks", "--once"], cwd=root, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    delivered = sum(int(out.split(" queued, ")[1].split(" delivered")[0]) for out, _err in outputs)
    assert delivered == 30
    assert sorted(receiver.copies.values()) == [1] * 30
    assert {key for key in receiver.copies} == {(p, i) for p in ("/a", "/b") for i in ids}


def test_a_claim_that_could_outlive_its_lease_is_handed_back_unsent(engine, user, receiver, monkeypatch):
    import types

    import engine.events.webhook_dispatch as webhooks

    register(engine, user, receiver)
    for i in range(3):
        record(engine, user, entity_id=i)
    wall = types.SimpleNamespace(t=1000.0)
    monkeypatch.setattr(webhooks, "time", types.SimpleNamespace(monotonic=lambda: wall.t))

    def slow_post(*args):   # a receiver trickling its answer: 30 s per POST, time-out or not
        wall.t += 30
        return webhooks.post(*args)

    # batch 3 × (10 s time-out + 1) + 30 = a 63 s lease: the third POST could end after it.
    summary = dispatch(engine, batch=3, timeout=10, budget=1000, send=slow_post)
    assert summary.delivered == 2 and receiver.hits["/hook"] == 2
    rows = delivery_rows(engine)
    assert [(r.state, r.attempts, r.claim) for r in rows][2] == ("pending", 0, "")
    assert dispatch(engine).delivered == 1 and len(receiver.events()) == 3
