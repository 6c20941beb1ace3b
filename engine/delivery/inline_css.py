"""CSS inlining: the rules of an email's `<style>` blocks copied into its elements' `style` attributes.

Many mail clients (Gmail's apps, Outlook) drop or ignore `<style>` blocks, so the HTML body is inlined
once, where both bodies are prepared (html_text.email_sources): once per skeleton
(engine/delivery/compose.py), before link tracking and personalisation, so every recipient's message
carries the inlined markup without any per-recipient cost, and the event pages find the same links.
The work is done by `css-inline` (Rust, html5ever's parser, maintained): `@media` and other at-rules
cannot be inlined, so they stay in a `<style>` block in the head, where clients that support them
apply them. Remote stylesheets are never fetched (a user's content must not make the server open URLs).

The parser writes the document back as a browser would, which would change the text of a tag such
as `{{ if Subscriber:Age<3 }}` (`<` becomes `&lt;`). So every tag holding a character the serializer
rewrites is swapped for a placeholder first and put back after.
"""
from __future__ import annotations

import logging
import re
from functools import lru_cache

from engine.delivery.tag_compiler import TAG_PATTERN

log = logging.getLogger(__name__)

_STYLE_TAG = re.compile(r"<style[\s>/]", re.I)
_REWRITTEN = re.compile("[<>&\"'\u00a0]")
_PLACEHOLDER = re.compile("\ue000(\\d{1,9})\ue001")


@lru_cache(maxsize=1)
def _inliner():
    # Loaded on the first email with a <style> block: css-inline is about 2 MB of a delivery worker's
    # 80 MB budget (bench/memory.py), and most campaigns come with their styles inline already.
    import css_inline

    return css_inline.CSSInliner(keep_style_tags=False, keep_at_rules=True, load_remote_stylesheets=False)


def inline_css(html: str) -> str:
    """`html` with its `<style>` rules inlined; unchanged when it has no `<style>` block (so markup
    without one reaches the recipient byte for byte as written), or when the inliner cannot read it."""
    if not _STYLE_TAG.search(html):
        return html
    kept: list[str] = []

    def keep(m: re.Match) -> str:
        if not _REWRITTEN.search(m.group(0)):
            return m.group(0)
        kept.append(m.group(0))
        return f"\ue000{len(kept) - 1}\ue001"

    inliner = _inliner()
    from css_inline import InlineError

    try:
        inlined = inliner.inline(TAG_PATTERN.sub(keep, html))
    except (InlineError, ValueError) as exc:
        # Broken markup must not stop a campaign: the message goes out with its <style> block as written.
        log.warning("CSS not inlined: %s", exc)
        return html
    if not kept:
        return inlined
    return _PLACEHOLDER.sub(lambda m: kept[int(m.group(1))] if int(m.group(1)) < len(kept) else m.group(0),
                            inlined)
