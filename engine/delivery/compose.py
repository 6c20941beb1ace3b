"""MIME messages from a per-campaign skeleton.

`build_skeleton()` does everything that is the same for every recipient once: plain text from
HTML when there is none, link and open tracking, template compilation, the From/Reply-To
headers, the MIME structure and boundary. `Skeleton.render(ctx)` then only personalises the
subject and bodies, encodes them, and fills in To, Message-ID, List-Unsubscribe and the VERP
envelope sender. Bytes are produced directly: building an `email.message.EmailMessage` per
recipient is two orders of magnitude slower.

What comes out: RFC 5322 with CRLF line endings, no line over 998 octets (bodies are
quoted-printable, or base64 when mostly non-ASCII: engine/delivery/mime_bodies.py), no line starting
with "." (SMTP can send it as it is, engine/delivery/smtp_transaction.Envelope.wire_safe), RFC 2047
encoded words for non-ASCII headers (engine/delivery/mime_headers.py; no SMTPUTF8 needed), RFC 8058
one-click List-Unsubscribe. No `Return-Path` header: the
receiving MTA writes it from the envelope sender (RFC 5321 §4.4); the VERP address is
`OutgoingMessage.envelope_from`.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Mapping

from engine.delivery import links as tracking_links
from engine.delivery.dkim import DkimKey, sign_dkim
from engine.delivery.html_text import email_sources, without_nul
from engine.delivery.mime_bodies import QP_VERBATIM, Base64Body, QuotedPrintableBody, mostly_non_ascii
from engine.delivery.mime_headers import CRLF, ascii_address, ascii_domain, encode_header, mailbox_header
from engine.delivery.personalize import EMAIL_ADDRESS, HTML, MFROM_DOMAIN, SUBSCRIBER_ID, TEXT, compile_template
from engine.tracking.tokens import Kind, Signer, b32_token, token_url, url_token


@dataclass(frozen=True)
class Content:
    """What the campaign's email says."""

    subject: str
    from_email: str
    from_name: str = ""
    reply_to_email: str = ""
    reply_to_name: str = ""
    html: str = ""
    text: str = ""                 # empty with HTML present: derived from the HTML
    pre_header: str = ""
    open_tracking: bool = True
    link_tracking: bool = True
    cc: tuple[tuple[str, str], ...] = ()   # (name, address) shown in a Cc header (a journey's SendEmail)


@dataclass(frozen=True)
class Sending:
    """Where it goes out from, and the ids that tie replies, bounces and clicks back to it."""

    signer: Signer
    base_url: str                  # public address of the tracking endpoints
    bounce_domain: str             # VERP and mailto unsubscribe domain
    campaign_id: int
    instance_id: int
    # The public_nonce every link of the messages carries (engine/tracking/tokens.py): the campaign's, or
    # tracking.NO_NONCE where each recipient brings their own (LINK_NONCE) or the links name nobody.
    link_nonce: str
    message_id_domain: str = ""    # default: bounce_domain
    constants: Mapping[str, object] = field(default_factory=dict)   # User:…, Campaign:Name, List:… when one list
    aliases: Mapping[str, int] = field(default_factory=dict)        # merge-tag alias -> custom field id
    dkim: DkimKey | None = None


# The ctx key of a recipient's own link nonce, for links that name no campaign (an opt-in confirmation
# email's: the subscriber's public_nonce). NUL cannot come from content, so no tag can name this key.
LINK_NONCE = "\x00link-nonce"


@dataclass(frozen=True)
class OutgoingMessage:
    envelope_from: str             # VERP: bounce+<token>@bounce_domain
    recipient: str
    data: bytes


class Skeleton:
    """The per-campaign part of every message; `render` fills in one recipient."""

    def __init__(self, content: Content, sending: Sending):
        if not (content.html.strip() or content.text.strip()):
            raise ValueError("the email has neither HTML nor plain content")
        self.sending = sending
        html_source, text_source = email_sources(content.html, content.text, content.pre_header)
        tracked = tracking_links.track(html_source, text_source, clicks=content.link_tracking,
                                       opens=content.open_tracking and bool(html_source.strip()))
        self.links = tracked.urls
        slots = tracking_links.tracking_slots(tracked.urls, sending.signer, sending.base_url, sending.instance_id,
                                              sending.link_nonce)
        # A tracking URL is its kind's prefix and a base64url token: quoted-printable keeps it as it is
        # when the prefix has nothing to encode (and does not start a line with ".").
        verbatim = frozenset(slots.values()) if all(
            QP_VERBATIM.fullmatch(token_url(sending.base_url, kind, "")) for kind in (Kind.CLICK, Kind.OPEN)) \
            and not sending.base_url.startswith(".") else frozenset()
        constants = {"Campaign:CampaignID": sending.campaign_id, MFROM_DOMAIN: sending.bounce_domain,
                     **sending.constants}
        compile_ = lambda text, mode, **kw: compile_template(  # noqa: E731
            text, mode, aliases=sending.aliases, system_slots=slots, **kw).bind(constants)
        self.subject = compile_(" ".join(without_nul(content.subject).split()), TEXT, links=())
        self.html = compile_(tracked.html, HTML) if html_source.strip() else None
        self.text = compile_(tracked.text, TEXT)
        self.unknown_tags = list(dict.fromkeys(
            self.subject.unknown_tags + (self.html.unknown_tags if self.html else []) + self.text.unknown_tags))
        # The personalisation values the content uses: the runner reads only these for each recipient.
        self.needs = (self.subject.keys | self.text.keys | (self.html.keys if self.html else frozenset()))

        self._base = sending.base_url.rstrip("/")
        self._system_links = [(tag, kind, token_url(self._base, kind, "")) for tag, kind in
                              (("Link:WebBrowser", Kind.WEB_VIEW), ("Link:Confirm", Kind.CONFIRM),
                               ("Link:Reject", Kind.REJECT)) if tag in self.needs]
        self._unsubscribe_prefix = token_url(self._base, Kind.UNSUBSCRIBE, "")
        self._bounce_domain = ascii_domain(sending.bounce_domain)
        self._mid_domain = ascii_domain(sending.message_id_domain or sending.bounce_domain)
        self._subject_line = encode_header("Subject", self.subject.render({})) if self.subject.is_constant else None
        head = [mailbox_header("From", content.from_name, content.from_email)]
        if content.reply_to_email:
            head.append(mailbox_header("Reply-To", content.reply_to_name, content.reply_to_email))
        if content.cc:
            mailboxes = [mailbox_header("Cc", name, address)[4:].rstrip(CRLF) for name, address in content.cc]
            head.append("Cc: " + f",{CRLF} ".join(mailboxes) + CRLF)
        self._from_block = "".join(head).encode("ascii")
        boundary = "=_sm_" + secrets.token_hex(12)   # "=_" never occurs in quoted-printable or base64
        common = ["MIME-Version: 1.0", f"X-Sendmill-Campaign: {int(sending.campaign_id)}",
                  "List-Unsubscribe-Post: List-Unsubscribe=One-Click"]
        parts = [("plain", self.text, text_source)]
        if self.html is not None:
            parts.append(("html", self.html, html_source))
        self._parts: list[tuple[bytes, object]] = []   # (bytes before the body, its encoded renderer)
        for i, (subtype, template, source) in enumerate(parts):
            encoding = "base64" if mostly_non_ascii(source) else "quoted-printable"
            headers = f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}Content-Transfer-Encoding: {encoding}{CRLF}'
            opening = headers + CRLF if len(parts) == 1 else f"{CRLF if i else ''}--{boundary}{CRLF}{headers}{CRLF}"
            body = Base64Body(template) if encoding == "base64" else QuotedPrintableBody(template, verbatim)
            self._parts.append((opening.encode("ascii"), body))
        if len(parts) > 1:
            common.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
            common.append("")   # the blank line before the first boundary
        self._tail = (CRLF.join(common) + CRLF).encode("ascii")
        self._closing = f"{CRLF}--{boundary}--{CRLF}".encode("ascii") if len(parts) > 1 else b""
        self._date_cache: tuple[int, bytes] = (-1, b"")

    def _date(self, now: datetime | None) -> bytes:
        now = now or datetime.now(timezone.utc)
        second = int(now.timestamp())
        if self._date_cache[0] != second:   # many messages go out in the same second
            self._date_cache = (second, f"Date: {format_datetime(now.replace(microsecond=0))}{CRLF}".encode("ascii"))
        return self._date_cache[1]

    def message_id_parts(self, round_token: str) -> tuple[str, str]:
        """The Message-ID of a message rendered with `round_token` is prefix + subscriber id + suffix
        (engine/bounces/origin.message_ref reads the ids back from a bounce)."""
        return f"{int(self.sending.instance_id)}.", f".{round_token}@{self._mid_domain}"

    def render(self, ctx: Mapping, now: datetime | None = None, round_token: str = "") -> OutgoingMessage:
        """The message for one recipient; `ctx` has at least Subscriber:SubscriberID and :EmailAddress.
        Messages sent together may share a `round_token` (random hex): their Message-IDs stay unique by
        subscriber, and the ledger can write them all with one statement."""
        s = self.sending
        subscriber_id = int(ctx[SUBSCRIBER_ID])
        recipient = ascii_address(str(ctx[EMAIL_ADDRESS]))
        ctx, tokens, unsubscribe_token = self._with_links(ctx)
        unsubscribe = ctx["Link:Unsubscribe"]
        mailto = f"unsubscribe+{b32_token(unsubscribe_token)}@{self._bounce_domain}"
        id_prefix, id_suffix = self.message_id_parts(round_token or random_token())
        head = (
            f"To: {recipient}{CRLF}"
            + (self._subject_line or encode_header("Subject", self.subject.render(ctx)))
            + f"Message-ID: <{id_prefix}{subscriber_id}{id_suffix}>{CRLF}"
            + f"List-Unsubscribe: <mailto:{mailto}?subject=unsubscribe>,{CRLF} <{unsubscribe}>{CRLF}"
        )
        chunks = [self._date(now), self._from_block, head.encode("ascii"), self._tail]
        for opening, body in self._parts:
            chunks.append(opening)
            chunks.append(body.render(ctx))
        chunks.append(self._closing)
        data = b"".join(chunks)
        if s.dkim is not None:
            data = sign_dkim(data, s.dkim.selector, s.dkim.domain, s.dkim.private_key_pem)
        return OutgoingMessage(envelope_from=tokens.verp_address(self._bounce_domain), recipient=recipient, data=data)


    def _with_links(self, ctx: Mapping):
        """`ctx` with the recipient's system links (and tokens); also the unsubscribe token's raw bytes."""
        s = self.sending
        tokens = s.signer.for_recipient(s.instance_id, int(ctx[SUBSCRIBER_ID]), ctx.get(LINK_NONCE) or s.link_nonce)
        unsubscribe_token = tokens.raw(Kind.UNSUBSCRIBE)          # one MAC for the link and the mailto
        ctx = {**ctx, "Link:Unsubscribe": self._unsubscribe_prefix + url_token(unsubscribe_token),
               tracking_links.RECIPIENT_TOKENS: tokens}
        for tag, kind, prefix in self._system_links:
            ctx[tag] = prefix + tokens.token(kind)
        return ctx, tokens, unsubscribe_token

    def bodies(self, ctx: Mapping) -> tuple[str, str, str]:
        """Subject, HTML body ("" when there is none) and plain body for one recipient, as text: what
        `render` encodes (template previews show it)."""
        ctx, _tokens, _raw = self._with_links(ctx)
        return self.subject.render(ctx), self.html.render(ctx) if self.html is not None else "", self.text.render(ctx)


def random_token() -> str:
    # Message-IDs need uniqueness, not secrecy: no system call per message (the module's generator is
    # seeded from the OS, and again in every forked worker).
    return "%016x" % random.getrandbits(64)


def build_skeleton(content: Content, sending: Sending) -> Skeleton:
    """Prepare a campaign's messages once; ValueError when the content or an address is unusable."""
    return Skeleton(content, sending)
