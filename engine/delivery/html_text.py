"""The HTML side of an email's bodies: the plain-text alternative derived from HTML, the hidden
pre-header, and the `<style>` rules inlined (inline_css.py). `email_sources()` is the one place both
bodies are prepared, so the composer and the event pages (engine/tracking/activity.py) find the same
links at the same indexes.
"""
from __future__ import annotations

import html
import re

import html2text

from engine.delivery import inline_css
from engine.delivery.html_scan import html_start_tags

_BODY_TAG = re.compile(r"<body(?=[\s/>])", re.I)
_PRE_HEADER = ('<div style="display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;'
               'opacity:0;overflow:hidden;mso-hide:all">{}</div>')


def _complete_markup(source: str) -> str:
    """`source` with every `<` that does not open a complete tag, comment or declaration as `&lt;`.


    The standard library's HTMLParser (under html2text) rescans unfinished constructs, which is
    quadratic on content like `<a <a <a …` or `<!-- <!-- …` (fixed only in newer Python releases).
    Content is user input, so html2text only ever sees markup that is complete.
    """
    out, pos = [], 0
    starts = html_start_tags(source)
    next_tag = next(starts, None)
    comments_end = True          # False once a `<!--` has no `-->` after it: none later will either
    i = source.find("<")
    while i >= 0:
        while next_tag is not None and next_tag[0] < i:
            next_tag = next(starts, None)
        end = -1
        if next_tag is not None and next_tag[0] == i:
            end = next_tag[1]
        elif source.startswith("<!--", i) and comments_end:
            close = source.find("-->", i + 4)
            comments_end = close >= 0
            end = close + 3 if close >= 0 else -1
        elif source[i + 1:i + 2] in ("/", "!", "?") and not source.startswith("<!--", i):
            close = source.find(">", i + 2)
            end = close + 1 if close >= 0 else -1
        if end < 0:
            out.append(source[pos:i] + "&lt;")
            pos = i + 1
            i = source.find("<", pos)
        else:
            out.append(source[pos:end])
            pos = end
            i = source.find("<", end)
    out.append(source[pos:])
    return "".join(out)


def html_to_text(source: str) -> str:
    """A readable plain-text alternative of an HTML body (links kept as `[text](url)`)."""
    source = _complete_markup(source)
    converter = html2text.HTML2Text()
    converter.body_width = 0          # wrapping could split a `{{ … }}` tag over two lines
    converter.unicode_snob = True     # keep "café", not "cafe"
    converter.ignore_images = True
    converter.ignore_emphasis = True
    return converter.handle(source).strip() + "\n"


def email_sources(html_content: str, text_content: str, pre_header: str) -> tuple[str, str]:
    """The HTML and plain bodies as they are sent (before tracking and personalisation): NUL removed
    (it would forge a tracking marker), plain text derived from the HTML when there is none, the
    `<style>` rules inlined, and the pre-header as hidden text right after <body>."""
    html_source, text_source = without_nul(html_content), without_nul(text_content)
    if html_source.strip() and not text_source.strip():
        text_source = html_to_text(html_source)
    if html_source.strip():
        # Through the module, so a test can count the calls (once per skeleton, never per recipient).
        html_source = inline_css.inline_css(html_source)
    if html_source.strip() and (pre_header or "").strip():
        hidden = _PRE_HEADER.format(html.escape(without_nul(pre_header), quote=False))
        at = next((end for start, end in html_start_tags(html_source) if _BODY_TAG.match(html_source, start)), 0)
        html_source = html_source[:at] + hidden + html_source[at:]
    return html_source, text_source


def without_nul(text: str | None) -> str:
    """Content as the composer reads it: NUL is the tracking markers' delimiter, so none may come in."""
    return (text or "").replace("\x00", "")
