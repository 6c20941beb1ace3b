"""Double opt-in from the subscription form to the confirmed subscriber, through a real SMTP server on
loopback: the confirmation email, its links, retries, and two senders at once never mailing twice."""
from __future__ import annotations

import email
import email.policy
import re
import threading
from collections import Counter

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.audience.confirmations import send_due_confirmations
from engine.delivery.relays import parse_relays
from engine.delivery.transport import SmtpPool
from engine.models import Subscriber, SubscriberList
from scheduler.cli import main
from engine.tracking.tokens import Kind
from tests.builders import make_email
from tests.conftest import SENDER_DOMAINS_ENV
from tests.e2e.support import make_owner

LINK = re.compile(r"http://sendmill\.test(/t/(?:confirm|reject|u)/[A-Za-z0-9_-]+)")


def double_opt_in_list(engine, owner, name: str = "Gardening", **columns) -> int:
    with engine.uow() as uow:
        row = SubscriberList(owner_user_id=owner.id, name=name, opt_in_mode="Double", created_at=uow.clock(),
                             sender_email_address="club@garden.example", sender_name="Garden Club", **columns)
        uow.session.add(row)
        uow.commit()
        return row.id


def subscribe(engine, list_id: int, address: str) -> int:
    with engine.uow() as uow:
        result = uow.subscribers.subscribe([list_id], address, "192.0.2.1")
        uow.commit()
        return result.subscriber.id


def subscriber(engine, subscriber_id: int) -> Subscriber:
    with engine.uow() as uow:
        row = uow.session.get(Subscriber, subscriber_id)
        uow.session.expunge(row)
        return row


def messages(recorder) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(data, policy=email.policy.strict) for _, _, data in recorder.messages]


def links(message) -> dict[str, str]:
    """{"confirm": path, "reject": path} from the plain part of a confirmation email."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    return {path.split("/")[2]: path for path in LINK.findall(text)}


@pytest.fixture
def pool(smtp):
    transport = SmtpPool(parse_relays(smtp.url))
    yield transport
    transport.close()


def test_subscribe_confirm_by_link(engine, smtp, pool, client, api):
    owner = make_owner(engine)
    list_id = double_opt_in_list(engine, owner)
    answer = api("Subscriber.Subscribe", ListID=list_id, EmailAddress="ann@example.com", IPAddress="192.0.2.1")
    assert answer["Success"] is True, answer
    ann = answer["SubscriberID"]
    assert subscriber(engine, ann).subscription_status == "Opt-In Pending"

    summary = send_due_confirmations(engine, pool)
    assert (summary.sent, summary.failed) == (1, 0)
    assert subscriber(engine, ann).confirmation_due_at is None
    assert send_due_confirmations(engine, pool).sent == 0          # cleared: never twice
    [message] = messages(smtp)
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "Please confirm your subscription to Gardening"
    assert message["From"] == "Garden Club <club@garden.example>"
    confirm = links(message)["confirm"]

    page = client.get(confirm)                                       # a scanner or a person looking
    assert page.status_code == 200 and b'method="post"' in page.data
    assert subscriber(engine, ann).subscription_status == "Opt-In Pending"
    assert client.head(confirm).status_code == 200
    done = client.post(confirm)
    assert done.status_code == 200 and b"Subscription confirmed" in done.data
    confirmed = subscriber(engine, ann)
    assert (confirmed.subscription_status, confirmed.opt_in_date) == ("Subscribed", engine.clock())
    assert client.get(confirm).status_code == 200                    # the link still answers, changes nothing
    assert client.get(confirm.replace("/t/confirm/", "/t/confirm/x")).status_code == 404   # tampered


def test_reject_link_and_the_lists_own_email(engine, smtp, pool, client):
    owner = make_owner(engine)
    email_id = make_email(engine, owner, subject="Welcome %Subscriber:EmailAddress%?",
                          plain_content="Confirm: %Link:Confirm%\nNo thanks: %Link:Reject%",
                          from_email="hello@garden.example")
    list_id = double_opt_in_list(engine, owner, opt_in_confirmation_email_id=email_id,
                                 subscription_confirmed_page_url="https://garden.example/thanks")
    bob = subscribe(engine, list_id, "bob@example.com")
    send_due_confirmations(engine, pool)
    [message] = messages(smtp)
    assert (message["Subject"], message["From"]) == ("Welcome bob@example.com?", "Garden Club <hello@garden.example>")
    assert client.post(links(message)["reject"]).status_code == 200
    assert subscriber(engine, bob).subscription_status == "Unsubscribed"
    # Declined is final: the confirmation link of the same email no longer subscribes.
    assert client.post(links(message)["confirm"]).status_code == 409
    assert subscriber(engine, bob).subscription_status == "Unsubscribed"


def test_an_email_without_a_confirm_link_gets_one(engine, smtp, pool, client):
    owner = make_owner(engine)
    email_id = make_email(engine, owner, subject="Hi", html_content="<p>Thanks for signing up!</p>")
    list_id = double_opt_in_list(engine, owner, opt_in_confirmation_email_id=email_id,
                                 subscription_confirmed_page_url="https://garden.example/thanks")
    cy = subscribe(engine, list_id, "cy@example.com")
    send_due_confirmations(engine, pool)
    [message] = messages(smtp)
    done = client.post(links(message)["confirm"])
    assert b'href="https://garden.example/thanks"' in done.data     # the list's confirmed page, linked
    assert subscriber(engine, cy).subscription_status == "Subscribed"


def test_temporary_failure_is_retried_and_suppressed_addresses_are_skipped(engine, smtp, pool, clock):
    owner = make_owner(engine)
    list_id = double_opt_in_list(engine, owner)
    with engine.uow() as uow:
        uow.suppression.add(owner.id, "blocked@example.com")
        uow.commit()
    dee = subscribe(engine, list_id, "dee@example.com")
    blocked = subscribe(engine, list_id, "blocked@example.com")
    smtp.defer_once["dee@example.com"] = "451 4.3.0 Try again later"
    first = send_due_confirmations(engine, pool)
    assert (first.sent, first.retried, first.skipped) == (0, 1, 1)
    assert subscriber(engine, blocked).confirmation_due_at is None
    assert send_due_confirmations(engine, pool).retried == 0         # not due yet
    clock.advance(minutes=6)
    assert send_due_confirmations(engine, pool).sent == 1
    assert smtp.recipients() == ["dee@example.com"]
    assert subscriber(engine, dee).confirmation_due_at is None


def test_filling_in_the_form_again_sends_again(engine, smtp, pool, clock):
    owner = make_owner(engine)
    list_id = double_opt_in_list(engine, owner)
    subscribe(engine, list_id, "eve@example.com")
    send_due_confirmations(engine, pool)
    clock.advance(minutes=1)
    with engine.uow() as uow:
        uow.subscribers.subscribe([list_id], "eve@example.com", "192.0.2.1", update_if_exists=True)
        uow.commit()
    send_due_confirmations(engine, pool)
    assert smtp.recipients() == ["eve@example.com", "eve@example.com"]


def test_two_senders_at_once_mail_each_person_once(engine, smtp):
    owner = make_owner(engine)
    list_id = double_opt_in_list(engine, owner)
    everyone = [f"p{i:02d}@example.com" for i in range(60)]
    with engine.uow() as uow:
        for address in everyone:
            uow.subscribers.subscribe([list_id], address, "192.0.2.1")
        uow.commit()
    results, errors = [], []

    def sender():
        transport = SmtpPool(parse_relays(smtp.url))
        try:
            results.append(send_due_confirmations(engine, transport, batch_size=7))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            transport.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(r.sent for r in results) == 60
    assert Counter(smtp.recipients()) == Counter(everyone)
    with engine.uow() as uow:
        assert uow.session.scalars(select(Subscriber.id).where(Subscriber.confirmation_due_at.is_not(None))).all() == []


def test_sendmill_tick_sends_due_confirmations(engine, smtp, database_url, tmp_path):
    owner = make_owner(engine)
    list_id = double_opt_in_list(engine, owner)
    subscribe(engine, list_id, "fay@example.com")
    env = {"SENDMILL_DATABASE_URL": database_url, "SENDMILL_SECRET_KEY": "test-secret",
           "SENDMILL_DATA_DIR": str(tmp_path), **SENDER_DOMAINS_ENV, "SENDMILL_SMTP_URL": smtp.url,
           "SENDMILL_BASE_URL": "http://sendmill.test"}
    result = CliRunner().invoke(main, ["tick", "--send-budget", "5"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "confirmations: 1 sent" in result.output
    assert smtp.recipients() == ["fay@example.com"]
    [message] = messages(smtp)
    assert set(links(message)) >= {"confirm", "reject"}
    # Without a relay the tick only schedules; nothing is due any more anyway.
    env.pop("SENDMILL_SMTP_URL")
    assert CliRunner().invoke(main, ["tick"], env=env, catch_exceptions=False).exit_code == 0
    assert len(smtp.messages) == 1


def test_confirm_pages_for_unknown_subscribers_are_404(engine, client):
    token = engine.settings.signer().sign(Kind.CONFIRM, subscriber_id=424242, nonce="0a1b2c3d")
    assert client.get(f"/t/confirm/{token}").status_code == 404
    assert client.post(f"/t/reject/{token}").status_code == 404   # a confirm token is no reject token
