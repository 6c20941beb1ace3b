"""Inbound bounces and complaints: what a returned message says happened, and to whom.

Pure parsing: no database, no network. `parse(raw, recipients=..., decode_verp=...)` turns one
received message into `BounceEvent`s and `ComplaintEvent`s, and into `[]` for everything else
(delay warnings, success notices, auto-replies, spam, garbage). It never raises on bad input.

Formats, most structured first:
* DSN, RFC 3464: multipart/report; report-type=delivery-status. One event per recipient block
  whose Action is `failed` (`delayed` is a warning: the MTA is still trying and will send a final
  DSN; `delivered`, `relayed`, `expanded` are not failures).
* ARF, RFC 5965: multipart/report; report-type=feedback-report. `abuse`, `fraud`, `virus` and
  `other` are complaints (someone pressed "this is spam" or its like). `not-spam` (RFC 6650) is the
  opposite, `auth-failure` (RFC 6591) is about our DKIM/SPF, not the recipient: both are ignored.
* Anything else whose From is a mailer daemon or whose Subject reads like a bounce (Postfix/qmail/
  Exim plain-text notices, old Exchange NDRs, Gmail/Yahoo texts), unless the subject says it is a
  delay warning, a success notice or an auto-reply: the enhanced status code in the notice text,
  else the phrase table `PHRASES`. Only the notice is read, never the returned original below it
  (our own campaign text would otherwise decide the verdict).

Which recipient (`matched_by`), most trustworthy first:
1. `"token"`: a signed VERP token. The envelope recipient `bounce+<token>@…` (or the same address in
   the report's X-Original-To / Delivered-To / To headers when it comes through an MTA pipe), then
   inside the report: ARF Original-Mail-From, the original's Return-Path, and the
   `unsubscribe+<token>@…` mailto of its List-Unsubscribe. Only our key makes these.
2. `"message-id"`: the original Message-ID as compose.py writes it, `<instance.subscriber.rand@…>`,
   parsed into `message_ref`. It is NOT signed: anyone can write one, so whoever records the event
   must check that `email` is that subscriber's address before acting on it.
3. `"address"`: only `email` (Original-Recipient, else Final-Recipient; ARF Original-Rcpt-To; else
   the original To). Events tied to nobody are dropped.
A VERP message has one recipient, so a report normally yields one event; when it lists several,
each carries the same token and its own `email`. `report_id` lets the recorder drop a report that
arrives twice.

Hard or soft. The enhanced status code (RFC 3463) decides where it is specific (`STATUS_TABLE`);
where it is generic (x.0.0, unlisted details, or only a basic SMTP code) the server's words
decide through `PHRASES`; what is still unknown is soft. Soft counts toward the soft-bounce
threshold (protocol.md: default 3), so an address that keeps failing is still suppressed in the
end, while one mistaken hard verdict would lose a good subscriber for good.

    status            kind  reason        why
    5.1.0 5.1.1 5.1.3 hard  user-unknown  the mailbox does not exist / cannot exist
    5.1.6             hard  user-unknown  mailbox moved, no forwarding address
    5.1.2 5.4.4       hard  bad-domain    no such domain / no route to it
    5.1.10            hard  null-mx       the domain says it takes no mail (RFC 7505); Exchange
                                          Online also uses it for "RecipientNotFound"
    5.2.1             hard  disabled      mailbox disabled, not accepting messages
    5.2.2             soft  mailbox-full  people empty their mailboxes; the threshold catches the rest
    5.2.3 5.3.4       soft  too-large     the message was too big, not the address's fault
    5.7.x             soft  policy        the receiver refused *us* (spam filter, DMARC, reputation,
                                          block lists): suppressing the recipient punishes the wrong side
    4.x.x             soft  transient     (4.2.2 mailbox-full, 4.7.x policy)
    other 5.x.x       PHRASES on the diagnostic, else soft "unknown"
    (no code)         PHRASES, else 552 mailbox-full / 4xx transient, else soft "unknown"

A hard phrase may sharpen a hard code's reason (Exchange's "5.1.10 RecipientNotFound" is
user-unknown), but words never turn a listed code's kind around: "5.7.1 … user unknown" stays a
soft policy refusal. Exchange Online's "5.4.1 Recipient address rejected: Access denied" (its
directory-based edge blocking: no such recipient) is hard through PHRASES.
"""
from __future__ import annotations

import base64
import binascii
import html
import quopri
import re
from dataclasses import dataclass
from email.header import Header, decode_header, make_header
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.policy import compat32
from email.utils import getaddresses, parseaddr
from typing import Any, Callable, Iterable, Iterator, Optional

from engine.errors import BadToken
from engine.tracking import Kind, Signer
from engine.validation import normalize_email

__all__ = ["BounceEvent", "ComplaintEvent", "PHRASES", "STATUS_TABLE", "classify", "message_ref",
           "parse", "verp_decoder"]

HARD, SOFT = "hard", "soft"
MAX_PARSE_BYTES = 1 << 20     # the report parts come first; the returned original may be cut off
MAX_NOTICE_CHARS = 64 * 1024  # human-readable text the phrase table is run over
MAX_DIAGNOSTIC = 1000
MAX_RECIPIENT_BLOCKS = 100    # a VERP message has one recipient; a report listing more is not ours
MAX_HEADER = 2000             # address parsing is superlinear on some inputs: keep it short
COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus", "other"})

DecodeVerp = Callable[[str], Any]   # local part -> token payload, or None when it is not ours


@dataclass(frozen=True, kw_only=True)
class _Event:
    email: str | None             # normalised address the report names (None when it names none)
    token: Any = None             # decode_verp's payload: signed proof of (instance, subscriber)
    message_id: str | None = None  # Message-ID of the original message, as we sent it
    message_ref: tuple[int, int] | None = None   # (instance_id, subscriber_id) from it: unsigned
    campaign_id: int | None = None  # X-Sendmill-Campaign of the original: unsigned
    matched_by: str = "address"    # token | message-id | address (see the module docstring)
    report_id: str | None = None   # Message-ID of the report itself: the same report twice is one event


@dataclass(frozen=True, kw_only=True)
class BounceEvent(_Event):
    kind: str                     # hard | soft
    status: str | None            # RFC 3463 code "5.1.1"; None when the report gave none
    diagnostic: str = ""          # the remote server's words (Diagnostic-Code or the notice's line)
    reason: str = "unknown"       # label from STATUS_TABLE / PHRASES
    action: str = "failed"
    remote_mta: str | None = None


@dataclass(frozen=True, kw_only=True)
class ComplaintEvent(_Event):
    kind: str = "complaint"
    feedback_type: str = "abuse"
    user_agent: str = ""
    source_ip: str | None = None
    arrival_date: str | None = None


Event = BounceEvent | ComplaintEvent


# --- classification -------------------------------------------------------------------------
STATUS_TABLE: dict[tuple[int, int], tuple[str, str]] = {
    (1, 0): (HARD, "user-unknown"), (1, 1): (HARD, "user-unknown"), (1, 3): (HARD, "user-unknown"),
    (1, 6): (HARD, "user-unknown"), (1, 2): (HARD, "bad-domain"), (4, 4): (HARD, "bad-domain"),
    (1, 10): (HARD, "null-mx"), (2, 1): (HARD, "disabled"), (2, 2): (SOFT, "mailbox-full"),
    (2, 3): (SOFT, "too-large"), (3, 4): (SOFT, "too-large"),
}

# Non-standard wording, first match wins. Sources: Postfix, Exim, qmail, Exchange, Gmail, Yahoo,
# Outlook.com notices. Full mailboxes come before "does not exist" and friends because notices
# like "mailbox full, user does not exist after 30 days" are about the quota first.
_PHRASE_SOURCES = (
    (SOFT, "mailbox-full", r"mailbox (?:is )?full|over ?quota|quota (?:exceeded|exceed)|exceeded (?:its |the |their )?"
                           r"(?:storage|quota)|(?:insufficient|out of) (?:system )?storage|inbox is full|full mailbox"
                           r"|mailbox size limit"),
    (HARD, "disabled", r"(?:account|mailbox|user)(?: has been| is)? (?:disabled|deactivated|suspended|closed|inactive)"
                       r"|(?:inactive|disabled) (?:account|mailbox|user)|no longer (?:active|available|in use|valid)"),
    (HARD, "null-mx", r"null mx|does not accept mail"),
    (HARD, "bad-domain", r"host or domain name not found"
                         r"|domain (?:name )?(?:not found|does ?n[o']t exist|doesn't exist)|no such domain"
                         r"|unroutable domain|nxdomain|no mx record"
                         r"|bad destination system"),
    (HARD, "user-unknown", r"user ?unknown|unknown (?:user|recipient|local[- ]part|mailbox)|no such (?:user|mailbox|"
                           r"recipient|address|person)|does ?n[o']t exist|doesn't exist|wasn't found at|was not found"
                           r"|(?:couldn't|could not|cannot|can't) be found|(?:recipient|user|mailbox) not found"
                           r"|no mailbox here|not a valid (?:mailbox|recipient|user)"
                           r"|invalid (?:recipient|mailbox|user)"
                           r"|bad destination mailbox|recipientnotfound|doesn't have an? \S+ account"
                           r"|recipient address rejected: access denied|unrouteable address"),
    (SOFT, "transient", r"try again|temporar|timed? ?out|connection (?:refused|reset|lost)|gr[ae]ylist|deferred"
                        r"|too many|rate limit|throttl|insufficient resources"),
    (SOFT, "policy", r"spam|block(?:ed|list)|black ?list|listed (?:at|on|in|by)|reputation|dmarc|\bspf\b|\bdkim\b"
                     r"|policy|not authori[sz]ed|content rejected|virus|malware"),
)
PHRASES: tuple[tuple[str, str, re.Pattern], ...] = tuple(
    (kind, reason, re.compile(pattern, re.I)) for kind, reason, pattern in _PHRASE_SOURCES)

_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\d)(?!\.\d)")
# A basic reply code only where a server's reply is quoted, so sizes and dates are not codes.
_SMTP_CODE = re.compile(r"(?im)(?:^|said:|smtp;|\berror:?|\bcode:?|\()[ \t]*([245][0-5]\d)(?=[\s-])")


def classify(status: str | None, diagnostic: str = "") -> tuple[str, str] | None:
    """(kind, reason) for a failure's status code and text; None when the status says success."""
    code = _ENHANCED.search(status or "")
    if code is None:
        code = _ENHANCED.search(diagnostic or "")
    if code is not None:
        klass, subject, detail = (int(g) for g in code.groups())
        if klass == 2:
            return None
        if klass == 4:
            return SOFT, ("mailbox-full" if (subject, detail) == (2, 2) else "policy" if subject == 7 else "transient")
        if (subject, detail) in STATUS_TABLE:
            kind, reason = STATUS_TABLE[(subject, detail)]
            phrase = _phrase(diagnostic) if kind == HARD else None
            # Same verdict, better label: Exchange's 5.1.10 "RecipientNotFound" is no null MX.
            return kind, (phrase[1] if phrase and phrase[0] == HARD else reason)
        if subject == 7:
            return SOFT, "policy"
    phrase = _phrase(diagnostic)
    if phrase is not None:
        return phrase[0], phrase[1]
    basic = _SMTP_CODE.search(diagnostic or "")
    if basic is not None and basic.group(1) == "552":
        return SOFT, "mailbox-full"   # RFC 5321: "exceeded storage allocation"
    if basic is not None and basic.group(1)[0] == "4":
        return SOFT, "transient"
    return SOFT, "unknown"


def _phrase(text: str) -> tuple[str, str, re.Match] | None:
    for kind, reason, pattern in PHRASES:
        found = pattern.search(text or "")
        if found:
            return kind, reason, found
    return None


def _status_of(status_field: str, diagnostic: str) -> str | None:
    """The most specific code: "5.0.0" in Status with "550 5.1.1 …" in the diagnostic is 5.1.1."""
    given = _ENHANCED.search(status_field or "")
    told = _ENHANCED.search(diagnostic or "")
    if given and told and given.group(1) == told.group(1) and given.group(2, 3) == ("0", "0"):
        given = told
    found = given or told
    return ".".join(found.groups()) if found else None


# --- identification -------------------------------------------------------------------------
_MESSAGE_REF = re.compile(r"^<?(\d{1,19})\.(\d{1,19})\.[0-9a-f]{16}@[^<>\s@]+>?$")
_MAILTO = re.compile(r"mailto:([^?>\s,]+)", re.I)


def message_ref(message_id: str | None) -> tuple[int, int] | None:
    """(instance_id, subscriber_id) from a Message-ID compose.py wrote; None for any other shape."""
    found = _MESSAGE_REF.match((message_id or "").strip())
    if not found:
        return None
    instance_id, subscriber_id = int(found.group(1)), int(found.group(2))
    return (instance_id, subscriber_id) if max(instance_id, subscriber_id) < 1 << 63 else None


def verp_decoder(signer: Signer, prefix: str = "bounce", unsubscribe_prefix: str = "unsubscribe") -> DecodeVerp:
    """decode_verp for our own tokens: `bounce+<t>` (VERP) and `unsubscribe+<t>` (List-Unsubscribe mailto)."""
    kinds = {prefix.lower(): Kind.BOUNCE, unsubscribe_prefix.lower(): Kind.UNSUBSCRIBE}

    def decode(local_part: str):
        head, plus, token = (local_part or "").partition("+")
        kind = kinds.get(head.lower())
        if not plus or kind is None:
            return None
        try:
            return signer.verify_local(token, kind)
        except BadToken:
            return None
    return decode


def _local_part(address: str) -> str:
    address = parseaddr(address)[1] or address.strip().strip("<>")
    return address.rpartition("@")[0] if "@" in address else ""


def _find_token(addresses: Iterable[str], decode_verp: DecodeVerp | None):
    if decode_verp is None:
        return None
    for count, address in enumerate(addresses):
        if count >= 32:   # a report naming hundreds of addresses is not worth that many MACs
            return None
        local = _local_part(address or "")
        if local and len(local) <= 128:
            payload = decode_verp(local)
            if payload is not None:
                return payload
    return None


# --- reading a message defensively ----------------------------------------------------------
def _load(raw) -> Message | None:
    if isinstance(raw, Message):
        return raw
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        return None
    raw = bytes(raw[:MAX_PARSE_BYTES])
    if not raw.strip():
        return None
    try:
        return BytesParser(policy=compat32).parsebytes(raw)
    except Exception:   # the stdlib parser is lenient, but garbage must never escape as a crash
        return None


def _header(msg: Message | None, name: str) -> str:
    """One header as readable, unfolded text ("" when absent or unreadable)."""
    if msg is None:
        return ""
    values = _raw_headers(msg, name)
    if not values:
        return ""
    value = values[0]
    try:
        text = str(make_header(decode_header(value)))
    except Exception:   # bad RFC 2047 words, unknown charsets
        text = value
    return " ".join(text.encode("utf-8", "replace").decode("utf-8").split())


def _headers(msg: Message | None, name: str) -> list[str]:
    return [" ".join(v.split()) for v in _raw_headers(msg, name)[:8]]


def _raw_headers(msg: Message | None, name: str) -> list[str]:
    """A header's values as text; raw 8-bit bytes (not allowed, yet common) are read as UTF-8."""
    if msg is None:
        return []
    name = name.lower()
    # raw_items(), because compat32's get() wraps 8-bit values in a Header that mangles them.
    return [v[:MAX_HEADER].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            for k, v in msg.raw_items() if k.lower() == name and isinstance(v, str)]


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def _children(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _walk(part: Message, depth: int = 0) -> Iterator[Message]:
    """Every part, but not inside message/* parts: those are the returned original, not the notice."""
    yield part
    if _content_type(part).startswith("multipart/") and depth < 8:
        for child in _children(part):
            yield from _walk(child, depth + 1)


def _text(part: Message) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if data is None:
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    try:
        return data.decode(part.get_content_charset() or "utf-8", "replace")
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")


def _blocks(part: Message) -> list[dict[str, str]]:
    """The field blocks of a message/delivery-status or message/feedback-report part."""
    cte = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    children = _children(part)
    if children and cte not in ("base64", "quoted-printable"):
        # The stdlib parser already split the blocks into header-only messages.
        blocks = [_fields(child.items()) for child in children]
    else:
        if children:   # encoded: the parser saw one header-less block holding the encoded text
            text = "\n".join(c.get_payload() for c in children if isinstance(c.get_payload(), str))
            try:
                encoded = text.encode("ascii", "replace")
                data = base64.b64decode(encoded) if cte == "base64" else quopri.decodestring(encoded)
            except (binascii.Error, ValueError):
                data = b""
            text = data.decode("utf-8", "replace")
        else:
            text = _text(part)
        blocks = [_fields(HeaderParser(policy=compat32).parsestr(chunk).items())
                  for chunk in re.split(r"\r?\n[ \t]*\r?\n", text) if chunk.strip()]
    return [block for block in blocks if block]


def _fields(items) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in items:
        if not isinstance(value, Header):
            fields.setdefault(name.strip().lower(), " ".join(str(value)[:MAX_HEADER].split()))
    return fields


def _typed_address(value: str) -> str | None:
    """`rfc822; <user@example.org>` -> normalised user@example.org."""
    address = value.partition(";")[2] if ";" in value else value
    return normalize_email(address.strip().strip("<>").strip())


def _original(msg: Message) -> Message | None:
    """The headers of the returned original (message/rfc822 or text/rfc822-headers part)."""
    for part in _walk(msg):
        ctype = _content_type(part)
        if part is msg or ctype not in ("message/rfc822", "message/global", "text/rfc822-headers",
                                          "message/rfc822-headers", "message/global-headers"):
            continue
        children = _children(part)
        if children:
            return children[0]
        text = _text(part)
        return HeaderParser(policy=compat32).parsestr(text) if text.strip() else None
    return None


@dataclass(frozen=True)
class _Origin:
    """What identifies the bounced original, shared by all events of one report."""
    token: Any
    message_id: str | None
    message_ref: tuple[int, int] | None
    campaign_id: int | None
    to: str | None
    report_id: str | None

    def event_ids(self, email: str | None) -> dict | None:
        matched_by = ("token" if self.token is not None else "message-id" if self.message_ref
                      else "address" if email else None)
        if matched_by is None:
            return None
        return dict(email=email, token=self.token, message_id=self.message_id, message_ref=self.message_ref,
                    campaign_id=self.campaign_id, matched_by=matched_by, report_id=self.report_id)


def _origin(msg: Message, original: Message | None, recipients: Iterable[str], decode_verp: DecodeVerp | None,
            extra_addresses: Iterable[str] = ()) -> _Origin:
    report_headers = [v for name in ("X-Original-To", "Delivered-To", "Envelope-To", "To")
                      for v in _headers(msg, name)]
    candidates = [*recipients, *(a for _, a in getaddresses(report_headers)), *extra_addresses]
    if original is not None:
        candidates += _headers(original, "Return-Path")
        candidates += _MAILTO.findall(" ".join(_headers(original, "List-Unsubscribe")))
    token = _find_token(candidates, decode_verp)
    message_id = _header(original, "Message-ID") or None
    campaign = _header(original, "X-Sendmill-Campaign")
    to = parseaddr(_header(original, "To"))[1] if original is not None else ""
    return _Origin(token=token, message_id=message_id[:998] if message_id else None,
                   message_ref=message_ref(message_id),
                   campaign_id=int(campaign) if campaign.isdigit() and len(campaign) < 19 else None,
                   to=normalize_email(to), report_id=_header(msg, "Message-ID") or None)


# --- the three formats ----------------------------------------------------------------------
def _report_part(msg: Message, types: tuple[str, ...]) -> Message | None:
    if not _content_type(msg).startswith("multipart/"):
        return None
    for part in _walk(msg):
        if _content_type(part) in types:
            return part
    return None


def _dsn(msg: Message, blocks: list[dict[str, str]], recipients, decode_verp) -> list[Event]:
    per_message = blocks[0] if blocks and "final-recipient" not in blocks[0] and "action" not in blocks[0] else {}
    origin = _origin(msg, _original(msg), recipients, decode_verp)
    events = []
    for block in blocks[:MAX_RECIPIENT_BLOCKS]:
        if block is per_message:
            continue
        action = block.get("action", "").split(" ")[0].lower()
        diagnostic = _clean_diagnostic(block.get("diagnostic-code", ""))
        status = _status_of(block.get("status", ""), diagnostic)
        if not action:   # Action is required; without it, trust a failure code and nothing else
            action = "failed" if status and status[0] == "5" else ""
        if action != "failed":
            continue
        kind, reason = classify(status, diagnostic) or (SOFT, "unknown")
        # Original-Recipient is the address we sent to; Final-Recipient may be where an alias led.
        email = (_typed_address(block.get("original-recipient", ""))
                 or _typed_address(block.get("final-recipient", "")) or origin.to)
        ids = origin.event_ids(email)
        if ids is None:
            continue
        remote = block.get("remote-mta", "")
        remote = re.sub(r"\s*\(.*", "", remote.partition(";")[2] or remote).strip()   # drop "(comments)"
        events.append(BounceEvent(kind=kind, status=status, diagnostic=diagnostic[:MAX_DIAGNOSTIC], reason=reason,
                                  action=action, remote_mta=remote[:255] or None, **ids))
    return events


def _clean_diagnostic(value: str) -> str:
    """`smtp; 550-5.1.1 Line one 550-5.1.1 line two` -> `550 5.1.1 Line one line two`."""
    if re.match(r"^[\w-]{1,20};", value):
        value = value.partition(";")[2].strip()
    lead = re.match(r"([245]\d\d)[ -](?:([245]\.\d{1,3}\.\d{1,3})\s+)?", value)
    if lead is None:
        return value
    code, enhanced = lead.groups()
    repeated = re.escape(code) + r"[ -]" + (re.escape(enhanced) + r"\s+" if enhanced else "")
    rest = re.sub(r"\s" + repeated, " ", value[lead.end():])
    return " ".join(f"{code} {enhanced or ''} {rest}".split())


def _arf(msg: Message, part: Message, recipients, decode_verp) -> list[Event]:
    blocks = _blocks(part)
    fields = blocks[0] if blocks else {}
    feedback_type = fields.get("feedback-type", "").lower()
    if feedback_type not in COMPLAINT_TYPES:
        return []
    original = _original(msg)
    origin = _origin(msg, original, recipients, decode_verp,
                     extra_addresses=[fields.get("original-mail-from", "")])
    email = normalize_email(fields.get("original-rcpt-to", "").strip("<> ")) or origin.to
    ids = origin.event_ids(email)
    if ids is None:
        return []
    return [ComplaintEvent(feedback_type=feedback_type, user_agent=fields.get("user-agent", "")[:255],
                           source_ip=fields.get("source-ip") or None,
                           arrival_date=fields.get("arrival-date") or fields.get("received-date") or None, **ids)]


_DAEMON = re.compile(r"mailer-daemon|postmaster|mail delivery (?:subsystem|system|service)|microsoftexchange"
                     r"|mail administrator|mail delivery", re.I)
_BOUNCE_SUBJECT = re.compile(r"undeliver|returned mail|returned to sender|delivery (?:status notification|failure|"
                             r"failed|has failed|problem|report|notification)|mail delivery failed|failure notice"
                             r"|could not be delivered|couldn't be delivered|non.?delivery|nondeliverable"
                             r"|unzustellbar|non remis|onbestelbaar|non recapitabile|no se puede entregar", re.I)
# Warnings, receipts and auto-replies: not failures, whatever else they say.
_NOT_A_BOUNCE = re.compile(r"\bsuccess|\(relay\)|\bdelay|warning:|out of (?:the )?office|automatic reply"
                           r"|auto[- ]?reply|autoreply|auto[- ]?response|vacation|read receipt|^read:", re.I)
_CUT = re.compile(r"^[ \t]*(?:-{2,}|={2,})[^\n]{0,80}?(?:copy of the message|original message|message follows"
                  r"|forwarded message|undelivered message)[^\n]{0,80}$"
                  r"|^[ \t]*(?:original message headers|undelivered message headers|message headers follow)"
                  r"[ \t]*:?[ \t]*$",
                  re.I | re.M)
_LISTED = re.compile(r"([^\s<>,;]{1,64}@[^\s<>,;]{1,253})")
_ANGLE_COLON = re.compile(r"<([^<>\s@]{1,64}@[A-Za-z0-9.-]{1,253})>\s*:")
_PHRASED = re.compile(r"(?:delivered to|message to|delivery to|addresses? failed:|following (?:address(?:es)?|"
                      r"recipients?)[^:\n]{0,60}:|(?:couldn't|could not) be delivered to|recipients?:)\s*<?"
                      r"([^\s<>@\"'():;,]{1,64}@[A-Za-z0-9.-]{1,253}[A-Za-z0-9])", re.I)


def _notice(msg: Message) -> tuple[str, Message | None]:
    """The human-readable notice text, and the original's headers when they are inline in it."""
    plain, rich = [], []
    for part in _walk(msg):
        ctype = _content_type(part)
        if ctype == "text/plain":
            plain.append(_text(part)[:MAX_NOTICE_CHARS])
        elif ctype == "text/html":
            rich.append(_html_text(_text(part)[:MAX_NOTICE_CHARS]))
    text = "\n".join(plain or rich)[:MAX_NOTICE_CHARS]
    cut = _CUT.search(text)
    if cut is None:
        return text, None
    rest = text[cut.end():].lstrip("\r\n")
    inline = HeaderParser(policy=compat32).parsestr(rest) if rest else None
    if inline is not None and not any(inline.get(h) for h in ("Message-ID", "To", "From", "Return-Path")):
        inline = None
    return text[:cut.start()], inline


def _html_text(source: str) -> str:
    """The text of an HTML notice. A linear scan: regexes over unclosed <style> go quadratic."""
    out, pos, lower = [], 0, source.lower()
    while pos < len(source):
        lt = source.find("<", pos)
        if lt < 0:
            out.append(source[pos:])
            break
        out.append(source[pos:lt])
        skip_to = lt
        for tag in ("style", "script"):
            if lower.startswith(tag, lt + 1):
                close = lower.find("</" + tag, lt)
                skip_to = len(source) if close < 0 else close
                break
        gt = source.find(">", skip_to)
        pos = len(source) if gt < 0 else gt + 1
        out.append(" ")
    return html.unescape("".join(out))


def _heuristic(msg: Message, recipients, decode_verp) -> list[Event]:
    sender, subject = _header(msg, "From"), _header(msg, "Subject")
    if not (_DAEMON.search(sender) or _BOUNCE_SUBJECT.search(subject)):
        return []
    if _NOT_A_BOUNCE.search(subject) or msg.get("X-Autoreply") or msg.get("X-Autorespond"):
        return []
    text, inline = _notice(msg)
    original = _original(msg) or inline
    origin = _origin(msg, original, recipients, decode_verp)
    status_match = _ENHANCED.search(text)
    status = ".".join(status_match.groups()) if status_match else None
    if status and status[0] == "2":
        return []
    kind, reason = classify(status, text) or (SOFT, "unknown")
    email = None
    failed = ", ".join(_headers(msg, "X-Failed-Recipients"))   # Exim and Gmail name them outright
    for pattern in (_LISTED, _ANGLE_COLON, _PHRASED):
        for found in pattern.finditer(failed if pattern is _LISTED else text):
            candidate = normalize_email(found.group(1))
            if candidate and not _DAEMON.search(candidate) and _find_token([candidate], decode_verp) is None:
                email = candidate
                break
        if email:
            break
    ids = origin.event_ids(email or origin.to)
    if ids is None:
        return []
    diagnostic = _diagnostic_line(text, status_match)
    return [BounceEvent(kind=kind, status=status, diagnostic=diagnostic, reason=reason, **ids)]


def _diagnostic_line(text: str, status_match: re.Match | None) -> str:
    """The line that says what went wrong: the one with the status code, else the matching phrase."""
    found = status_match or (_phrase(text) or (None, None, None))[2] or _SMTP_CODE.search(text)
    if found is None:
        return " ".join(text.split())[:MAX_DIAGNOSTIC]
    start = text.rfind("\n", 0, found.start()) + 1
    end = text.find("\n", found.end())
    # Postfix and Exim indent the continuation lines of one reply: they belong to it.
    while end >= 0 and re.match(r"[ \t]+\S", text[end + 1:end + 200]):
        end = text.find("\n", end + 1)
    return " ".join(text[start:end if end >= 0 else None].split())[:MAX_DIAGNOSTIC]


def parse(raw: bytes | str | Message, *, recipients: Iterable[str] = (),
          decode_verp: Optional[DecodeVerp] = None) -> list[Event]:
    """The bounce and complaint events in one received message; [] when it carries none we can read.

    `recipients` are the SMTP envelope recipients (RCPT TO), where the VERP token is.
    `decode_verp(local_part)` returns the signed payload of `bounce+<token>`, or None (see `verp_decoder`).
    """
    msg = _load(raw)
    if msg is None:
        return []
    recipients = [r for r in recipients if isinstance(r, str)]
    part = _report_part(msg, ("message/delivery-status", "message/global-delivery-status"))
    if part is not None:
        blocks = _blocks(part)
        # A readable report is authoritative, also when no recipient failed (all delayed or
        # delivered); an unreadable one falls through to the notice text.
        if any("action" in b or "final-recipient" in b for b in blocks):
            return _dsn(msg, blocks, recipients, decode_verp)
    part = _report_part(msg, ("message/feedback-report",))
    if part is not None:
        return _arf(msg, part, recipients, decode_verp)
    return _heuristic(msg, recipients, decode_verp)
