"""The machine-readable reports: what a DSN or an ARF report says happened, and to whom.

* DSN, RFC 3464: multipart/report; report-type=delivery-status. One event per recipient block
  whose Action is `failed` (`delayed` is a warning: the MTA is still trying and will send a final
  DSN; `delivered`, `relayed`, `expanded` are not failures).
* ARF, RFC 5965: multipart/report; report-type=feedback-report. `abuse`, `fraud`, `virus` and
  `other` are complaints (someone pressed "this is spam" or its like). `not-spam` (RFC 6650) is the
  opposite, `auth-failure` (RFC 6591) is about our DKIM/SPF, not the recipient: both are ignored.
"""
from __future__ import annotations

import re
from email.message import Message

from engine.bounces.classification import SOFT, classify, status_of
from engine.bounces.events import MAX_DIAGNOSTIC, BounceEvent, ComplaintEvent, Event
from engine.bounces.mime import content_type, field_blocks, returned_original, walk_parts
from engine.bounces.origin import origin_of
from engine.validation import normalize_email

MAX_RECIPIENT_BLOCKS = 100    # a VERP message has one recipient; a report listing more is not ours
COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus", "other"})


def report_part(msg: Message, types: tuple[str, ...]) -> Message | None:
    if not content_type(msg).startswith("multipart/"):
        return None
    for part in walk_parts(msg):
        if content_type(part) in types:
            return part
    return None


def dsn_events(msg: Message, blocks: list[dict[str, str]], recipients, decode_verp) -> list[Event]:
    per_message = blocks[0] if blocks and "final-recipient" not in blocks[0] and "action" not in blocks[0] else {}
    origin = origin_of(msg, returned_original(msg), recipients, decode_verp)
    events = []
    for block in blocks[:MAX_RECIPIENT_BLOCKS]:
        if block is per_message:
            continue
        action = block.get("action", "").split(" ")[0].lower()
        diagnostic = _clean_diagnostic(block.get("diagnostic-code", ""))
        status = status_of(block.get("status", ""), diagnostic)
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


def arf_events(msg: Message, part: Message, recipients, decode_verp) -> list[Event]:
    blocks = field_blocks(part)
    fields = blocks[0] if blocks else {}
    feedback_type = fields.get("feedback-type", "").lower()
    if feedback_type not in COMPLAINT_TYPES:
        return []
    original = returned_original(msg)
    origin = origin_of(msg, original, recipients, decode_verp,
                       extra_addresses=[fields.get("original-mail-from", "")])
    email = normalize_email(fields.get("original-rcpt-to", "").strip("<> ")) or origin.to
    ids = origin.event_ids(email)
    if ids is None:
        return []
    return [ComplaintEvent(feedback_type=feedback_type, user_agent=fields.get("user-agent", "")[:255],
                           source_ip=fields.get("source-ip") or None,
                           arrival_date=fields.get("arrival-date") or fields.get("received-date") or None, **ids)]


def _typed_address(value: str) -> str | None:
    """`rfc822; <user@example.org>` -> normalised user@example.org."""
    address = value.partition(";")[2] if ";" in value else value
    return normalize_email(address.strip().strip("<>").strip())
