"""Email.Render and Email.Smtp.Render through HTTP: personalised output, links, owner checks, every code;
nothing is stored or sent."""
from __future__ import annotations

import email
import email.policy
from datetime import datetime, timezone

import pytest

from engine.models import Delivery, SendInstance
from protocol.commands import email_render as commands
from tests.builders import CodeRecorder, assert_codes_reached, make_custom_field, make_email, make_list, make_subscriber
from tests.helpers import stored_state

SEEN: dict = {}
NEVER_EMITTED: dict = {}
HTML = ('<html><body><p>Hello %Subscriber:CustomField{field}%!</p>'
        '<p><a href="https://example.com/offer">Offer</a></p></body></html>')


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


@pytest.fixture
def shop(api, engine, user):
    list_id = make_list(engine, user, "Shop")
    field = make_custom_field(engine, user, list_id, "Nickname")
    subscriber = make_subscriber(engine, list_id, "ann@example.com", {field: "Annie"})
    email_id = make_email(engine, user, subject="News for %Subscriber:CustomField{}%".format(field),
                          html_content=HTML.format(field=field), from_email="news@sender.example", from_name="Shop")
    campaign = api("Campaign.Create", user.session, CampaignName="Launch")["CampaignID"]
    assert api("Campaign.Update", user.session, CampaignID=campaign, RelEmailID=email_id,
               RecipientListsAndSegments=f"{list_id}:0")["Success"] is True
    return dict(list_id=list_id, field=field, subscriber=subscriber, email_id=email_id, campaign=campaign)


def browser(api, user, shop, **params):
    base = dict(UserID=user.id, ListID=shop["list_id"], SubscriberID=shop["subscriber"], CampaignID=shop["campaign"],
                AutoResponderID=0, EmailID=shop["email_id"], QueueRowID=0, IsPreview=1, DisablePersonalization=0)
    base.update(params)
    return api("Email.Render", user.session, method="GET", **{k: v for k, v in base.items() if v is not None})


# --- Email.Render ----------------------------------------------------------------------------------
def test_render_personalises_subject_and_html(api, user, engine, shop):
    before = stored_state(engine)
    answer = browser(api, user, shop)
    assert answer["Success"] is True and answer["Subject"] == "News for Annie"
    assert "Hello Annie!" in answer["EmailContent"] and "example.com/offer" not in answer["EmailContent"]  # tracked link
    raw = browser(api, user, shop, DisablePersonalization=1)
    assert raw["Subject"].startswith("News for %Subscriber:CustomField") and "%Subscriber:CustomField" in raw["EmailContent"]
    assert stored_state(engine) == before


def test_render_with_a_queue_row_signs_links_for_that_send(api, user, engine, shop, client):
    with engine.uow() as uow:
        now = datetime(2026, 11, 20, tzinfo=timezone.utc)
        instance = SendInstance(campaign_id=shop["campaign"], number=1, scheduled_for=now, started_at=now, state="done")
        uow.session.add(instance)
        uow.session.flush()
        row = Delivery(instance_id=instance.id, subscriber_id=shop["subscriber"], email_normalized="ann@example.com",
                       state="sent", sent_at=now)
        uow.session.add(row)
        uow.commit()
        row_id = row.id
    preview = browser(api, user, shop, QueueRowID=row_id, IsPreview=1)["EmailContent"]
    real = browser(api, user, shop, QueueRowID=row_id, IsPreview=0)["EmailContent"]
    assert preview != real   # the same message, its links signed for another send
    before = stored_state(engine)
    assert browser(api, user, shop, QueueRowID=row_id + 1, IsPreview=0)["ErrorCode"] == 16
    assert stored_state(engine) == before


@pytest.mark.parametrize("name,code", [("UserID", 1), ("ListID", 2), ("SubscriberID", 3), ("CampaignID", 4),
                                       ("AutoResponderID", 5), ("EmailID", 6), ("QueueRowID", 7), ("IsPreview", 8),
                                       ("DisablePersonalization", 9)])
def test_render_missing_parameter(api, user, shop, name, code):
    answer = browser(api, user, shop, **{name: None})
    assert answer["ErrorCode"] == code and answer["Errors"][0]["Code"] == code


@pytest.mark.parametrize("name,code", [("UserID", 10), ("ListID", 11), ("SubscriberID", 12), ("CampaignID", 13),
                                       ("AutoResponderID", 14), ("EmailID", 15), ("QueueRowID", 16)])
def test_render_malformed_parameter(api, user, shop, name, code):
    assert browser(api, user, shop, **{name: "abc"})["ErrorCode"] == code


def test_render_of_another_account_s_objects(api, user, other_user, engine, shop):
    theirs = make_list(engine, other_user, "Theirs")
    their_sub = make_subscriber(engine, theirs, "eve@example.com")
    their_email = make_email(engine, other_user, html_content="<p>secret</p>")
    their_campaign = api("Campaign.Create", other_user.session, CampaignName="Theirs")["CampaignID"]
    assert browser(api, user, shop, UserID=other_user.id)["ErrorCode"] == 10
    assert browser(api, user, shop, ListID=theirs)["ErrorCode"] == 11
    assert browser(api, user, shop, SubscriberID=their_sub)["ErrorCode"] == 12
    assert browser(api, user, shop, CampaignID=their_campaign)["ErrorCode"] == 13
    assert browser(api, user, shop, AutoResponderID=999)["ErrorCode"] == 14
    answer = browser(api, user, shop, EmailID=their_email)
    assert answer["ErrorCode"] == 15 and "EmailContent" not in answer


def test_render_on_api_v1(client, user, shop):
    response = client.get("/api/v1/email.render", query_string=dict(
        SessionID=user.session, UserID=user.id, ListID=shop["list_id"], SubscriberID=shop["subscriber"],
        CampaignID=0, AutoResponderID=0, EmailID=shop["email_id"], QueueRowID=0, IsPreview=1,
        DisablePersonalization=0))
    assert response.status_code == 200 and response.get_json()["Subject"] == "News for Annie"


# --- Email.Smtp.Render -----------------------------------------------------------------------------
def test_smtp_render_from_a_campaign_builds_the_message(api, user, engine, shop):
    before = stored_state(engine)
    answer = api("Email.Smtp.Render", user.session, CampaignID=shop["campaign"])
    assert answer["Success"] is True, answer
    assert answer["Subject"] == "News for Annie" and "Hello Annie!" in answer["HTMLBody"]
    assert "Hello Annie!" in answer["PlainBody"]
    assert answer["ContentType"] == "MultiPart" and answer["HasHTMLContent"] and answer["HasPlainContent"]
    assert (answer["FromEmail"], answer["FromName"], answer["AttachmentCount"]) == ("news@sender.example", "Shop", 0)
    assert answer["MFROMDomain"] == "sendmill.test" and answer["TrackingDomain"] == "sendmill.test"
    message = email.message_from_bytes((answer["SMTPHeaders"] + "\r\n" + answer["SMTPBody"]).encode(),
                                       policy=email.policy.strict)
    assert message["To"] == "ann@example.com" and message["Subject"] == "News for Annie"
    assert answer["EmailSizeBytes"] == len((answer["SMTPHeaders"] + "\r\n" + answer["SMTPBody"]).encode())
    assert stored_state(engine) == before


def test_smtp_render_preview_has_no_tracking(api, user, shop):
    tracked = api("Email.Smtp.Render", user.session, CampaignID=shop["campaign"])["HTMLBody"]
    preview = api("Email.Smtp.Render", user.session, CampaignID=shop["campaign"], IsPreview="yes")["HTMLBody"]
    assert "https://example.com/offer" in preview and "https://example.com/offer" not in tracked


def test_smtp_render_for_an_administrator_needs_the_user(api, admin, user, shop):
    assert api("Email.Smtp.Render", admin.session, CampaignID=shop["campaign"])["ErrorCode"] == 1
    answer = api("Email.Smtp.Render", admin.session, UserID=user.id, EmailID=shop["email_id"], ListID=shop["list_id"],
                 SubscriberID=shop["subscriber"])
    assert answer["Success"] is True and answer["Subject"] == "News for Annie"


def test_smtp_render_refusals(api, user, other_user, engine, shop):
    theirs = make_list(engine, other_user, "Theirs")
    empty = make_list(engine, user, "Empty")
    their_campaign = api("Campaign.Create", other_user.session, CampaignName="Theirs")["CampaignID"]
    bare = api("Campaign.Create", user.session, CampaignName="Bare")["CampaignID"]
    before = stored_state(engine)
    call = lambda **p: api("Email.Smtp.Render", user.session, **p)["ErrorCode"]  # noqa: E731
    assert call(UserID=other_user.id, CampaignID=shop["campaign"]) == 1
    assert call(UserID="x") == 1
    assert call(CampaignID=their_campaign) == 2 and call(CampaignID="x") == 2
    assert call(AutoResponderID=12345) == 3
    assert call() == 4 and call(CampaignID=bare) == 4
    assert call(EmailID=shop["email_id"]) == 5 and call(EmailID=shop["email_id"], ListID=theirs) == 5
    assert call(EmailID=shop["email_id"], ListID=empty) == 6
    assert call(CampaignID=shop["campaign"], SubscriberID=999999) == 6
    assert stored_state(engine) == before


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, commands.COMMANDS, NEVER_EMITTED)
