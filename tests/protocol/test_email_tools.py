"""Email.Html2Text, Email.Delivery.Test (through a real SMTP server on loopback) and Attachment.Delete —
every code, stored state after failing and successful calls."""
from __future__ import annotations

import dataclasses
import email
import email.policy

import pytest

from engine.models import Admin
from protocol.commands import email_tools as commands
from tests.builders import CodeRecorder, assert_codes_reached
from tests.e2e.support import loopback_relay
from tests.helpers import stored_state

SEEN: dict = {}
# Code 2 is the page's defensive catch for a converter that throws; html2text reads any text (malformed
# markup included, see the tests below) and Sendmill closes unfinished tags before it sees them.
NEVER_EMITTED = {"Email.Html2Text": {2}}


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


@pytest.fixture
def relay(engine):
    with loopback_relay(engine) as recorder:
        yield recorder


def set_admin_address(engine, admin, address: str) -> None:
    with engine.uow() as uow:
        uow.session.get(Admin, admin.id).email_address = address
        uow.commit()


# --- Email.Html2Text -------------------------------------------------------------------------------
def test_html2text_converts_and_keeps_tags_and_links(api, user, engine):
    before = stored_state(engine)
    answer = api("Email.Html2Text", user.session,
                 HTMLContent='<h1>Hello</h1><p>Visit <a href="https://example.com">our site</a> for details, '
                             '%Subscriber:FirstName% and [SUBSCRIBER_FIRSTNAME].</p>')
    assert answer["Success"] is True and answer["ErrorCode"] == 0
    text = answer["PlainContent"]
    assert text.startswith("# Hello\n\nVisit ") and "https://example.com" in text and "our site" in text
    assert "%Subscriber:FirstName%" in text and "[SUBSCRIBER_FIRSTNAME]" in text and "<" not in text
    assert stored_state(engine) == before


def test_html2text_is_what_delivery_mails_as_the_plain_part(api, user):
    from engine.delivery.html_text import html_to_text

    source = "<table><tr><td><b>Sale</b> — café</td></tr></table><p>Line<br>break</p>"
    assert api("Email.Html2Text", user.session, HTMLContent=source)["PlainContent"] == html_to_text(source).strip("\n")


@pytest.mark.parametrize("source,expected", [("   ", ""), ("<p> </p>", ""), ("<p><b>unclosed <a href=x>", "unclosed"),
                                             ("1 < 2 <b>bold", "1 < 2 bold")])
def test_html2text_empty_and_malformed_html(api, user, source, expected):
    answer = api("Email.Html2Text", user.session, HTMLContent=source)
    assert answer.get("PlainContent") == expected, answer


@pytest.mark.parametrize("params", [{}, {"HTMLContent": ""}])
def test_html2text_without_html_content_is_1(api, user, params):
    # An empty value is "not supplied" on /api.php (README, "Parameters"), so "" is code 1 here too.
    answer = api("Email.Html2Text", user.session, **params)
    assert answer["ErrorCode"] == 1 and answer["Errors"][0]["Code"] == 1
    assert answer["Errors"][0]["Message"].startswith("Missing HTMLContent parameter")


def test_html2text_on_api_v1_and_without_credentials(api, client, user):
    response = client.post("/api/v1/email.html2text", json={"SessionID": user.session, "HTMLContent": "<p>Hi</p>"})
    assert response.status_code == 200 and response.get_json()["PlainContent"] == "Hi"
    response = client.post("/api/v1/email.html2text", json={"SessionID": user.session})
    assert response.status_code == 422 and response.get_json()["Errors"][0]["Code"] == 1
    assert api("Email.Html2Text", "stale", HTMLContent="<p>x</p>")["ErrorCode"] == 99998


# --- Email.Delivery.Test ---------------------------------------------------------------------------
def test_delivery_test_sends_one_message_to_the_admin(api, admin, engine, relay):
    set_admin_address(engine, admin, "root@example.com")
    before = stored_state(engine)
    answer = api("Email.Delivery.Test", admin.session)
    assert answer["Success"] is True and answer["ErrorCode"] == 0
    assert len(relay.messages) == 1
    mail_from, rcpts, data = relay.messages[0]
    assert rcpts == ["root@example.com"] and mail_from.startswith("no-reply@")
    message = email.message_from_bytes(data, policy=email.policy.strict)
    assert message["Subject"] == "Sendmill email delivery test" and message["To"] == "root@example.com"
    assert stored_state(engine) == before  # nothing recorded


def test_delivery_test_refused_by_the_relay_is_1(api, admin, engine, relay):
    set_admin_address(engine, admin, "root@example.com")
    relay.reject["root@example.com"] = "550 5.1.1 no such mailbox"
    before = stored_state(engine)
    answer = api("Email.Delivery.Test", admin.session)
    assert answer["Success"] is False and answer["ErrorCode"] == 1 and "550" in answer["ErrorText"]
    assert relay.messages == [] and stored_state(engine) == before


def test_delivery_test_without_a_relay_is_1(api, admin, engine):
    set_admin_address(engine, admin, "root@example.com")
    engine.settings = dataclasses.replace(engine.settings, smtp_url="")
    answer = api("Email.Delivery.Test", admin.session)
    assert answer["ErrorCode"] == 1 and "SENDMILL_SMTP_URL" in answer["ErrorText"]


def test_delivery_test_without_an_admin_address_is_1(api, admin, engine, relay):
    set_admin_address(engine, admin, "")
    answer = api("Email.Delivery.Test", admin.session)
    assert answer["ErrorCode"] == 1 and "no valid email address" in answer["ErrorText"] and relay.messages == []


def test_delivery_test_is_for_administrators_only(api, user, engine, relay):
    assert api("Email.Delivery.Test", user.session)["ErrorCode"] in (99998, 99999)
    assert relay.messages == []


# --- Attachment.Delete -----------------------------------------------------------------------------
def test_attachment_delete_changes_nothing(api, user, engine):
    before = stored_state(engine)
    assert api("Attachment.Delete", user.session, AttachmentID=789) == {"Success": True, "ErrorCode": 0, "ErrorText": ""}
    assert stored_state(engine) == before


@pytest.mark.parametrize("value", [None, "", "abc", "0"])
def test_attachment_delete_without_an_id_is_1(api, user, value):
    params = {} if value is None else {"AttachmentID": value}
    assert api("Attachment.Delete", user.session, **params)["ErrorCode"] == [1]


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, commands.COMMANDS, NEVER_EMITTED)
