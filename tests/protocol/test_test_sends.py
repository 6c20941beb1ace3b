"""Test sends (Email.EmailPreview and the engine's send_campaign_test) through a real SMTP server on
loopback: what arrives, what is not tracked or recorded, the rate limit, and every documented code."""
from __future__ import annotations

import dataclasses
import email
import email.policy
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from engine.errors import CampaignNotFound
from engine.models import Campaign, Delivery, SubscriberActivity, TestSend
from engine.campaigns.test_sends import PreviewContentMissing, PreviewRateLimited, PreviewRecipientInvalid
from protocol.commands.emails import EMAIL_PREVIEW
from tests.builders import make_custom_field, make_email, make_list, make_subscriber, user_actor
from tests.e2e.support import loopback_relay
from tests.helpers import codes, stored_state

HTML = ('<html><body><p>Hello {{ Subscriber:Nickname|"friend" }}, from %User:CompanyName%.</p>'
        '<p><a href="https://example.com/offer">Offer</a> <a href="%Link:Unsubscribe%">Unsubscribe</a></p>'
        '</body></html>')


@pytest.fixture
def relay(engine):
    """An SMTP server on 127.0.0.1, configured as the engine's only relay."""
    with loopback_relay(engine) as recorder:
        yield recorder


def limit_to(engine, messages: int, seconds: int = 3600) -> None:
    engine.settings = dataclasses.replace(engine.settings, test_send_limit=messages, test_send_window_seconds=seconds)


def received(recorder) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(data, policy=email.policy.strict) for _, _, data in recorder.messages]


def body(message, subtype: str) -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


def newsletter(engine, account) -> tuple[int, int, int]:
    """(list id, field id, email id): an email whose tags read a custom field with a merge-tag alias."""
    list_id = make_list(engine, account)
    field_id = make_custom_field(engine, account, list_id, "Nickname", merge_tag_alias="Nickname")
    email_id = make_email(engine, account, subject="News for {{ Subscriber:Nickname|you }}", html_content=HTML,
                          from_email="news@sender.example", from_name="Sender News")
    return list_id, field_id, email_id


def count(engine, model) -> int:
    with engine.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


# --- what a test message is ------------------------------------------------------------------------
def test_preview_arrives_untracked_with_fallbacks(api, user, engine, relay):
    _list_id, _field_id, email_id = newsletter(engine, user)
    answer = api("Email.EmailPreview", user.session, EmailID=email_id, EmailAddress="Tester@Example.com")
    assert answer == {"Success": True, "ErrorCode": 0}
    [(mail_from, rcpts, _data)] = relay.messages
    assert rcpts == ["Tester@Example.com"] and mail_from.endswith("@sendmill.test")
    [message] = received(relay)
    assert message["Subject"] == "[Test] News for you"
    assert message["From"] == "Sender News <news@sender.example>"
    html = body(message, "html")
    assert "Hello friend" in html
    assert 'href="https://example.com/offer"' in html and "/t/o/" not in html and "/t/c/" not in html
    # Nothing is counted or recorded beyond the test send itself.
    assert (count(engine, Delivery), count(engine, SubscriberActivity), count(engine, TestSend)) == (0, 0, 1)


def test_preview_personalised_as_a_subscriber(api, user, engine, relay):
    list_id, field_id, email_id = newsletter(engine, user)
    subscriber = make_subscriber(engine, list_id, "ada@example.com", {field_id: "Ada"})
    assert api("Email.EmailPreview", user.session, EmailID=email_id, EmailAddress="qa@example.com",
               ListID=list_id, SubscriberID=subscriber)["Success"] is True
    [message] = received(relay)
    assert message["To"] == "qa@example.com" and message["Subject"] == "[Test] News for Ada"
    # Without EmailAddress the subscriber's own address receives it (v5.9.4).
    assert api("Email.EmailPreview", user.session, EmailID=email_id, SubscriberID=subscriber)["Success"] is True
    assert relay.recipients()[-1] == "ada@example.com"


def test_the_links_of_a_test_message_change_nobody(api, user, engine, relay, client):
    list_id, field_id, email_id = newsletter(engine, user)
    subscriber = make_subscriber(engine, list_id, "ada@example.com", {field_id: "Ada"})
    api("Email.EmailPreview", user.session, EmailID=email_id, EmailAddress="qa@example.com", SubscriberID=subscriber)
    [message] = received(relay)
    link = message["List-Unsubscribe"].split("<")[-1].rstrip(">")
    path = link.removeprefix("http://sendmill.test")
    before = stored_state(engine)
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 404
    assert stored_state(engine) == before
    assert api("Subscriber.Get", user.session, ListID=list_id, EmailAddress="ada@example.com")[
        "SubscriberInformation"]["SubscriptionStatus"] == "Subscribed"


def test_preview_of_raw_content_uses_the_documented_sender(api, user, relay):
    assert api("Email.EmailPreview", user.session, EmailAddress="qa@example.com", HTMLContent="<p>Draft</p>",
               Subject="Draft")["Success"] is True
    [message] = received(relay)
    # v5.6's preview@preview.com is nobody's here: the local part goes with the site's own sender domain.
    assert message["From"] == "Preview Email <preview@sendmill.test>" and message["Subject"] == "[Test] Draft"
    assert "Draft" in body(message, "plain")   # the plain part is derived from the HTML


def test_opt_in_preview_of_a_list_without_its_own_email(api, user, engine, relay):
    list_id = make_list(engine, user, "Gardening")
    assert api("Email.EmailPreview", user.session, EmailAddress="qa@example.com", ListID=list_id,
               EmailType="optinconfirmation")["Success"] is True
    [message] = received(relay)
    assert message["Subject"] == "[Test] Please confirm your subscription to Gardening"
    assert "http://sendmill.test/t/confirm/" in body(message, "plain")


def test_campaign_test_send_with_a_subject_override(user, engine, relay):
    _list_id, _field_id, email_id = newsletter(engine, user)
    with engine.uow() as uow:
        campaign = uow.campaigns.create(user_actor(user), "November")
        campaign.email_id = email_id
        empty = uow.campaigns.create(user_actor(user), "No content yet")
        uow.commit()
        campaign_id, empty_id = campaign.id, empty.id
    with engine.uow() as uow:
        record = uow.test_sends.send_campaign_test(user_actor(user), campaign_id, "qa@example.com", "Yoga")
        uow.commit()
        assert (record.campaign_id, record.email_id) == (campaign_id, email_id)
    [message] = received(relay)
    assert message["Subject"] == "[Test] Yoga" and message["X-Sendmill-Campaign"] == str(campaign_id)
    with engine.uow() as uow:
        with pytest.raises(PreviewContentMissing):
            uow.test_sends.send_campaign_test(user_actor(user), empty_id, "qa@example.com")
        with pytest.raises(CampaignNotFound):
            uow.test_sends.send_campaign_test(user_actor(user), 999999, "qa@example.com")
        with pytest.raises(PreviewRecipientInvalid):
            uow.test_sends.send_campaign_test(user_actor(user), campaign_id, "  ")
        assert uow.session.get(Campaign, campaign_id).total_sent == 0
    assert count(engine, TestSend) == 1 and len(relay.messages) == 1  # only the send that went out


# --- the rate limit -------------------------------------------------------------------------------
def test_rate_limit_per_account_with_retry_after(api, user, other_user, engine, relay, clock):
    limit_to(engine, 2, 3600)
    _l, _f, email_id = newsletter(engine, user)
    for minute in (0, 10):
        assert api("Email.EmailPreview", user.session, EmailID=email_id, EmailAddress="qa@example.com")["Success"]
        clock.advance(minutes=10 if minute == 0 else 5)
    before = stored_state(engine)
    refused = api("Email.EmailPreview", user.session, EmailID=email_id, EmailAddress="qa@example.com")
    assert refused["ErrorCode"] == 20 and refused["RetryAfter"] == 45 * 60   # the first send leaves the window
    assert len(relay.messages) == 2 and stored_state(engine) == before
    # Another account has its own allowance.
    theirs = make_email(engine, other_user, html_content="<p>x</p>")
    assert api("Email.EmailPreview", other_user.session, EmailID=theirs, EmailAddress="qa@example.com")["Success"]
    clock.advance(minutes=45)
    assert api("Email.EmailPreview", user.session, EmailID=email_id, EmailAddress="qa@example.com")["Success"]


def test_rate_limit_raises_with_retry_after_in_the_engine(user, engine, relay):
    limit_to(engine, 1)
    email_id = make_email(engine, user, html_content="<p>x</p>")
    with engine.uow() as uow:
        uow.test_sends.send_email_preview(user_actor(user), email_id, "qa@example.com")
        uow.commit()
    with engine.uow() as uow:
        with pytest.raises(PreviewRateLimited) as refused:
            uow.test_sends.send_email_preview(user_actor(user), email_id, "qa@example.com")
    assert refused.value.retry_after == 3600


def test_two_requests_at_once_cannot_both_take_the_last_slot(user, engine, relay):
    limit_to(engine, 1)
    email_id = make_email(engine, user, html_content="<p>x</p>")
    relay.delay = 0.5   # the first request is still talking to the relay when the second counts
    outcomes = []

    def attempt():
        with engine.uow() as uow:
            try:
                uow.test_sends.send_email_preview(user_actor(user), email_id, "qa@example.com")
                uow.commit()
                outcomes.append("sent")
            except PreviewRateLimited:
                outcomes.append("limited")

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["limited", "sent"] and len(relay.messages) == 1
    assert count(engine, TestSend) == 1


def test_a_refused_message_does_not_count(api, user, engine, relay):
    limit_to(engine, 1)
    email_id = make_email(engine, user, html_content="<p>x</p>")
    relay.reject["nobody@example.com"] = "550 5.1.1 No such user"
    answer = api("Email.EmailPreview", user.session, EmailID=email_id, EmailAddress="nobody@example.com")
    assert answer["ErrorCode"] == 8 and "550" in answer["ErrorText"]
    assert count(engine, TestSend) == 0
    assert api("Email.EmailPreview", user.session, EmailID=email_id, EmailAddress="qa@example.com")["Success"]


# --- every documented code ---------------------------------------------------------------------------
def _email(t, **fields):
    return make_email(t.engine, t.user, **({"html_content": "<p>x</p>"} | fields))


def _suppressed(t):
    with t.engine.uow() as uow:
        uow.suppression.add(t.user.id, "gone@example.com")
        uow.commit()
    return dict(EmailID=_email(t), EmailAddress="Gone@Example.com")


def _exhausted(t):
    limit_to(t.engine, 1)
    email_id = _email(t)
    assert t.api("Email.EmailPreview", t.user.session, EmailID=email_id, EmailAddress="qa@example.com")["Success"]
    return dict(EmailID=email_id, EmailAddress="qa@example.com")


def _no_relay(t):
    t.engine.settings = dataclasses.replace(t.engine.settings, smtp_url="")
    return dict(EmailID=_email(t), EmailAddress="qa@example.com")


def _refused_by_the_relay(t):
    t.relay.reject["qa@example.com"] = "550 5.1.1 no such mailbox"
    return dict(EmailID=_email(t), EmailAddress="qa@example.com")


def _suspended(t):
    with t.engine.uow() as uow:
        uow.email_account.update(t.user.id, {"status": "SUSPENDED"})
        uow.commit()
    return dict(EmailID=_email(t), EmailAddress="qa@example.com")


def _foreign(t, what):
    other = t.make_other()
    list_id = make_list(t.engine, other)
    if what == "list":
        return list_id
    if what == "subscriber":
        return make_subscriber(t.engine, list_id, "x@example.com")
    with t.engine.uow() as uow:
        campaign = uow.campaigns.create(user_actor(other), "theirs")
        uow.commit()
        return campaign.id


ERROR_CASES = [
    (1, lambda t: dict(EmailAddress="qa@example.com")),
    (1, lambda t: dict(EmailAddress="qa@example.com", HTMLContent="   ")),
    (2, lambda t: dict(EmailID=_email(t))),
    (3, lambda t: dict(EmailID=make_email(t.engine, t.make_other(), html_content="x"), EmailAddress="a@b.example")),
    (3, lambda t: dict(EmailID="abc", EmailAddress="qa@example.com")),
    (4, lambda t: dict(EmailID=_email(t), EmailAddress="qa@@example")),
    (5, lambda t: dict(EmailID=_email(t), SubscriberID=_foreign(t, "subscriber"))),
    (6, lambda t: dict(EmailID=_email(t), EmailAddress="qa@example.com", ListID=_foreign(t, "list"))),
    (7, lambda t: dict(EmailID=_email(t), EmailAddress="qa@example.com", CampaignID=_foreign(t, "campaign"))),
    (8, _no_relay),
    (8, _refused_by_the_relay),
    (9, lambda t: dict(EmailID=_email(t, html_content=""), EmailAddress="qa@example.com")),
    (20, _exhausted),
    (21, _suppressed),
    (22, lambda t: dict(EmailID=_email(t), EmailAddress="qa@example.com", FromName="x" * 256)),
    (23, _suspended),
    (24, lambda t: dict(EmailID=_email(t), EmailAddress="qa@example.com", FromEmailAddress="security@bank.example")),
    (24, lambda t: dict(EmailID=_email(t, from_email="not an address"), EmailAddress="qa@example.com")),
]


@pytest.mark.parametrize("code,params", ERROR_CASES, ids=[f"{code}-{i}" for i, (code, _) in enumerate(ERROR_CASES)])
def test_documented_code(api, user, engine, relay, code, params):
    from tests.helpers import make_user

    others = []
    t = SimpleNamespace(api=api, user=user, engine=engine, relay=relay,
                        make_other=lambda: others[0] if others else others.append(make_user(engine, api, "eve"))
                        or others[0])
    values = params(t)
    sent_before = len(relay.messages)
    before = stored_state(engine)
    answer = api("Email.EmailPreview", user.session, **values)
    assert answer["Success"] is False and codes(answer) == [code], answer
    assert isinstance(answer["ErrorCode"], int) and isinstance(answer["ErrorText"], str)
    assert len(relay.messages) == sent_before   # a refusal sends nothing
    assert stored_state(engine) == before       # …and records nothing


def test_every_documented_code_has_a_case():
    assert {code for code, _ in ERROR_CASES} == set(EMAIL_PREVIEW.errors)
