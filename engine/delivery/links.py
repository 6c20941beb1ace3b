"""Click and open tracking, prepared once per campaign.

`track()` finds the campaign's links (ordered, deduplicated: the index of a URL in `urls` is what
a click token carries) and puts markers where tracking URLs go: `\\x00click:N\\x00` in place of
each tracked `href` and of each tracked URL in the plain text, `\\x00open\\x00` for the open pixel.
`tracking_slots()` turns the markers into template slots, so per recipient the only work is one
signature per link.

Not tracked (left exactly as written): `mailto:`, `tel:`, `#anchors` and every non-http(s)
scheme, system links (`%Link:Unsubscribe%`, `{{ Link:WebBrowser }}` …: they are not clicks),
links with `class="no-link-track"`, and links whose scheme or host contains a personalisation
tag (`https://%Subscriber:Website%`): the redirect could otherwise be pointed anywhere by
subscriber data. Tags after the host (`https://shop.example/?e=%Subscriber:EmailAddress%`) are
tracked; the stored URL keeps the tag and the redirect personalises it for the subscriber.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Callable, Mapping

from engine.delivery.html_scan import html_attributes, html_start_tags
from engine.delivery.personalize import SUBSCRIBER_ID, URL, compile_template, slot
from engine.tracking.tokens import Kind, RecipientTokens, Signer, token_url

CLICK_MARKER = "\x00click:{}\x00"
OPEN_MARKER = "\x00open\x00"
OPEN_PIXEL = f'<img src="{OPEN_MARKER}" width="1" height="1" alt="">'

# <a>, <area> and Outlook's VML buttons (<v:roundrect href=…>) carry links.
_LINK_TAG = re.compile(r"<(?:a|area|v:[a-z]+)(?=[\s/>])", re.I)
_TRACKABLE = re.compile(r"^https?://([^/?#\\]*)", re.I)
_BODY_END = re.compile(r"</body\s*>", re.I)
# A URL in plain text: stops at whitespace, quotes, angle and square brackets and braces.
_TEXT_URL = re.compile(r"""https?://[^\s<>"'\[\]{}\x00]+""", re.I)


@dataclass(frozen=True)
class TrackedContent:
    html: str
    text: str
    urls: tuple[str, ...]   # index -> URL as written (entities decoded); the click token's link index


def _trackable(url: str) -> bool:
    m = _TRACKABLE.match(url)
    # A tag (%…% or {{…}}) in the host would let subscriber data choose the redirect target.
    return bool(m) and not re.search(r"[%{}\s]", m.group(1)) and "\x00" not in url


class _Index:
    def __init__(self):
        self.urls: dict[str, int] = {}

    def __call__(self, url: str) -> int:
        return self.urls.setdefault(url, len(self.urls))


def _mark_html(source: str, index: _Index) -> str:
    out, pos = [], 0
    for start, end in html_start_tags(source):
        if not _LINK_TAG.match(source, start):
            continue
        href = None
        for name, group, attr in html_attributes(source, start, end):
            if name == "class" and "no-link-track" in attr.group(group).lower().split():
                href = None
                break
            if name == "href" and href is None:
                href = (group, attr)
        if href is None:
            continue
        group, attr = href
        url = html.unescape(attr.group(group)).strip()
        if not _trackable(url):
            continue
        out.append(source[pos:attr.start(group)])
        marker = CLICK_MARKER.format(index(url))
        out.append(marker if group != 4 else f'"{marker}"')
        pos = attr.end(group)
    out.append(source[pos:])
    return "".join(out)


def _mark_text(source: str, index: _Index) -> str:
    out, pos = [], 0
    for m in _TEXT_URL.finditer(source):
        url = m.group(0).rstrip(".,;:!?")
        # "(see https://example.com/a)" or a Markdown link: an unbalanced ")" is not the URL's.
        unbalanced = url.count(")") - url.count("(")
        while unbalanced > 0 and url.endswith(")"):
            trimmed = url.rstrip(")")
            cut = min(unbalanced, len(url) - len(trimmed))
            url, unbalanced = url[:len(url) - cut], unbalanced - cut
        end = m.start() + len(url)
        # A `{{ … }}` tag continuing the URL is part of it; cutting before it would break the link.
        if source.startswith("{", end) or not _trackable(url):
            continue
        out.append(source[pos:m.start()])
        out.append(CLICK_MARKER.format(index(url)))
        pos = end
    out.append(source[pos:])
    return "".join(out)


def track(html_content: str, text_content: str, *, clicks: bool = True, opens: bool = True) -> TrackedContent:
    """Mark the links and the open pixel. Input must not contain NUL (compose strips it)."""
    index = _Index()
    if clicks:
        html_content = _mark_html(html_content, index) if html_content else html_content
        text_content = _mark_text(text_content, index) if text_content else text_content
    if opens and html_content:
        ends = list(_BODY_END.finditer(html_content))
        if ends:
            at = ends[-1].start()
            html_content = html_content[:at] + OPEN_PIXEL + html_content[at:]
        else:
            html_content += OPEN_PIXEL
    return TrackedContent(html_content, text_content, tuple(index.urls))


# The ctx key of the recipient's RecipientTokens, when the caller made them (compose does, once per
# message). NUL cannot come from content (compose strips it), so no tag can name this key.
RECIPIENT_TOKENS = "\x00tokens"


def tracking_slots(urls: tuple[str, ...], signer: Signer, base_url: str,
                   instance_id: int, nonce: str) -> dict[str, Callable]:
    """The slots that fill the markers with `{base_url}/t/c/<token>` and `{base_url}/t/o/<token>`;
    `nonce` is the campaign's public_nonce (engine/tracking/tokens.py)."""

    def tokens_of(ctx) -> RecipientTokens:
        tokens = ctx.get(RECIPIENT_TOKENS)
        return tokens if tokens is not None else signer.for_recipient(instance_id, int(ctx[SUBSCRIBER_ID]), nonce)

    def click(i: int) -> Callable:
        prefix = token_url(base_url, Kind.CLICK, "")
        # A link often appears several times (HTML and text): sign it once per recipient.
        last = [(None, "")]

        def fill(ctx):
            subscriber_id = int(ctx[SUBSCRIBER_ID])
            seen, url = last[0]
            if seen != subscriber_id:
                url = prefix + tokens_of(ctx).token(Kind.CLICK, i)
                last[0] = (subscriber_id, url)   # one tuple swap: safe when threads share the skeleton
            return url
        return slot(fill, (SUBSCRIBER_ID,))

    slots = {f"click:{i}": click(i) for i in range(len(urls))}
    open_prefix = token_url(base_url, Kind.OPEN, "")
    slots["open"] = slot(lambda ctx: open_prefix + tokens_of(ctx).token(Kind.OPEN), (SUBSCRIBER_ID,))
    return slots


def click_target(urls: tuple[str, ...], link_index: int, ctx: Mapping,
                 aliases: Mapping[str, int] | None = None) -> str | None:
    """Where a verified click token redirects: the campaign's URL at `link_index`, personalised.

    None when the index is not one of the campaign's links. Values are URL-encoded; the scheme
    and host are fixed by `track()` (no tag there), and checked again here.
    """
    if not 0 <= link_index < len(urls):
        return None
    target = compile_template(urls[link_index], URL, aliases=aliases).render(ctx)
    return target if _trackable(target) else None
