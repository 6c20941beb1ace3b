"""MIME messages from a per-campaign skeleton.

`build_skeleton()` does everything that is the same for every recipient once: plain text from
HTML when there is none, link and open tracking, template compilation, the From/Reply-To
headers, the MIME structure and boundary. `Skeleton.render(ctx)` then only personalises the
subject and bodies, encodes them, and fills in To, Message-ID, List-Unsubscribe and the VERP
envelope sender. Bytes are produced directly: building an `email.message.EmailMessage` per
recipient is two orders of magnitude slower.

What comes out: RFC 5322 with CRLF line endings, no line over 998 octets (bodies are
quoted-printable, or base64 when mostly non-ASCII), no line starting with "." (SMTP can send it as it
is, engine/delivery/transport.Envelope.wire_safe), RFC 2047 encoded words for non-ASCII
headers (no SMTPUTF8 needed), RFC 8058 one-click List-Unsubscribe. No `Return-Path` header: the
receiving MTA writes it from the envelope sender (RFC 5321 §4.4); the VERP address is
`OutgoingMessage.envelope_from`.
"""
from __future__ import annotations

import base64
import binascii
import html
import re
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Callable, Mapping

import html2text

from engine.delivery import links as tracking_links
from engine.delivery.dkim import DkimKey, sign_dkim
from engine.delivery.html_scan import html_start_tags
from engine.delivery.personalize import (
    EMAIL_ADDRESS, HTML, MFROM_DOMAIN, SUBSCRIBER_ID, TEXT, compile_template,
)
from engine.tracking import Kind, Signer, b32_token, token_url, url_token

CRLF = "\r\n"
_LINE = 78                    # RFC 5322 §2.1.1: lines SHOULD stay within 78 characters
_WORD_BYTES = 42              # UTF-8 bytes per encoded word: 56 base64 chars, 68 with the wrapper
_ASCII_HEADER = re.compile(r"^[\x20-\x7e]*$")
_ADDRESS = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[^\s@<>()\[\],;:\"\\]{1,253}$")
_ATOM_PHRASE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*$")
_BODY_TAG = re.compile(r"<body(?=[\s/>])", re.I)
_PRE_HEADER = ('<div style="display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;'
               'opacity:0;overflow:hidden;mso-hide:all">{}</div>')


# --- headers -------------------------------------------------------------------------------------
def _encoded_words(text: str) -> list[str]:
    words, chunk, size = [], [], 0
    for ch in text:
        n = len(ch.encode("utf-8"))
        if size + n > _WORD_BYTES:   # never split a character across two words
            words.append(chunk)
            chunk, size = [], 0
        chunk.append(ch)
        size += n
    words.append(chunk)
    return ["=?utf-8?b?" + base64.b64encode("".join(c).encode("utf-8")).decode("ascii") + "?="
            for c in words if c]


def _fold(name: str, words: list[str]) -> str:
    """`Name: w1 w2 …` with CRLF-space folds between words so lines stay near 78 characters."""
    lines, line = [], f"{name}:"
    for word in words:
        if len(line) + 1 + len(word) > _LINE and line != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + word
    lines.append(line)
    return (CRLF).join(lines) + CRLF


def encode_header(name: str, value: str) -> str:
    """One header field, RFC 2047-encoded when needed, folded, CRLF-terminated."""
    value = " ".join(value.split())   # no CR/LF can reach the header block: no header injection
    words = value.split(" ") if value else []
    if _ASCII_HEADER.match(value) and "=?" not in value and all(len(w) < 900 for w in words):
        return _fold(name, words)
    return _fold(name, _encoded_words(value))


def _ascii_domain(domain: str) -> str:
    """An internationalised domain in its ASCII (IDNA) form: headers stay 7-bit, no SMTPUTF8 needed."""
    domain = domain.strip().rstrip(".")
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"invalid domain {domain!r}") from None


def _ascii_address(address: str) -> str:
    local, at, domain = (address or "").strip().rpartition("@")
    if not at or not _ADDRESS.match(address := f"{local}@{_ascii_domain(domain)}"):
        raise ValueError(f"invalid email address {address!r}")
    return address


def mailbox_header(name: str, display_name: str, address: str) -> str:
    """`From: Display Name <address>`: the name quoted or RFC 2047-encoded as needed."""
    address = _ascii_address(address)
    display_name = " ".join((display_name or "").split())
    if not display_name:
        return f"{name}: {address}{CRLF}"
    if _ASCII_HEADER.match(display_name) and "=?" not in display_name:
        phrase = display_name if _ATOM_PHRASE.match(display_name) else \
            '"' + display_name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return _fold(name, phrase.split(" ") + [f"<{address}>"])
    return _fold(name, _encoded_words(display_name) + [f"<{address}>"])


# --- bodies ----------------------------------------------------------------------------------------
def _crlf(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\n", CRLF)


def _qp(text: str) -> bytes:
    # binascii's quoted-printable is C code. It writes soft breaks as CRLF only when the data's first
    # line ends in CRLF, so a body without any line break comes back with bare-LF soft breaks.
    encoded = binascii.b2a_qp(_crlf(text).encode("utf-8"), istext=True)
    return encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class _QuotedPrintableBody:
    """A template whose literal text is quoted-printable encoded once; per recipient only the substituted
    values are. Every piece ends with a soft line break (RFC 2045 §6.7 rule 5), so each piece starts an
    encoded line of its own and the pieces concatenate into valid quoted-printable of the whole text.

    `verbatim` slots (tracking URLs: a checked prefix and a base64url token) produce text that
    quoted-printable leaves as it is whenever it fits on a line, so they skip the check for it."""

    def __init__(self, template, verbatim: frozenset = frozenset()):
        self._pieces = [_qp_piece(p) if p.__class__ is str else _verbatim_piece(p) if p in verbatim else _encoding(p)
                        for p in template.parts]

    def render(self, ctx: Mapping) -> bytes:
        return b"".join([p if p.__class__ is bytes else p(ctx) for p in self._pieces])


def _encoding(fill) -> Callable[[Mapping], bytes]:
    return lambda ctx: _qp_piece(fill(ctx))


def _verbatim_piece(fill) -> Callable[[Mapping], bytes]:
    def piece(ctx):
        text = fill(ctx)
        return (text + "=\r\n").encode("ascii") if len(text) <= _QP_VERBATIM_MAX else _qp_piece(text)
    return piece


# Text quoted-printable leaves as it is: printable ASCII without "=" or spaces (tracking URLs, tokens, ids).
_QP_VERBATIM_MAX = 72
_QP_VERBATIM = re.compile(r"[!-<>-~]{1,%d}" % _QP_VERBATIM_MAX)
_QP_LINE = 76


def _qp_piece(text: str) -> bytes:
    if not text:
        return b""
    if _QP_VERBATIM.fullmatch(text) and text[0] != ".":
        return text.encode("ascii") + b"=\r\n"
    encoded = _without_dot_lines(_qp(text))
    return encoded if encoded.endswith(b"\r\n") else encoded + b"=\r\n"


def _without_dot_lines(encoded: bytes) -> bytes:
    """Quoted-printable in which no line starts with ".": a leading dot is written "=2E".

    SMTP would otherwise have to double such dots (RFC 5321 §4.5.2), which means scanning every
    8 KB message on its way out; this way a composed message goes into DATA as it is."""
    if not (encoded.startswith(b".") or b"\n." in encoded):
        return encoded
    lines = []
    for line in encoded.split(b"\r\n"):
        while line.startswith(b"."):
            line = b"=2E" + line[1:]
            if len(line) <= _QP_LINE:
                break
            cut = _QP_LINE - 1                     # room for the soft break's "="
            while b"=" in line[cut - 2:cut]:       # never split an =XX escape
                cut -= 1
            lines.append(line[:cut] + b"=")
            line = line[cut:]
        lines.append(line)
    return b"\r\n".join(lines)


class _Base64Body:
    def __init__(self, template):
        self._template = template

    def render(self, ctx: Mapping) -> bytes:
        return _b64(self._template.render(ctx))


def _b64(text: str) -> bytes:
    return base64.encodebytes(_crlf(text).encode("utf-8")).replace(b"\n", b"\r\n")


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


def _mostly_non_ascii(text: str) -> bool:
    return sum(1 for ch in text if ord(ch) > 127) * 5 > len(text)


# --- the skeleton ----------------------------------------------------------------------------------
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


@dataclass(frozen=True)
class Sending:
    """Where it goes out from, and the ids that tie replies, bounces and clicks back to it."""

    signer: Signer
    base_url: str                  # public address of the tracking endpoints
    bounce_domain: str             # VERP and mailto unsubscribe domain
    campaign_id: int
    instance_id: int
    message_id_domain: str = ""    # default: bounce_domain
    constants: Mapping[str, object] = field(default_factory=dict)   # User:…, Campaign:Name, List:… when one list
    aliases: Mapping[str, int] = field(default_factory=dict)        # merge-tag alias -> custom field id
    dkim: DkimKey | None = None


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
        strip = lambda s: (s or "").replace("\x00", "")  # noqa: E731 - NUL would forge a tracking marker
        html_source, text_source = strip(content.html), strip(content.text)
        if html_source.strip() and not text_source.strip():
            text_source = html_to_text(html_source)
        if html_source.strip() and content.pre_header.strip():
            hidden = _PRE_HEADER.format(html.escape(strip(content.pre_header), quote=False))
            at = next((end for start, end in html_start_tags(html_source)
                       if _BODY_TAG.match(html_source, start)), 0)
            html_source = html_source[:at] + hidden + html_source[at:]
        tracked = tracking_links.track(html_source, text_source, clicks=content.link_tracking,
                                       opens=content.open_tracking and bool(html_source.strip()))
        self.links = tracked.urls
        slots = tracking_links.tracking_slots(tracked.urls, sending.signer, sending.base_url, sending.instance_id)
        # A tracking URL is its kind's prefix and a base64url token: quoted-printable keeps it as it is
        # when the prefix has nothing to encode (and does not start a line with ".").
        verbatim = frozenset(slots.values()) if all(
            _QP_VERBATIM.fullmatch(token_url(sending.base_url, kind, "")) for kind in (Kind.CLICK, Kind.OPEN)) \
            and not sending.base_url.startswith(".") else frozenset()
        constants = {"Campaign:CampaignID": sending.campaign_id, MFROM_DOMAIN: sending.bounce_domain,
                     **sending.constants}
        compile_ = lambda text, mode, **kw: compile_template(  # noqa: E731
            text, mode, aliases=sending.aliases, system_slots=slots, **kw).bind(constants)
        self.subject = compile_(" ".join(strip(content.subject).split()), TEXT, links=())
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
        self._bounce_domain = _ascii_domain(sending.bounce_domain)
        self._mid_domain = _ascii_domain(sending.message_id_domain or sending.bounce_domain)
        self._subject_line = encode_header("Subject", self.subject.render({})) if self.subject.is_constant else None
        head = [mailbox_header("From", content.from_name, content.from_email)]
        if content.reply_to_email:
            head.append(mailbox_header("Reply-To", content.reply_to_name, content.reply_to_email))
        self._from_block = "".join(head).encode("ascii")
        boundary = "=_sm_" + secrets.token_hex(12)   # "=_" never occurs in quoted-printable or base64
        common = ["MIME-Version: 1.0", f"X-Sendmill-Campaign: {int(sending.campaign_id)}",
                  "List-Unsubscribe-Post: List-Unsubscribe=One-Click"]
        parts = [("plain", self.text, text_source)]
        if self.html is not None:
            parts.append(("html", self.html, html_source))
        self._parts: list[tuple[bytes, object]] = []   # (bytes before the body, its encoded renderer)
        for i, (subtype, template, source) in enumerate(parts):
            encoding = "base64" if _mostly_non_ascii(source) else "quoted-printable"
            headers = f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}Content-Transfer-Encoding: {encoding}{CRLF}'
            opening = headers + CRLF if len(parts) == 1 else f"{CRLF if i else ''}--{boundary}{CRLF}{headers}{CRLF}"
            body = _Base64Body(template) if encoding == "base64" else _QuotedPrintableBody(template, verbatim)
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
        recipient = _ascii_address(str(ctx[EMAIL_ADDRESS]))
        tokens = s.signer.for_recipient(s.instance_id, subscriber_id)
        unsubscribe_token = tokens.raw(Kind.UNSUBSCRIBE)          # one MAC for the link and the mailto
        unsubscribe = self._unsubscribe_prefix + url_token(unsubscribe_token)
        ctx = {**ctx, "Link:Unsubscribe": unsubscribe, tracking_links.RECIPIENT_TOKENS: tokens}
        for tag, kind, prefix in self._system_links:
            ctx[tag] = prefix + tokens.token(kind)
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


def random_token() -> str:
    # Message-IDs need uniqueness, not secrecy: no system call per message (the module's generator is
    # seeded from the OS, and again in every forked worker).
    return "%016x" % random.getrandbits(64)


def build_skeleton(content: Content, sending: Sending) -> Skeleton:
    """Prepare a campaign's messages once; ValueError when the content or an address is unusable."""
    return Skeleton(content, sending)
