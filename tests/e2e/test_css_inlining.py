"""CSS inlining in outgoing mail: a campaign's `<style>` rules reach every recipient inlined, @media
rules stay in the head, personalisation and click tracking still work, and the inlining runs once per
skeleton, never per recipient. Test sends are inlined too (the skeleton builder is shared)."""
from __future__ import annotations

import email
import email.policy
import re

import pytest

from engine.delivery import inline_css
from engine.delivery.relays import parse_relays
from engine.delivery.runner import DeliveryRunner
from engine.delivery.transport import SmtpPool
from engine.models import Campaign, Email
from scheduler.tick import tick
from tests.builders import make_email
from tests.e2e.support import loopback_relay, make_campaign, make_list, make_owner

STYLED = (
    '<html><head><style>p.hi { color: #c00; font-weight: bold } a { color: #06c }'
    ' @media (max-width: 600px) { p.hi { font-size: 20px } }</style></head>'
    '<body><p class="hi">Hello %Subscriber:EmailAddress%'
    '{{ if Subscriber:EmailAddress<>nobody@example.com }}, welcome{{ endif }}!</p>'
    '<p><a href="https://example.com/offer?a=1&amp;to=%Subscriber:EmailAddress%">Offer</a></p>'
    '<p><a href="%Link:Unsubscribe%">Unsubscribe</a></p></body></html>')
ADDRESSES = [f"css{i}@example.com" for i in range(6)]


@pytest.fixture
def pool(smtp):
    transport = SmtpPool(parse_relays(smtp.url + "?max_connections=2"))
    yield transport
    transport.close()


@pytest.fixture
def inlining_calls(monkeypatch):
    """Every call of the inliner, counted and passed through."""
    calls: list[str] = []
    real = inline_css.inline_css

    def counting(html: str) -> str:
        calls.append(html)
        return real(html)

    monkeypatch.setattr(inline_css, "inline_css", counting)
    return calls


def styled_campaign(engine) -> int:
    owner = make_owner(engine, "stylist")
    campaign_id = make_campaign(engine, owner, [make_list(engine, owner, ADDRESSES, "Styled")])
    with engine.uow() as uow:
        content = uow.session.get(Email, uow.session.get(Campaign, campaign_id).email_id)
        content.html_content = STYLED
        uow.commit()
    return campaign_id


def html_part(data: bytes) -> str:
    message = email.message_from_bytes(data, policy=email.policy.default)
    return message.get_body(("html",)).get_content()


def test_every_recipient_gets_the_css_inlined_with_tags_and_tracking_intact(engine, clock, smtp, pool, client,
                                                                           inlining_calls):
    styled_campaign(engine)
    tick(engine, clock())
    sent = DeliveryRunner(engine, pool, clock=clock, worker_id="w").run_once(60)
    assert sent.sent == len(ADDRESSES)
    # One skeleton for the campaign's send: the inliner ran once, not once per recipient.
    assert len(inlining_calls) == 1
    assert sorted(rcpts[0] for _, rcpts, _ in smtp.messages) == ADDRESSES
    for _mail_from, (recipient,), data in smtp.messages:
        html = html_part(data)
        head, body = html.split("</head>")
        assert "@media (max-width: 600px)" in head and "p.hi { color" not in head
        assert re.search(r'<p class="hi" style="color: #c00;\s*font-weight: bold;?">Hello '
                         + re.escape(recipient) + ", welcome!</p>", body), body
        offer = re.search(r'<a href="http://sendmill\.test(/t/c/[^"]+)" style="color: #06c;?">Offer</a>', body)
        assert offer, body
        click = client.get(offer.group(1))
        assert click.status_code == 302
        assert click.headers["Location"] == f"https://example.com/offer?a=1&to={recipient.replace('@', '%40')}"
        assert re.search(r'<a href="http://sendmill\.test/t/u/[^"]+" style="color: #06c;?">Unsubscribe</a>', body)


def test_html_without_a_style_block_is_sent_as_written(engine, clock, smtp, pool, inlining_calls):
    owner = make_owner(engine, "plain")
    make_campaign(engine, owner, [make_list(engine, owner, ADDRESSES[:2], "Plain")])
    tick(engine, clock())
    assert DeliveryRunner(engine, pool, clock=clock, worker_id="w").run_once(60).sent == 2
    assert len(inlining_calls) == 1   # asked once per skeleton, and it left the markup alone
    html = html_part(smtp.messages[0][2])
    assert "<p>Hello!</p>" in html and "<head>" not in html


def test_a_test_send_is_inlined_too(engine, api, inlining_calls):
    from tests.helpers import make_user

    account = make_user(engine, api, "tester")
    email_id = make_email(engine, account, subject="Styled", html_content=STYLED, from_email="news@sender.example")
    with loopback_relay(engine) as relay:
        answer = api("Email.EmailPreview", account.session, EmailID=email_id, EmailAddress="qa@example.com")
        assert answer["Success"] is True, answer
    html = html_part(relay.messages[0][2])
    assert re.search(r'<p class="hi" style="color: #c00;\s*font-weight: bold;?">Hello qa@example.com, welcome!</p>',
                     html), html
    assert len(inlining_calls) == 1


def test_inlining_keeps_tags_whose_text_the_html_serializer_would_rewrite():
    html = ('<style>b{color:red}</style><b title="{{ Subscriber:City|"A & B" }}">'
            '[IF:%Subscriber:Age%<18]young[ENDIF] {{{ Subscriber:Bio }}}</b>')
    out = inline_css.inline_css(html)
    assert '<b title="{{ Subscriber:City|"A & B" }}" style="color: red;">' in out
    assert "[IF:%Subscriber:Age%<18]young[ENDIF] {{{ Subscriber:Bio }}}</b>" in out


def test_broken_css_leaves_the_message_as_written():
    # An unterminated rule is the inliner's to tolerate; whatever it does, nothing raises.
    assert "x" in inline_css.inline_css("<style>p { color: </style><p>x</p>")
    assert inline_css.inline_css("<p>no style</p>") == "<p>no style</p>"


def test_the_event_pages_find_the_links_where_the_inlined_message_has_them():
    """The parser may move markup (a link straight inside <table> goes before it): the click tokens'
    link indexes come from the inlined body on both sides, the composer's and the event pages'."""
    from engine.delivery.compose import Content, Sending, build_skeleton
    from engine.models import Email
    from engine.tracking.activity import content_links
    from engine.tracking.tokens import NO_NONCE, Signer

    html = ('<style>a { color: red }</style><p><a href="https://example.com/first">1</a></p>'
            '<table><a href="https://example.com/moved">2</a><tr><td>x</td></tr></table>')
    stored = Email(html_content=html, plain_content="", pre_header_text="", link_tracking=True)
    sending = Sending(signer=Signer(b"k" * 32), base_url="http://sendmill.test", bounce_domain="sendmill.test",
                      campaign_id=1, instance_id=1, link_nonce=NO_NONCE)
    skeleton = build_skeleton(Content(subject="s", from_email="news@sender.example", html=html), sending)
    assert skeleton.links == content_links(stored)
    assert {"https://example.com/first", "https://example.com/moved"} <= set(skeleton.links)
