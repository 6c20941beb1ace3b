"""Bounces without a machine-readable report: the notices mailer daemons write for people.

Anything whose From is a mailer daemon or whose Subject reads like a bounce (Postfix/qmail/Exim
plain-text notices, old Exchange NDRs, Gmail/Yahoo texts), unless the subject says it is a delay
warning, a success notice or an auto-reply: the enhanced status code in the notice text, else the
phrase table `PHRASES`. Only the notice is read, never the returned original below it (our own
campaign text would otherwise decide the verdict).
"""
from __future__ import annotations

import html
import re
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from engine.bounces.classification import ENHANCED_CODE, SMTP_CODE, SOFT, classify, match_phrase
from engine.bounces.events import MAX_DIAGNOSTIC, BounceEvent, Event
from engine.bounces.mime import content_type, header_text, header_values, part_text, returned_original, walk_parts
from engine.bounces.origin import find_token, origin_of
from engine.validation import normalize_email

MAX_NOTICE_CHARS = 64 * 1024  # human-readable text the phrase table is run over

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
    for part in walk_parts(msg):
        ctype = content_type(part)
        if ctype == "text/plain":
            plain.append(part_text(part)[:MAX_NOTICE_CHARS])
        elif ctype == "text/html":
            rich.append(_html_text(part_text(part)[:MAX_NOTICE_CHARS]))
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


def notice_events(msg: Message, recipients, decode_verp) -> list[Event]:
    sender, subject = header_text(msg, "From"), header_text(msg, "Subject")
    if not (_DAEMON.search(sender) or _BOUNCE_SUBJECT.search(subject)):
        return []
    if _NOT_A_BOUNCE.search(subject) or msg.get("X-Autoreply") or msg.get("X-Autorespond"):
        return []
    text, inline = _notice(msg)
    original = returned_original(msg) or inline
    origin = origin_of(msg, original, recipients, decode_verp)
    status_match = ENHANCED_CODE.search(text)
    status = ".".join(status_match.groups()) if status_match else None
    if status and status[0] == "2":
        return []
    kind, reason = classify(status, text) or (SOFT, "unknown")
    email = None
    failed = ", ".join(header_values(msg, "X-Failed-Recipients"))   # Exim and Gmail name them outright
    for pattern in (_LISTED, _ANGLE_COLON, _PHRASED):
        for found in pattern.finditer(failed if pattern is _LISTED else text):
            candidate = normalize_email(found.group(1))
            if candidate and not _DAEMON.search(candidate) and find_token([candidate], decode_verp) is None:
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
    found = status_match or (match_phrase(text) or (None, None, None))[2] or SMTP_CODE.search(text)
    if found is None:
        return " ".join(text.split())[:MAX_DIAGNOSTIC]
    start = text.rfind("\n", 0, found.start()) + 1
    end = text.find("\n", found.end())
    # Postfix and Exim indent the continuation lines of one reply: they belong to it.
    while end >= 0 and re.match(r"[ \t]+\S", text[end + 1:end + 200]):
        end = text.find("\n", end + 1)
    return " ".join(text[start:end if end >= 0 else None].split())[:MAX_DIAGNOSTIC]
