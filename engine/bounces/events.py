"""What a returned message says happened, and to whom: the events the bounce parser yields
(engine/bounces.py) and engine/tracking/activity.py records."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_DIAGNOSTIC = 1000   # characters of the remote server's words an event keeps


@dataclass(frozen=True, kw_only=True)
class _Event:
    email: str | None             # normalised address the report names (None when it names none)
    token: Any = None             # decode_verp's payload: signed proof of (instance, subscriber)
    message_id: str | None = None  # Message-ID of the original message, as we sent it
    message_ref: tuple[int, int] | None = None   # (instance_id, subscriber_id) from it: unsigned
    campaign_id: int | None = None  # X-Sendmill-Campaign of the original: unsigned
    matched_by: str = "address"    # token | message-id | address (see engine/bounces/origin.py)
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
