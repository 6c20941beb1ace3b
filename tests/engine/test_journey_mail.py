"""Journey SendEmail rows mailed by the delivery workers, and the Webhook action's signed POSTs (all three
databases): the action's From / Reply-To / CC / BCC, the send-time checks, at most once across a killed
worker, tracked links of journey mail firing EmailLinkClick journeys, webhook rows written with the step."""
from __future__ import annotations

import json
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import func, select, update

from engine.automation.journeys.runner import run_pass
from engine.automation.send_ledger import JOURNEYS
from engine.delivery.runner import DeliveryRunner
from engine.events.webhook_http import post
from engine.events.webhook_dispatch import dispatch
from engine.models import JourneyEnrollment, JourneySend, JourneyStep, Subscriber
from engine.models.outbox import OutboxEvent
from engine.models.senders import EmailMarketingAccount
from engine.models.webhooks import WebhookDelivery, WebhookEndpoint
from engine.tracking.activity import TrackingTargetGone
from engine.tracking.tokens import journey_instance
from tests.builders import make_email, make_list, make_subscriber, user_actor
from tests.engine.test_autoresponder_sending import Capture
from tests.engine.test_journey_runner import enroll, journey
from tests.helpers import stored_state


@pytest.fixture
def people(engine, user):
    list_id = make_list(engine, user, "People")
    return list_id, [make_subscriber(engine, list_id, f"p{n}@example.com") for n in range(3)]


@pytest.fixture
def mail(engine, user):
    return make_email(engine, user, subject="Hi %Subscriber:EmailAddress%", from_email="shop@example.com",
                      html_content='<p>Hello</p><a href="https://shop.example/offer">Offer</a>')


def sends(engine) -> dict[int, str]:
    with engine.uow() as uow:
        return dict(uow.session.execute(select(JourneySend.subscriber_id, JourneySend.state)).all())


def worker(engine, transport, clock, **kwargs) -> DeliveryRunner:
    return DeliveryRunner(engine, transport, clock=clock, worker_id=kwargs.pop("worker_id", "w1"), **kwargs)


def test_send_email_mails_each_subscriber_once_with_the_actions_headers_and_copies(engine, user, clock, people,
                                                                                  mail):
    list_id, ids = people
    jid, (step,) = journey(engine, user, [{
        "action": "SendEmail", "emailid": mail, "published": True,
        "from": {"name": "Shop Team", "email": "team@example.com"}, "replyto": {"name": "", "email": "help@example.com"},
        "cc": [{"name": "Boss", "email": "boss@example.com"}], "bcc": [{"name": "", "email": "audit@example.com"}]}])
    enroll(engine, user, jid, list_id, ids[:2])
    run_pass(engine, clock())
    capture = Capture()
    summary = worker(engine, capture, clock).run_once()
    assert summary.sent == 2
    assert sorted(capture.recipients()) == sorted(["p0@example.com", "p1@example.com"] + ["boss@example.com"] * 2
                                                  + ["audit@example.com"] * 2)
    message = next(e.message.decode() for e in capture.sent if e.recipient == "p0@example.com")
    assert "Subject: Hi p0@example.com" in message and "From: Shop Team <team@example.com>" in message
    assert "Reply-To: help@example.com" in message and "Cc: Boss <boss@example.com>" in message
    assert "audit@example.com" not in message and "/t/c/" in message
    assert sends(engine) == {ids[0]: "sent", ids[1]: "sent"}
    assert worker(engine, capture, clock).run_once().sent == 0 and len(capture.sent) == 6


def test_send_time_checks_skip_and_change_nothing_else(engine, user, clock, people, mail):
    list_id, ids = people
    jid, _ = journey(engine, user, [{"action": "SendEmail", "emailid": mail, "published": True}])
    enroll(engine, user, jid, list_id, ids)
    run_pass(engine, clock())
    with engine.uow() as uow:   # after the step: unsubscribed, hard-bounced
        uow.session.execute(update(Subscriber).where(Subscriber.id == ids[0]).values(
            subscription_status="Unsubscribed"))
        uow.session.execute(update(Subscriber).where(Subscriber.id == ids[1]).values(bounce_type="Hard"))
        uow.commit()
    capture = Capture()
    assert worker(engine, capture, clock).run_once().sent == 1
    assert capture.recipients() == ["p2@example.com"]
    assert sends(engine) == {ids[0]: "skipped", ids[1]: "skipped", ids[2]: "sent"}


def test_a_suspended_account_or_a_refused_from_sends_nothing(engine, user, clock, people, mail):
    list_id, ids = people
    jid, _ = journey(engine, user, [{"action": "SendEmail", "emailid": mail, "published": True,
                                     "from": {"name": "", "email": "ceo@bank.example"}}])
    enroll(engine, user, jid, list_id, ids[:1])
    run_pass(engine, clock())
    capture = Capture()
    assert worker(engine, capture, clock).run_once().skipped == 1 and capture.sent == []
    with engine.uow() as uow:
        row = uow.session.scalar(select(JourneySend))
        assert row.state == "skipped" and "bank.example" in row.last_error
        uow.session.add(EmailMarketingAccount(user_id=user.id, status="SUSPENDED", updated_at=clock()))
        uow.commit()
    other, _ = journey(engine, user, [{"action": "SendEmail", "emailid": mail, "published": True}])
    enroll(engine, user, other, list_id, ids[1:2])
    run_pass(engine, clock())
    assert worker(engine, capture, clock).run_once().skipped == 1 and capture.sent == []
    with engine.uow() as uow:
        row = uow.session.scalar(select(JourneySend).where(JourneySend.subscriber_id == ids[1]))
        assert (row.state, row.last_error) == ("skipped", "the account is suspended, not active")


def test_a_killed_worker_leaves_its_handed_over_row_unknown_never_sent_twice(engine, user, clock, people, mail):
    list_id, ids = people
    jid, _ = journey(engine, user, [{"action": "SendEmail", "emailid": mail, "published": True}])
    enroll(engine, user, jid, list_id, ids[:2])
    run_pass(engine, clock())
    with engine.uow() as uow:   # a worker claimed both and handed one to a relay, then was killed -9
        claimed = JOURNEYS.claim(uow.session, "dead", clock(), timedelta(minutes=5), 10)
        JOURNEYS.hand_over(uow.session, "dead", {claimed[0].id: "<x@y>"})
        uow.commit()
    clock.advance(minutes=6)
    capture = Capture()
    summary = worker(engine, capture, clock).run_once()
    assert summary.unknown == 1 and summary.sent == 1
    assert capture.recipients() == [f"p{ids.index(claimed[1].subscriber_id)}@example.com"]
    assert sends(engine) == {claimed[0].subscriber_id: "unknown", claimed[1].subscriber_id: "sent"}


def test_a_click_on_journey_mail_fires_email_link_click_journeys(engine, user, clock, people, mail):
    list_id, ids = people
    jid, (step,) = journey(engine, user, [{"action": "SendEmail", "emailid": mail, "published": True}])
    follow, _ = journey(engine, user, [{"action": "Wait", "waitamount": 1, "published": True}],
                        trigger="EmailLinkClick", trigger_email_id=mail)
    enroll(engine, user, jid, list_id, ids[:1])
    run_pass(engine, clock())
    worker(engine, Capture(), clock).run_once()
    with engine.uow() as uow:
        nonce = uow.session.get(Subscriber, ids[0]).public_nonce
        assert uow.events.record_click(journey_instance(step), ids[0], 0, nonce=nonce) == "https://shop.example/offer"
        uow.commit()
    with engine.uow() as uow:
        assert uow.session.scalars(select(JourneyEnrollment.subscriber_id).where(
            JourneyEnrollment.journey_id == follow)).all() == [ids[0]]
    before = stored_state(engine)
    with engine.uow() as uow:   # another subscriber's (never mailed) token, a wrong nonce: nothing happens
        for sid, n in ((ids[1], nonce), (ids[0], "0" * 8)):
            with pytest.raises(TrackingTargetGone):
                uow.events.record_click(journey_instance(step), sid, 0, nonce=n)
        uow.rollback()
    assert stored_state(engine) == before


def test_webhook_action_queues_a_signed_post_per_subscriber_with_the_step(engine, user, clock, people):
    list_id, ids = people
    jid, (hook,) = journey(engine, user, [{"action": "Webhook", "webhookurl": "https://hooks.example/j",
                                           "published": True}])
    enroll(engine, user, jid, list_id, ids[:2])

    def crash(action):
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        run_pass(engine, clock(), fail_after_effect=crash)
    with engine.uow() as uow:   # rolled back with the step
        assert uow.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
        assert uow.session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
    run_pass(engine, clock())
    posts = []

    def send(url, body, headers, timeout, private_ok):
        posts.append((url, body, headers))
        return 200, ""

    assert dispatch(engine, send=send).delivered == 2
    assert dispatch(engine, send=send).delivered == 0
    with engine.uow() as uow:
        secret = uow.session.scalar(select(WebhookEndpoint.secret))
        assert uow.session.scalar(select(func.count()).select_from(JourneyStep)) == 2
    assert {url for url, _, _ in posts} == {"https://hooks.example/j"}
    bodies = [json.loads(jwt.decode(body, secret, algorithms=["HS256"])["data"]["data"])
              for _, body, _ in posts]
    assert sorted(b["actionEvent"]["body"]["subscriberId"] for b in bodies) == sorted(str(i) for i in ids[:2])
    assert {b["actionEvent"]["body"]["journeyId"] for b in bodies} == {str(jid)}
    assert {h["X-Sendmill-Event-Type"] for _, _, h in posts} == {"sendmill.v1.webhook_journey"}


def test_webhook_action_reuses_a_registered_endpoint_and_keeps_the_private_address_guard(engine, user, clock,
                                                                                        people):
    list_id, ids = people
    with engine.uow() as uow:
        registered, _, _ = uow.webhooks.create(user_actor(user), "https://hooks.example/mine")
        uow.commit()
        registered_id = registered.id
    jid, _ = journey(engine, user, [
        {"action": "Webhook", "webhookurl": "https://hooks.example/mine", "published": True},
        {"action": "Webhook", "webhookurl": "http://127.0.0.1:9/inside", "published": True}])
    enroll(engine, user, jid, list_id, ids[:1])
    run_pass(engine, clock())

    def send(url, body, headers, timeout, private_ok):   # the real POST for the private address
        return (200, "") if url.startswith("https://") else post(url, body, headers, timeout, private_ok)

    summary = dispatch(engine, send=send)
    assert summary.delivered == 1
    with engine.uow() as uow:
        rows = {e.url: (d.state, d.last_error) for d, e in uow.session.execute(
            select(WebhookDelivery, WebhookEndpoint).join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id))}
        assert rows["https://hooks.example/mine"][0] == "delivered"
        state, error = rows["http://127.0.0.1:9/inside"]
        assert state == "pending" and "non-public address" in error   # never dialled
        assert uow.session.scalar(select(WebhookDelivery.endpoint_id).join(
            WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id).where(
            WebhookEndpoint.url == "https://hooks.example/mine")) == registered_id


def test_a_hard_bounce_of_journey_mail_marks_and_suppresses_the_address_once(engine, user, clock, people, mail):
    from engine.models import Suppression
    from tests.protocol.test_tracking import dsn
    list_id, ids = people
    jid, _ = journey(engine, user, [{"action": "SendEmail", "emailid": mail, "published": True}])
    enroll(engine, user, jid, list_id, ids[:1])
    run_pass(engine, clock())
    capture = Capture()
    worker(engine, capture, clock).run_once()
    verp = capture.sent[0].sender
    with engine.uow() as uow:
        assert uow.events.record_message(dsn(verp, "p0@example.com"), [verp]) == (1, 1)
        uow.commit()
    with engine.uow() as uow:   # the same report again: applied once
        assert uow.events.record_message(dsn(verp, "p0@example.com"), [verp]) == (1, 0)
        uow.commit()
    with engine.uow() as uow:
        assert uow.session.get(Subscriber, ids[0]).bounce_type == "Hard"
        assert uow.session.scalar(select(Suppression.email_normalized)) == "p0@example.com"
        assert uow.session.scalar(select(JourneySend.last_error)).startswith("hard bounce")


def test_racing_workers_mail_every_journey_row_exactly_once(engine, user, clock):
    import threading
    from collections import Counter
    list_id = make_list(engine, user, "Race")
    ids = [make_subscriber(engine, list_id, f"r{n:02d}@example.com") for n in range(40)]
    mail = make_email(engine, user, subject="Race", from_email="shop@example.com", html_content="<p>Hi</p>")
    jid, _ = journey(engine, user, [{"action": "SendEmail", "emailid": mail, "published": True}])
    enroll(engine, user, jid, list_id, ids)
    run_pass(engine, clock())
    capture, errors, start = Capture(), [], threading.Barrier(3)

    def race(n: int) -> None:
        try:
            start.wait(30)
            worker(engine, capture, clock, worker_id=f"w{n}", batch_size=7, concurrency=3).run_once(60)
        except BaseException as exc:   # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A worker that lost a lock conflict stops; the rows it had not handed over are taken by the next run.
    transient = ("deadlock", "serializ", "locked")
    assert not [e for e in errors if not any(word in str(e).lower() for word in transient)], errors
    clock.advance(minutes=6)   # past the lease of a worker that stopped holding rows
    worker(engine, capture, clock, worker_id="mop-up").run_once(60)
    mailed = Counter(capture.recipients())
    assert set(mailed.values()) == {1}                                   # never twice
    if not errors:
        assert set(mailed) == {f"r{n:02d}@example.com" for n in range(40)}
        assert set(sends(engine).values()) == {"sent"}
    else:   # a row handed over by a worker that then stopped is `unknown` (not retried), never re-sent
        assert set(sends(engine).values()) <= {"sent", "unknown"}
