"""Click and open tracking: which links get indexes, and what each recipient's links resolve to."""
import re

from engine.delivery.links import CLICK_MARKER, OPEN_MARKER, click_target, track, tracking_slots
from engine.delivery.personalize import HTML, SUBSCRIBER_ID, TEXT, compile_template
from engine.tracking.tokens import Kind, Signer

SIGNER = Signer("links-test-secret-key-0123456789abcdef")
BASE = "https://t.example.com"

HTML_BODY = """<html><body>
<a href="https://shop.example.com/a?x=1&amp;y=2">Shop</a>
<a href='https://shop.example.com/a?x=1&y=2'>Shop again</a>
<a href=https://blog.example.com/post>Blog</a>
<a href="HTTP://UPPER.example.com/">Upper</a>
<a href="mailto:help@example.com">Mail us</a>
<a href="tel:+15551234">Call</a>
<a href="#top">Top</a>
<a href="javascript:alert(1)">JS</a>
<a href="ftp://files.example.com/x">FTP</a>
<a href="/relative/path">Relative</a>
<a href="%Link:Unsubscribe%">Unsubscribe</a>
<a href="{{ Link:WebBrowser }}">View online</a>
<a class="button no-link-track" href="https://private.example.com/">Untracked</a>
<a href="https://%Subscriber:Website%/">Their site</a>
<a href="https://{{ Subscriber:Domain }}.example.com/">Their subdomain</a>
<a href="https://shop.example.com/u?e=%Subscriber:EmailAddress%">Personal</a>
<area shape="rect" coords="0,0,1,1" href="https://map.example.com/">
</body></html>"""


def test_only_content_urls_get_indexes_in_order_without_duplicates():
    tracked = track(HTML_BODY, "")
    assert tracked.urls == (
        "https://shop.example.com/a?x=1&y=2",
        "https://blog.example.com/post",
        "HTTP://UPPER.example.com/",
        "https://shop.example.com/u?e=%Subscriber:EmailAddress%",
        "https://map.example.com/",
    )
    # the same URL written twice (entity-encoded once) shares index 0
    assert tracked.html.count(CLICK_MARKER.format(0)) == 2
    assert '<a href="\x00click:1\x00">Blog</a>' in tracked.html   # unquoted href gets quotes


def test_untracked_links_are_left_exactly_as_written():
    tracked = track(HTML_BODY, "")
    for untouched in ('href="mailto:help@example.com"', 'href="tel:+15551234"', 'href="#top"',
                      'href="javascript:alert(1)"', 'href="ftp://files.example.com/x"', 'href="/relative/path"',
                      'href="%Link:Unsubscribe%"', 'href="{{ Link:WebBrowser }}"',
                      'class="button no-link-track" href="https://private.example.com/"',
                      'href="https://%Subscriber:Website%/"', 'href="https://{{ Subscriber:Domain }}.example.com/"'):
        assert untouched in tracked.html


def test_plain_text_urls_share_the_index_space():
    text = ("Shop: https://shop.example.com/a?x=1&y=2.\n"
            "New (https://new.example.com/x_(y)) and [docs](https://docs.example.com/).\n"
            "<https://blog.example.com/post>\n"
            "Yours: https://shop.example.com/u?n={{ Subscriber:FirstName }}\n"
            "Unsubscribe: %Link:Unsubscribe%  mail: mailto:x@example.com")
    tracked = track(HTML_BODY, text)
    assert tracked.text == ("Shop: \x00click:0\x00.\n"
                            "New (\x00click:5\x00) and [docs](\x00click:6\x00).\n"
                            "<\x00click:1\x00>\n"
                            "Yours: https://shop.example.com/u?n={{ Subscriber:FirstName }}\n"
                            "Unsubscribe: %Link:Unsubscribe%  mail: mailto:x@example.com")
    assert tracked.urls[5:] == ("https://new.example.com/x_(y)", "https://docs.example.com/")


def test_open_pixel_goes_before_the_last_body_end_when_opens_are_tracked():
    tracked = track("<html><body><p>x</p></BODY ></html>", "", opens=True)
    assert tracked.html == ('<html><body><p>x</p><img src="\x00open\x00" width="1" height="1" alt="">'
                            "</BODY ></html>")
    assert track("<p>fragment</p>", "").html.endswith(f'<img src="{OPEN_MARKER}" width="1" height="1" alt="">')


def test_nothing_is_marked_when_tracking_is_off():
    tracked = track(HTML_BODY, "See https://x.example.com/", clicks=False, opens=False)
    assert tracked.html == HTML_BODY and tracked.text == "See https://x.example.com/"
    assert tracked.urls == ()
    assert OPEN_MARKER not in track(HTML_BODY, "", clicks=True, opens=False).html
    assert OPEN_MARKER not in track("", "text only https://x.example.com/", opens=True).text


def _render(html, text="", subscriber_id=7, instance_id=3):
    tracked = track(html, text)
    slots = tracking_slots(tracked.urls, SIGNER, BASE, instance_id, "0a1b2c3d")
    ctx = {SUBSCRIBER_ID: subscriber_id}
    return (tracked, compile_template(tracked.html, HTML, system_slots=slots).render(ctx),
            compile_template(tracked.text, TEXT, system_slots=slots).render(ctx))


def test_each_tracked_link_resolves_to_its_index_and_recipient():
    tracked, html, text = _render(HTML_BODY, "again: https://blog.example.com/post")
    tokens = re.findall(rf'href=["\']{re.escape(BASE)}/t/c/([A-Za-z0-9_-]+)["\']', html)
    assert len(tokens) == 6
    targets = [tracked.urls[SIGNER.verify(t, Kind.CLICK).link_index] for t in tokens]
    assert targets == ["https://shop.example.com/a?x=1&y=2", "https://shop.example.com/a?x=1&y=2",
                       "https://blog.example.com/post", "HTTP://UPPER.example.com/",
                       "https://shop.example.com/u?e=%Subscriber:EmailAddress%", "https://map.example.com/"]
    for token in tokens:
        payload = SIGNER.verify(token)
        assert (payload.instance_id, payload.subscriber_id) == (3, 7)
    text_token = text.rpartition("/t/c/")[2]
    assert tracked.urls[SIGNER.verify(text_token).link_index] == "https://blog.example.com/post"


def test_open_pixel_carries_an_open_token():
    _, html, _ = _render("<body>hi</body>", subscriber_id=11)
    token = re.search(rf'<img src="{re.escape(BASE)}/t/o/([A-Za-z0-9_-]+)" width="1" height="1" alt="">', html).group(1)
    payload = SIGNER.verify(token, Kind.OPEN)
    assert (payload.instance_id, payload.subscriber_id, payload.link_index) == (3, 11, None)


def test_recipients_get_their_own_tokens():
    tracked = track('<a href="https://a.example.com/">a</a>', "https://a.example.com/")
    slots = tracking_slots(tracked.urls, SIGNER, BASE, 1, "0a1b2c3d")
    html = compile_template(tracked.html, HTML, system_slots=slots)
    text = compile_template(tracked.text, TEXT, system_slots=slots)
    first, second = html.render({SUBSCRIBER_ID: 1}), html.render({SUBSCRIBER_ID: 2})
    assert first != second
    # the per-recipient memo never hands one recipient's link to another
    assert text.render({SUBSCRIBER_ID: 1}) in first and text.render({SUBSCRIBER_ID: 2}) in second
    assert html.render({SUBSCRIBER_ID: 1}) == first


def test_click_targets_are_the_content_urls_personalised_for_the_subscriber():
    tracked = track(HTML_BODY, "")
    ctx = {"Subscriber:EmailAddress": "a+b@example.org", "Subscriber:Website": "evil.example"}
    assert click_target(tracked.urls, 0, ctx) == "https://shop.example.com/a?x=1&y=2"
    assert click_target(tracked.urls, 3, ctx) == "https://shop.example.com/u?e=a%2Bb%40example.org"
    # an index that is not one of the campaign's links goes nowhere
    assert click_target(tracked.urls, len(tracked.urls), ctx) is None
    assert click_target(tracked.urls, -1, ctx) is None


def test_subscriber_data_cannot_move_a_click_to_another_host():
    urls = ("https://shop.example.com/{{{ Subscriber:CustomField1 }}}",)
    assert click_target(urls, 0, {"Subscriber:CustomField1": "@evil.example/x"}) == \
        "https://shop.example.com/%40evil.example%2Fx"
