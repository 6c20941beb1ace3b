"""Which recipient a bounce or complaint is about, and through which evidence (`matched_by`).

Most trustworthy first:
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
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import Any, Callable, Iterable

from engine.bounces.mime import header_text, header_values
from engine.errors import BadToken
from engine.tracking.tokens import Kind, Signer
from engine.validation import normalize_email

DecodeVerp = Callable[[str], Any]   # local part -> token payload, or None when it is not ours

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


def find_token(addresses: Iterable[str], decode_verp: DecodeVerp | None):
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


@dataclass(frozen=True)
class Origin:
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


def origin_of(msg: Message, original: Message | None, recipients: Iterable[str], decode_verp: DecodeVerp | None,
              extra_addresses: Iterable[str] = ()) -> Origin:
    report_headers = [v for name in ("X-Original-To", "Delivered-To", "Envelope-To", "To")
                      for v in header_values(msg, name)]
    candidates = [*recipients, *(a for _, a in getaddresses(report_headers)), *extra_addresses]
    if original is not None:
        candidates += header_values(original, "Return-Path")
        candidates += _MAILTO.findall(" ".join(header_values(original, "List-Unsubscribe")))
    token = find_token(candidates, decode_verp)
    message_id = header_text(original, "Message-ID") or None
    campaign = header_text(original, "X-Sendmill-Campaign")
    to = parseaddr(header_text(original, "To"))[1] if original is not None else ""
    return Origin(token=token, message_id=message_id[:998] if message_id else None,
                  message_ref=message_ref(message_id),
                  campaign_id=int(campaign) if campaign.isdecimal() and len(campaign) < 19 else None,
                  to=normalize_email(to), report_id=header_text(msg, "Message-ID") or None)
