"""Autoresponders and tracking, through the public endpoints: campaign opens and clicks trigger them, and the
opens, clicks, opt-outs and bounces of their own messages are credited to their ledger rows and counters."""
from __future__ import annotations

import email
import json
import email.policy
import re
import threading

import pytest
from sqlalchemy import select

from engine.models import AutoResponder, AutoResponderSend, OutboxEvent, Subscriber, Suppression
from engine.tracking.tokens import Kind
from tests.builders import load_row, make_email
from tests.engine.test_autoresponder_sending import Capture, worker
from tests.helpers import stored_state
from tests.protocol.test_tracking import dsn, sent_campaign


@pytest.fixture
def sent(engine, api, user):
    return sent_campaign(engine, api, user)


def responder(api, user, sent, email_id: int, **params) -> int:
    base = dict(SubscriberListID=sent.list_id, AutoResponderName="Follow-up", EmailID=email_id,
                TriggerTimeType="Immediately")
    answer = api("AutoResponder.Create", user.session, **{**base, **params})
    assert answer["Success"] is True, answer
    return answer["AutoResponderID"]


def sends(engine) -> list[tuple]:
    with engine.uow() as uow:
        return [(r.autoresponder_id, r.subscriber_id, r.occurrence, r.state) for r in
                uow.session.scalars(select(AutoResponderSend).order_by(AutoResponderSend.id))]


@pytest.fixture
def follow_up(engine, user):
    return make_email(engine, user, subject="Thanks", from_email="news@example.com",
                      html_content='<p>Hi</p><a href="https://shop.example/more?e=%Subscriber:EmailAddress%">More</a>'
                                   '<a href="%Link:Unsubscribe%">Leave</a>')


# --- campaign events trigger autoresponders ---------------------------------------------------------------
def test_an_open_of_the_named_campaign_triggers_once(client, api, user, engine, sent, follow_up):
    opened = responder(api, user, sent, follow_up, AutoResponderTriggerType="OnSubscriberCampaignOpen",
                       AutoResponderTriggerValue=str(sent.campaign_id))
    responder(api, user, sent, follow_up, AutoResponderTriggerType="OnSubscriberCampaignOpen",
              AutoResponderTriggerValue=str(api("Campaign.Create", user.session, CampaignName="Other")["CampaignID"]))
    client.get(sent.url(Kind.OPEN, sent.alice))
    client.get(sent.url(Kind.OPEN, sent.alice))
    assert sends(engine) == [(opened, sent.alice, "/0", "pending")]


def test_a_click_on_the_named_link_triggers_and_another_link_does_not(client, api, user, engine, sent, follow_up):
    clicked = responder(api, user, sent, follow_up, AutoResponderTriggerType="OnSubscriberLinkClick",
                        AutoResponderTriggerValue="https://example.com/about")
    other = api("Campaign.Create", user.session, CampaignName="Other")["CampaignID"]
    narrowed = responder(api, user, sent, follow_up, AutoResponderTriggerType="OnSubscriberLinkClick",
                         AutoResponderTriggerValue="https://example.com/about", AutoResponderTriggerValue2=str(other))
    client.get(sent.url(Kind.CLICK, sent.bob, link_index=0))
    assert sends(engine) == []
    client.get(sent.url(Kind.CLICK, sent.bob, link_index=1))
    assert sends(engine) == [(clicked, sent.bob, "/0", "pending")]
    assert narrowed not in [row[0] for row in sends(engine)]


# --- an autoresponder's own message --------------------------------------------------------------------------
def mailed(engine, clock, api, user, sent, follow_up):
    """The follow-up mailed to alice (triggered by her open); (autoresponder id, the message's HTML)."""
    ar = responder(api, user, sent, follow_up, AutoResponderTriggerType="OnSubscriberCampaignOpen",
                   AutoResponderTriggerValue=str(sent.campaign_id))
    capture = Capture()
    return ar, capture, worker(engine, capture, clock)


def links(message: bytes) -> dict[str, list[str]]:
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    html = parsed.get_body(("html",)).get_content()
    found = {kind: re.findall(rf"https?://[^/\"]+(/t/{kind}/[A-Za-z0-9_-]+)", html) for kind in ("o", "c", "u")}
    found["List-Unsubscribe"] = re.findall(r"<https?://[^/]+(/t/u/[A-Za-z0-9_-]+)>", str(parsed["List-Unsubscribe"]))
    return found


def test_opens_and_clicks_of_an_autoresponder_message_count_on_its_row(client, api, user, engine, clock, sent,
                                                                        follow_up):
    ar, capture, run = mailed(engine, clock, api, user, sent, follow_up)
    client.get(sent.url(Kind.OPEN, sent.alice))
    assert run.run_once().sent == 1
    found = links(capture.sent[0].message)
    assert client.get(found["o"][0]).status_code == 200
    client.get(found["o"][0])
    answer = client.get(found["c"][0])
    assert answer.headers["Location"] == "https://shop.example/more?e=alice%40example.org"
    r = load_row(engine, AutoResponder, ar)
    assert (r.total_opens, r.unique_opens, r.total_clicks, r.unique_clicks) == (2, 1, 1, 1)
    with engine.uow() as uow:
        row = uow.session.scalar(select(AutoResponderSend))
        assert (row.opens, row.clicks) == (2, 1) and row.first_opened_at == clock()
    activity = api("AutoResponder.Activity.Get", user.session, AutoResponderID=ar)["Activity"]
    assert [(a["Email"], a["Opened"], a["Clicked"]) for a in activity] == [("alice@example.org", True, True)]
    window = api("AutoResponder.Stats.Window.Get", user.session, AutoResponderID=ar)
    assert window["Success"] is True, window
    counters = window["Counters"]
    assert (counters["TotalSent"], counters["UniqueOpens"], counters["UniqueClicks"]) == (1, 1, 1)
    with engine.uow() as uow:   # the modern email_activity_updated webhook event, naming the autoresponder
        events = [json.loads(e.payload) for e in uow.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
    events = [e for e in events if "autoResponderId" in e]
    assert [(e["activityType"], e["autoResponderId"], e["recipientEmailAddress"]) for e in events] == \
        [("OPEN", str(ar), "alice@example.org")] * 2 + [("CLICK", str(ar), "alice@example.org")]


def test_a_tampered_autoresponder_token_counts_nothing(client, api, user, engine, clock, sent, follow_up):
    ar, capture, run = mailed(engine, clock, api, user, sent, follow_up)
    client.get(sent.url(Kind.OPEN, sent.alice))
    run.run_once()
    pixel = links(capture.sent[0].message)["o"][0]
    before = stored_state(engine)
    tampered = pixel[:-2] + ("AA" if not pixel.endswith("AA") else "BB")
    assert client.get(tampered).status_code == 404
    # A token of the right autoresponder but signed for bob's row cannot name alice (the nonce is bob's).
    forged = sent.signer.sign(Kind.OPEN, instance_id=(1 << 62) + ar, subscriber_id=sent.alice,
                              nonce=load_row(engine, Subscriber, sent.bob).public_nonce)
    assert client.get(f"/t/o/{forged}").status_code == 404
    assert stored_state(engine) == before


def test_one_click_unsubscribe_from_an_autoresponder_message(client, api, user, engine, clock, sent, follow_up):
    ar, capture, run = mailed(engine, clock, api, user, sent, follow_up)
    client.get(sent.url(Kind.OPEN, sent.alice))
    run.run_once()
    url = links(capture.sent[0].message)["List-Unsubscribe"][0]
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert load_row(engine, Subscriber, sent.alice).subscription_status == "Unsubscribed"
    assert load_row(engine, AutoResponder, ar).total_unsubscriptions == 1
    with engine.uow() as uow:
        assert uow.session.scalar(select(AutoResponderSend.unsubscribed_at)) == clock()


def test_a_bounce_of_an_autoresponder_message_is_credited_to_it(api, user, engine, clock, sent, follow_up, client):
    ar, capture, run = mailed(engine, clock, api, user, sent, follow_up)
    client.get(sent.url(Kind.OPEN, sent.alice))
    run.run_once()
    verp = capture.sent[0].sender
    with engine.uow() as uow:
        assert uow.events.record_message(dsn(verp, "alice@example.org"), [verp]) == (1, 1)
        uow.commit()
    with engine.uow() as uow:   # the same report again: counted once
        assert uow.events.record_message(dsn(verp, "alice@example.org"), [verp]) == (1, 0)
        uow.commit()
    r = load_row(engine, AutoResponder, ar)
    assert (r.total_hard_bounces, r.total_delivered, r.total_sent) == (1, 0, 1)
    assert load_row(engine, Subscriber, sent.alice).bounce_type == "Hard"
    with engine.uow() as uow:
        row = uow.session.scalar(select(AutoResponderSend))
        assert (row.bounce_type, row.bounced_at) == ("Hard", clock())
        assert uow.session.scalar(select(Suppression.email_normalized)) == "alice@example.org"
    activity = api("AutoResponder.Activity.Get", user.session, AutoResponderID=ar, Status="Bounced")["Activity"]
    assert [a["Email"] for a in activity] == ["alice@example.org"]


def test_the_web_view_link_of_an_autoresponder_message_shows_it_and_counts_an_open(client, api, user, engine, clock,
                                                                                  sent, follow_up):
    ar, capture, run = mailed(engine, clock, api, user, sent, follow_up)
    client.get(sent.url(Kind.OPEN, sent.alice))
    run.run_once()
    nonce = load_row(engine, Subscriber, sent.alice).public_nonce
    sign = sent.signer.sign
    forged = sign(Kind.WEB_VIEW, instance_id=(1 << 62) + ar, subscriber_id=sent.alice, nonce="0" * len(nonce))
    before = stored_state(engine)
    assert client.get(f"/t/w/{forged}").status_code == 404      # not signed for this subscriber
    assert stored_state(engine) == before

    page = client.get(f"/t/w/{sign(Kind.WEB_VIEW, instance_id=(1 << 62) + ar, subscriber_id=sent.alice, nonce=nonce)}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "<p>Hi</p>" in body
    [click] = re.findall(r"/t/c/[A-Za-z0-9_-]+", body)[:1]
    with engine.uow() as uow:
        row = uow.session.scalar(select(AutoResponderSend).where(AutoResponderSend.autoresponder_id == ar))
        assert (row.opens, row.first_opened_at) == (1, clock())
        assert uow.session.get(AutoResponder, ar).total_opens == 1
        row_id = row.id
    # The page's links are the message's own: its click is credited to the same ledger row.
    redirect = client.get(click)
    assert redirect.status_code == 302
    assert redirect.headers["Location"] == "https://shop.example/more?e=alice%40example.org"
    with engine.uow() as uow:
        assert uow.session.get(AutoResponderSend, row_id).clicks == 1


def test_a_spam_complaint_about_an_autoresponder_message_suppresses_the_address(api, user, engine, clock, sent,
                                                                                follow_up, client):
    ar, capture, run = mailed(engine, clock, api, user, sent, follow_up)
    client.get(sent.url(Kind.OPEN, sent.alice))
    run.run_once()
    original = email.message_from_bytes(capture.sent[0].message, policy=email.policy.default)
    report = ("From: fbl@isp.example\r\nTo: fbl@example.com\r\nSubject: report\r\nMIME-Version: 1.0\r\n"
              "Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\r\n\r\n"
              "--F\r\nContent-Type: text/plain\r\n\r\nA report.\r\n"
              "--F\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
              "User-Agent: SomeISP/1.0\r\nVersion: 1\r\nOriginal-Rcpt-To: alice@example.org\r\n\r\n"
              "--F\r\nContent-Type: message/rfc822\r\n\r\nFrom: news@example.com\r\nTo: alice@example.org\r\n"
              f"Message-ID: {original['Message-ID']}\r\n\r\n--F--\r\n").encode()
    with engine.uow() as uow:
        assert uow.events.record_message(report, ["fbl@example.com"]) == (1, 1)
        uow.commit()
    assert load_row(engine, Subscriber, sent.alice).complained_at == clock()
    with engine.uow() as uow:
        assert [(s.email_normalized, s.source) for s in uow.session.scalars(select(Suppression))] == \
            [("alice@example.org", "SPAM complaint")]


def test_two_opens_of_one_message_at_once_both_count(client, api, user, engine, clock, sent, follow_up):
    """The late request has read the message's ledger row before the early one commits its open, and
    credits its own open afterwards: a count written back from what was read (opens = 0 + 1) would lose
    the early open and call both unique. Counted in SQL, both count and exactly one is unique. (SQLite's
    writers take the write lock at BEGIN, so there the two run one after the other and the late one
    cannot read first.)"""
    ar, capture, run = mailed(engine, clock, api, user, sent, follow_up)
    client.get(sent.url(Kind.OPEN, sent.alice))
    assert run.run_once().sent == 1
    instance, nonce = (1 << 62) + ar, load_row(engine, Subscriber, sent.alice).public_nonce
    reads_first = engine.db.dialect.name != "sqlite"
    late_has_read, early_committed = threading.Event(), threading.Event()
    errors: list = []

    def early():
        try:
            if reads_first:
                late_has_read.wait(30)
            with engine.uow() as uow:
                uow.events.record_open(instance, sent.alice, nonce=nonce)
                uow.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            early_committed.set()

    def late():
        try:
            with engine.uow() as uow:
                if reads_first:
                    read = uow.session.scalar(select(AutoResponderSend))   # held: the session keeps what it read
                    assert read.opens == 0
                    late_has_read.set()
                early_committed.wait(30)
                uow.events.record_open(instance, sent.alice, nonce=nonce)
                uow.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=late), threading.Thread(target=early)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.uow() as uow:
        row = uow.session.scalar(select(AutoResponderSend))
        assert (row.opens, row.first_opened_at) == (2, clock())
    r = load_row(engine, AutoResponder, ar)
    assert (r.total_opens, r.unique_opens) == (2, 1)
