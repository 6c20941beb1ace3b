"""Personalisation: the legacy `%…%` tags and the `{{ … }}` tags, compiled once per campaign.

`compile_template()` parses a subject or body once into literal segments and slots (small
functions of the recipient's context). `Template.render(ctx)` per recipient is then a list
comprehension and a join: no regular expression runs per recipient.

The context is a flat mapping of canonical keys to values: `Subscriber:EmailAddress`,
`Subscriber:CustomField12`, `User:CompanyName`, `List:Name`, `Campaign:CampaignID`,
`Link:Unsubscribe`, `MFROMDomain` and `Now` (an aware datetime in the sender's time zone).
Values are strings, or ints/dates/datetimes that are turned into text.

Syntax (protocol.md §7.3; `v5.9.4/using-octeth/email-personalization.md`):
* `%Subscriber:EmailAddress%`, `%Subscriber:CustomField12%`, `%Subscriber:<MergeTagAlias>%`,
  `%User:…%`, `%List:…%`, `%Campaign:…%`, `%Link:Unsubscribe%` … , `%Date=F j, Y%` (PHP date
  format), `%Random:Letters:6%`, `%MFROMDomain%`.
* `{{ Subscriber:FirstName }}` (escaped), `{{{ … }}}` (raw), helpers (`{{ uppercase Subscriber:City }}`,
  `{{ dateFormat-F_j,_Y Now }}`), fallbacks `{{ Subscriber:FirstName|"there" }}`.
* `[IF:%Subscriber:Country%=US] … [ELSE] … [ENDIF]` and `{{ if Subscriber:Country=US }} … {{ else }}
  … {{ endif }}`; `[UPPER:…]`, `[LOWER:…]`, `[TITLE:…]`; spinning `[[Hi|Hello]]`.

Sendmill's choices where the documentation is silent: the legacy form takes a fallback too
(`%Subscriber:FirstName|there%`), and a modern fallback may be unquoted. Text comparisons in
conditions are case-insensitive, as in audience criteria (protocol.md Part 1 item 16).
Not supported (reported by `find_unknown_tags`): `%RemoteContent…=URL%` (a fetch per recipient
from user-supplied URLs is an SSRF and throughput hazard), `%Random:FirstName%`/`LastName`, and
the `Forward`, `ReportAbuse`, `SocialShare`, `SubscriberArea`, `Suppression` links.

Escaping: in HTML, values are HTML-escaped; inside a URL attribute (`href`, `src` …) a value that
is not at the start of the URL is URL-encoded instead (so `?email=%Subscriber:EmailAddress%`
works); `{{{ }}}` and `raw` insert as-is. Plain text and headers get values unchanged.
"""
from __future__ import annotations

from typing import Callable, Collection, Mapping

from engine.delivery.compiled_template import Template, slot
from engine.delivery.tag_compiler import TagCompiler
from engine.delivery.tag_names import (
    CAMPAIGN_FIELDS, CUSTOM_FIELD_PREFIX, EMAIL_ADDRESS, HTML, LINKS, LIST_FIELDS, MFROM_DOMAIN, NOW, SUBSCRIBER_FIELDS,
    SUBSCRIBER_ID, TEXT, URL, USER_FIELDS, TagNames,
)

# The public face of personalisation: callers import from here, the parts live in
# tag_compiler (parsing), compiled_template (rendering), tag_names, tag_modifiers and php_format.
__all__ = [
    "CAMPAIGN_FIELDS", "CUSTOM_FIELD_PREFIX", "EMAIL_ADDRESS", "HTML", "LINKS", "LIST_FIELDS", "MFROM_DOMAIN", "NOW",
    "SUBSCRIBER_FIELDS", "SUBSCRIBER_ID", "TEXT", "URL", "USER_FIELDS", "Template", "compile_template",
    "find_unknown_tags", "slot",
]


def compile_template(text: str, mode: str = TEXT, *, aliases: Mapping[str, int] | None = None,
                     custom_field_ids: Collection[int] | None = None, links: Collection[str] = LINKS,
                     system_slots: Mapping[str, Callable] | None = None) -> Template:
    """Parse `text` once. `mode` is HTML, TEXT (plain bodies and headers) or URL (a link target).

    `aliases` maps merge-tag aliases to custom field ids; `custom_field_ids` (when given) are the
    fields that exist, others are reported; `links` are the link tags allowed here;
    `system_slots` fill the `\\x00name\\x00` markers that links.py places for tracking.
    """
    if mode not in (HTML, TEXT, URL):
        raise ValueError(f"unknown mode {mode!r}")
    compiler = TagCompiler(text or "", mode, TagNames(aliases, custom_field_ids, links), system_slots)
    parts = compiler.parse(0, len(compiler.src))
    return Template(parts, list(dict.fromkeys(compiler.unknown)))


def find_unknown_tags(text: str, known_custom_field_ids: Collection[int], *,
                      aliases: Mapping[str, int] | None = None, links: Collection[str] = LINKS) -> list[str]:
    """Tags in `text` that cannot be personalised (misspelt, missing fields, unsupported), in order.

    For a subject pass `links=()`: link tags are not allowed there.
    """
    return compile_template((text or "").replace("\x00", ""), TEXT, aliases=aliases,
                            custom_field_ids=known_custom_field_ids, links=links).unknown_tags
