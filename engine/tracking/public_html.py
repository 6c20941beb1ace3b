"""Campaign HTML as our own public pages serve it (the landing page, the web view): static markup only.

These pages are on the engine's origin, so nothing in them may run script, refresh or redirect, frame
or be framed, load plugins, or post a form anywhere. The mailed message is not touched: mail clients
apply their own rules, and a subscriber's copy must stay what was approved and sent.

nh3 (Python bindings of the Rust `ammonia` sanitizer, parsing with html5ever as a browser does) keeps an
allow-list of the static markup email HTML is made of and drops everything else: the elements below
that are not listed lose their tags (their text stays), those in DROPPED lose their content too; every
event-handler attribute, `javascript:` and other schemes go; `data:` survives only as an image source.
The Content-Security-Policy of protocol/tracking.py is the second fence.
"""
from __future__ import annotations

import re

import nh3

TAGS = {
    "a", "abbr", "acronym", "address", "article", "aside", "b", "bdi", "bdo", "big", "blockquote", "br",
    "caption", "center", "cite", "code", "col", "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt",
    "em", "figcaption", "figure", "font", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "i",
    "img", "ins", "kbd", "li", "main", "mark", "nav", "ol", "p", "pre", "q", "s", "samp", "section", "small",
    "span", "strike", "strong", "style", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "time", "tr", "tt", "u", "ul", "var", "wbr",
}
# Removed with everything inside them (text included): active or embedded content, and head-only text.
DROPPED = {
    "script", "noscript", "iframe", "frame", "frameset", "noframes", "object", "embed", "applet", "param",
    "template", "svg", "math", "select", "textarea", "title", "xmp", "plaintext", "noembed",
}
_LAYOUT = {"align", "valign", "bgcolor", "border", "width", "height", "class", "id", "dir", "lang", "style",
           "title", "role", "aria-label", "aria-hidden"}
ATTRIBUTES = {
    "*": _LAYOUT,
    "a": {"href", "name"},
    "img": {"src", "alt", "hspace", "vspace"},
    "table": {"cellpadding", "cellspacing", "summary"},
    "td": {"colspan", "rowspan", "nowrap", "scope", "headers", "abbr"},
    "th": {"colspan", "rowspan", "nowrap", "scope", "headers", "abbr"},
    "col": {"span"}, "colgroup": {"span"},
    "font": {"color", "face", "size"},
    "ol": {"start", "type", "reversed"}, "ul": {"type"}, "li": {"value"},
    "time": {"datetime"}, "details": {"open"},
}
SCHEMES = {"http", "https", "mailto", "tel", "data"}
# What a browser's URL parser ignores before and inside a scheme (WHATWG URL: C0 controls, space, tab, newline).
_URL_NOISE = re.compile(r"[\x00-\x20]")


def _only_image_data(element: str, attribute: str, value: str) -> str | None:
    """`data:` URLs pass the scheme check only to be limited here: an image source of an image type."""
    if attribute in ("href", "src") and _URL_NOISE.sub("", value).lower().startswith("data:"):
        if element == "img" and attribute == "src" and _URL_NOISE.sub("", value).lower().startswith("data:image/"):
            return value
        return None
    return value


_CLEANER = nh3.Cleaner(tags=TAGS, clean_content_tags=DROPPED, attributes=ATTRIBUTES, url_schemes=SCHEMES,
                       attribute_filter=_only_image_data, strip_comments=True, link_rel="noopener noreferrer")
_SHELL = ('<!doctype html><html><head><meta charset="utf-8">'
          '<meta name="viewport" content="width=device-width, initial-scale=1">'
          '<meta name="robots" content="noindex"></head><body>{}</body></html>')


def static_markup(source: str) -> str:
    """`source` with every active part removed (an HTML fragment: the document's head and body tags go)."""
    return _CLEANER.clean(source or "")


def public_page(source: str) -> str:
    """A complete page of the static markup of `source`."""
    return _SHELL.format(static_markup(source))
