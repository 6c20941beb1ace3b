"""Inbound bounces and complaints: what a returned message says happened, and to whom.

Parsing is pure: no database, no network. `parse(raw, recipients=..., decode_verp=...)` turns one
received message into `BounceEvent`s and `ComplaintEvent`s, and into `[]` for everything else
(delay warnings, success notices, auto-replies, spam, garbage). It never raises on bad input.

Formats, most structured first:
* DSN, RFC 3464, and ARF, RFC 5965 (multipart/report): engine/bounces/reports.py.
* Anything else whose From is a mailer daemon or whose Subject reads like a bounce: the notice
  text, engine/bounces/notices.py.

Which recipient an event is about (`matched_by`: token, message-id or address) is decided in
engine/bounces/origin.py; hard or soft in engine/bounces/classification.py.

Receiving (the one part here that touches the database): engine/bounces/inbound.py, an SMTP listener
for bounce+… / unsubscribe+… addresses and the same message read from an MTA pipe, recorded through
engine/tracking/activity.py.
"""
from __future__ import annotations

from email.message import Message
from typing import Iterable, Optional

from engine.bounces.events import Event
from engine.bounces.mime import field_blocks, load_message
from engine.bounces.notices import notice_events
from engine.bounces.origin import DecodeVerp
from engine.bounces.reports import arf_events, dsn_events, report_part

__all__ = ["parse"]


def parse(raw: bytes | str | Message, *, recipients: Iterable[str] = (),
          decode_verp: Optional[DecodeVerp] = None) -> list[Event]:
    """The bounce and complaint events in one received message; [] when it carries none we can read.

    `recipients` are the SMTP envelope recipients (RCPT TO), where the VERP token is.
    `decode_verp(local_part)` returns the signed payload of `bounce+<token>`, or None (see `verp_decoder`).
    """
    msg = load_message(raw)
    if msg is None:
        return []
    recipients = [r for r in recipients if isinstance(r, str)]
    part = report_part(msg, ("message/delivery-status", "message/global-delivery-status"))
    if part is not None:
        blocks = field_blocks(part)
        # A readable report is authoritative, also when no recipient failed (all delayed or
        # delivered); an unreadable one falls through to the notice text.
        if any("action" in b or "final-recipient" in b for b in blocks):
            return dsn_events(msg, blocks, recipients, decode_verp)
    part = report_part(msg, ("message/feedback-report",))
    if part is not None:
        return arf_events(msg, part, recipients, decode_verp)
    return notice_events(msg, recipients, decode_verp)
