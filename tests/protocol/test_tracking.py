"""The public tracking endpoints (/t/o, /t/c, /t/u, /t/w) and what they do to Campaign.Get's statistics."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.models import Subscriber, Suppression
from engine.models.activity import SubscriberActivity
from engine.models.sending import Delivery, SendInstance
from engine.tracking.tokens import Kind, Signer
from tests.builders import load_campaign, load_row, make_email, make_list, make_subscriber, set_campaign
from tests.helpers import stored_state

BASE = "http://sendmill.test"
HTML = ('<html><body><p>Hello %Subscriber:EmailAddress%</p>'
        '<a href="https://shop.example/sale?e=%Subscriber:EmailAddress%">Sale</a> '
        '<a href="https://example.com/about">About</a> <a href="mailto:help@example.com">Help</a>'
        '<a href="%Link:Unsubscribe%">Unsubscribe</a></body></html>')


@dataclass
class Sent:
    campaign_id: int
    instance_id: int
    list_id: int
    alice: int
    bob: int
    signer: Signer
    nonce: str   # the campaign's public_nonce, which its messages' links carry

    def url(self, kind: Kind, subscriber_id: int, **extra) -> str:
        return "/t/{}/{}".format({Kind.OPEN: "o", Kind.CLICK: "c", Kind.UNSUBSCRIBE: "u", Kind.WEB_VIEW: "w"}[kind],
                                 self.signer.sign(kind, instance_id=self.instance_id, subscriber_id=subscriber_id,
                                                  nonce=self.nonce, **extra))

    def verp(self, subscriber_id: int) -> str:
        return self.signer.verp_address("bounces.sendmill.test", instance_id=self.instance_id,
                                        subscriber_id=subscriber_id, nonce=self.nonce)


def sent_campaign(engine, api, user, html: str = HTML) -> Sent:
    """A campaign whose email went to alice@ and bob@: one send instance, two 'sent' ledger rows."""
    list_id = make_list(engine, user)
    alice = make_subscriber(engine, list_id, "alice@example.org")
    bob = make_subscriber(engine, list_id, "bob@example.org")
    email_id = make_email(engine, user, subject="News for %Subscriber:EmailAddress%", html_content=html,
                          from_email="news@example.com")
    campaign_id = api("Campaign.Create", user.session, CampaignName="News")["CampaignID"]
    set_campaign(engine, campaign_id, email_id=email_id, status="Sent", total_sent=2)
    with engine.uow() as uow:
        now = uow.clock()
        instance = SendInstance(campaign_id=campaign_id, number=1, scheduled_for=now, started_at=now, state="done",
                                total_recipients=2)
        uow.session.add(instance)
        uow.session.flush()
        for sid, address in ((alice, "alice@example.org"), (bob, "bob@example.org")):
            uow.session.add(Delivery(instance_id=instance.id, subscriber_id=sid, email_normalized=address,
                                     state="sent", sent_at=now))
        uow.commit()
        instance_id = instance.id
    return Sent(campaign_id, instance_id, list_id, alice, bob, Signer(engine.settings.secret_key),
                load_campaign(engine, campaign_id).public_nonce)


def stats(api, user, campaign_id: int) -> dict:
    answer = api("Campaign.Get", user.session, CampaignID=campaign_id, RetrieveStatistics="true")
    assert answer["Success"] is True
    return answer["Campaign"]["Statistics"]


def activity(engine, kind: str) -> list[tuple[int, str]]:
    with engine.uow() as uow:
        return [(a.subscriber_id, a.link_url) for a in uow.session.scalars(
            select(SubscriberActivity).where(SubscriberActivity.kind == kind).order_by(SubscriberActivity.id))]


@pytest.fixture
def sent(engine, api, user) -> Sent:
    return sent_campaign(engine, api, user)


# --- open pixel --------------------------------------------------------------------------------------
def test_open_pixel_is_an_uncached_gif_and_unique_opens_count_once(client, api, user, sent):
    first = client.get(sent.url(Kind.OPEN, sent.alice))
    assert first.status_code == 200 and first.mimetype == "image/gif"
    assert first.data.startswith(b"GIF89a") and "no-store" in first.headers["Cache-Control"]
    client.get(sent.url(Kind.OPEN, sent.alice))
    client.get(sent.url(Kind.OPEN, sent.bob))
    opens = stats(api, user, sent.campaign_id)["OpenStatistics"]
    assert (opens["TotalOpens"], opens["UniqueOpens"]) == (3, 2)
    assert [s for s, _ in activity(client.application.extensions["sendmill.engine"], "open")] == \
        [sent.alice, sent.alice, sent.bob]


def test_a_head_request_on_the_pixel_records_nothing(client, api, user, engine, sent):
    before = stored_state(engine)
    assert client.head(sent.url(Kind.OPEN, sent.alice)).status_code == 200
    assert stats(api, user, sent.campaign_id)["OpenStatistics"]["TotalOpens"] == 0
    assert stored_state(engine) == before


@pytest.mark.parametrize("token", ["garbage", "A" * 40, "", "x" * 300])
def test_a_garbage_open_token_is_a_404_page(client, token):
    answer = client.get(f"/t/o/{token}")
    assert answer.status_code == 404 and answer.mimetype == "text/html"


def test_a_tampered_token_is_refused_and_counts_nothing(client, api, user, engine, sent):
    token = sent.url(Kind.OPEN, sent.alice).rsplit("/", 1)[1]
    before = stored_state(engine)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert client.get(f"/t/o/{flipped}").status_code == 404
    # A valid token of another kind does not open either.
    assert client.get("/t/o/" + sent.url(Kind.UNSUBSCRIBE, sent.alice).rsplit("/", 1)[1]).status_code == 404
    assert stats(api, user, sent.campaign_id)["OpenStatistics"]["TotalOpens"] == 0
    assert stored_state(engine) == before


def test_a_token_for_a_deleted_subscriber_is_a_404(client, engine, sent):
    with engine.uow() as uow:
        uow.session.delete(uow.session.get(Subscriber, sent.bob))
        uow.commit()
    before = stored_state(engine)
    assert client.get(sent.url(Kind.OPEN, sent.bob)).status_code == 404
    assert stored_state(engine) == before


# --- clicks ------------------------------------------------------------------------------------------
def test_click_redirects_to_the_stored_url_personalised_and_implies_an_open(client, api, user, engine, sent):
    answer = client.get(sent.url(Kind.CLICK, sent.alice, link_index=0))
    assert answer.status_code == 302
    assert answer.headers["Location"] == "https://shop.example/sale?e=alice%40example.org"
    assert client.get(sent.url(Kind.CLICK, sent.alice, link_index=1)).headers["Location"] == \
        "https://example.com/about"
    client.get(sent.url(Kind.CLICK, sent.bob, link_index=1))
    s = stats(api, user, sent.campaign_id)
    assert (s["ClickStatistics"]["TotalClicks"], s["ClickStatistics"]["UniqueClicks"]) == (3, 2)
    # No pixel was loaded (images blocked), yet a click means the message was opened: once each.
    assert (s["OpenStatistics"]["TotalOpens"], s["OpenStatistics"]["UniqueOpens"]) == (2, 2)
    assert activity(engine, "click") == [
        (sent.alice, "https://shop.example/sale?e=%Subscriber:EmailAddress%"),
        (sent.alice, "https://example.com/about"), (sent.bob, "https://example.com/about")]


def test_click_with_an_index_beyond_the_content_is_a_404(client, api, user, engine, sent):
    # Index 2 would be the mailto: link, which is not tracked; 99 is nowhere.
    before = stored_state(engine)
    for index in (2, 99):
        assert client.get(sent.url(Kind.CLICK, sent.alice, link_index=index)).status_code == 404
    assert stats(api, user, sent.campaign_id)["ClickStatistics"]["TotalClicks"] == 0
    assert stored_state(engine) == before  # no click, and no implied open either


def test_click_ignores_anything_the_request_adds(client, sent):
    answer = client.get(sent.url(Kind.CLICK, sent.alice, link_index=1) + "?url=https://evil.example/")
    assert answer.headers["Location"] == "https://example.com/about"
    assert client.get("/t/c/" + "A" * 30).status_code == 404


# --- unsubscribe -------------------------------------------------------------------------------------
def test_unsubscribe_get_shows_a_form_and_changes_nothing(client, api, user, engine, sent):
    before = stored_state(engine)
    page = client.get(sent.url(Kind.UNSUBSCRIBE, sent.alice))
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert b'<form method="post"' in page.data and b"alice@example.org" in page.data
    assert client.head(sent.url(Kind.UNSUBSCRIBE, sent.alice)).status_code == 200
    assert load_row(engine, Subscriber, sent.alice).subscription_status == "Subscribed"
    assert stats(api, user, sent.campaign_id)["UnsubscriptionStatistics"]["TotalUnsubscriptions"] == 0
    assert stored_state(engine) == before


def test_one_click_post_unsubscribes_once(client, api, user, engine, clock, sent):
    answer = client.post(sent.url(Kind.UNSUBSCRIBE, sent.alice), data={"List-Unsubscribe": "One-Click"},
                         environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    row = load_row(engine, Subscriber, sent.alice)
    assert row.subscription_status == "Unsubscribed" and row.unsubscription_ip == "198.51.100.9"
    assert row.unsubscription_date == clock() and row.unsubscription_campaign_id == sent.campaign_id
    # Again (the provider retries, the person clicks twice): still 200, counted once.
    assert client.post(sent.url(Kind.UNSUBSCRIBE, sent.alice),
                       data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert stats(api, user, sent.campaign_id)["UnsubscriptionStatistics"]["TotalUnsubscriptions"] == 1
    gone = api("Subscribers.Get", user.session, SubscriberListID=sent.list_id, SubscriberSegment="Unsubscribed")
    assert [s["EmailAddress"] for s in gone["Subscribers"]] == ["alice@example.org"]
    assert [s for s, _ in activity(engine, "unsubscribe")] == [sent.alice]


def test_the_confirmation_form_post_unsubscribes_and_shows_a_page(client, engine, sent):
    answer = client.post(sent.url(Kind.UNSUBSCRIBE, sent.bob), data={"confirm": "1"})
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    assert b"You are unsubscribed" in answer.data
    assert load_row(engine, Subscriber, sent.bob).subscription_status == "Unsubscribed"
    assert b"You are unsubscribed" in client.get(sent.url(Kind.UNSUBSCRIBE, sent.bob)).data


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_on_the_unsubscribe_link_are_405(client, engine, sent, method):
    before = stored_state(engine)
    assert client.open(sent.url(Kind.UNSUBSCRIBE, sent.alice), method=method).status_code == 405
    assert stored_state(engine) == before


def test_unsubscribe_with_a_bad_token_is_a_404(client, engine, sent):
    before = stored_state(engine)
    assert client.post("/t/u/" + "B" * 30, data={"List-Unsubscribe": "One-Click"}).status_code == 404
    assert stored_state(engine) == before


# --- web view ----------------------------------------------------------------------------------------
def test_web_view_is_the_campaign_personalised_with_tracked_links(client, api, user, sent):
    page = client.get(sent.url(Kind.WEB_VIEW, sent.bob))
    assert page.status_code == 200 and page.mimetype == "text/html"
    body = page.data.decode()
    assert "Hello bob@example.org" in body
    assert f"{BASE}/t/c/" in body and "https://shop.example/sale" not in body
    assert f"{BASE}/t/u/" in body and "mailto:help@example.com" in body
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    client.get(sent.url(Kind.WEB_VIEW, sent.bob))
    s = stats(api, user, sent.campaign_id)
    assert s["BrowserViewStatistics"] == {"TotalViewsOnBrowser": 2, "UniqueViewsOnBrowser": 1}
    assert s["OpenStatistics"]["UniqueOpens"] == 1
    # The tracked link in the page leads where the email's did.
    link = body.split(f'{BASE}/t/c/', 1)[1].split('"', 1)[0]
    assert client.get(f"/t/c/{link}").headers["Location"] == "https://shop.example/sale?e=bob%40example.org"


# --- bounces and complaints through `sendmill bounce` ---------------------------------------------------
def dsn(verp: str, address: str, status: str = "5.1.1", report_id: str = "<r1@mx.example.net>") -> bytes:
    return (f"From: MAILER-DAEMON@mx.example.net\r\nTo: {verp}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"Message-ID: {report_id}\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
            "--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
            "--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
            f"Final-Recipient: rfc822; {address}\r\nAction: failed\r\nStatus: {status}\r\n"
            f"Diagnostic-Code: smtp; 550 {status} no such user\r\n"
            "--b1--\r\n").encode()


@pytest.fixture
def cli_env(engine, monkeypatch):
    """`sendmill` commands against the test database and secret."""
    import scheduler.cli as cli
    from scheduler.cli import common

    monkeypatch.setattr(common, "open_engine", lambda: engine)
    return cli


def test_sendmill_bounce_records_a_hard_bounce_from_stdin(cli_env, api, user, engine, sent):
    result = CliRunner().invoke(cli_env.main, ["bounce", "--recipient", sent.verp(sent.alice)],
                                input=dsn(sent.verp(sent.alice), "alice@example.org"))
    assert result.exit_code == 0, result.output
    assert load_row(engine, Subscriber, sent.alice).bounce_type == "Hard"
    with engine.uow() as uow:
        sources = list(uow.session.scalars(select(Suppression.source).where(
            Suppression.email_normalized == "alice@example.org", Suppression.list_id.is_(None))))
    assert sources == ["Hard Bounced"]
    # The MTA delivers the same report again: counted once.
    again = CliRunner().invoke(cli_env.main, ["bounce", "--recipient", sent.verp(sent.alice)],
                               input=dsn(sent.verp(sent.alice), "alice@example.org"))
    assert again.exit_code == 0
    s = stats(api, user, sent.campaign_id)
    assert s["BounceStatistics"]["TotalHardBounces"] == 1 and s["BounceStatistics"]["TotalSoftBounces"] == 0
    hard = api("Subscribers.Get", user.session, SubscriberListID=sent.list_id, SubscriberSegment="Hard bounced")
    assert [x["EmailAddress"] for x in hard["Subscribers"]] == ["alice@example.org"]


def test_sendmill_bounce_exit_codes(cli_env, engine, sent, monkeypatch):
    before = stored_state(engine)
    assert CliRunner().invoke(cli_env.main, ["bounce"], input=b"").exit_code == 65
    assert CliRunner().invoke(cli_env.main, ["bounce"], input=b"\x00\x01 not mail").exit_code == 65
    # A message with nothing to act on (an auto-reply) is handled: the MTA must not bounce it back.
    assert CliRunner().invoke(cli_env.main, ["bounce"],
                              input=b"From: bob@example.org\r\nSubject: Out of office\r\n\r\nAway.\r\n").exit_code == 0
    assert stored_state(engine) == before

    def broken():
        raise RuntimeError("database unreachable")
    monkeypatch.setattr(cli_env.common, "open_engine", broken)
    failed = CliRunner().invoke(cli_env.main, ["bounce", "--recipient", sent.verp(sent.alice)],
                                input=dsn(sent.verp(sent.alice), "alice@example.org"))
    assert failed.exit_code == 75
    assert stored_state(engine) == before  # the MTA keeps the report and retries it later


def test_sendmill_inbound_records_a_bounce_received_over_smtp(cli_env, engine, sent):
    import smtplib

    from engine.models import Subscriber

    with cli_env.bounces.inbound_server(engine, "127.0.0.1", 0) as server:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as smtp:
            refused = smtp.sendmail("", [sent.verp(sent.bob)], dsn(sent.verp(sent.bob), "bob@example.org"))
            assert refused == {}
            # Not a token of ours: refused at RCPT, so the listener is no relay.
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                smtp.sendmail("", ["someone@example.org"], b"Subject: hi\r\n\r\nhi\r\n")
    assert load_row(engine, Subscriber, sent.bob).bounce_type == "Hard"
