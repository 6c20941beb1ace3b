"""How often a credential's use is written (README "Performance").

A session's use slides its expiry; an API key's use is counted (RequestCount, LastUsedAt, LastUsedIP). Both
were written on every call, so every call was a write transaction and the concurrent calls of one
integration queued on its key's row. Now a session's expiry is rewritten only when its last recorded use is
at least TOUCH_INTERVAL old (an expired session is still refused: expiry is checked on every call against
the stored value, which is never more than TOUCH_INTERVAL short of the sliding one). A key's uses are counted
in the process that answered them and added to its row when the row's recorded use is TOUCH_INTERVAL old, or
when the keys are listed; every use is counted, a worker's last minute of them may just be written late.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionUse:
    session_id: int
    user_id: int | None
    at: datetime


@dataclass(frozen=True)
class KeyUse:
    key_id: int
    at: datetime
    ip: str
    due: bool  # the row's recorded use is TOUCH_INTERVAL old (or none): write the counted uses now


def due(last_recorded: datetime | None, now: datetime) -> bool:
    return last_recorded is None or now - last_recorded >= TOUCH_INTERVAL


class KeyUseCounter:
    """The API-key uses one process has answered and not written yet: per key, the count and the latest
    time and address. One per Engine, shared by its request threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[int, datetime, str]] = {}

    def add(self, use: KeyUse) -> None:
        with self._lock:
            count = self._pending.get(use.key_id, (0, use.at, use.ip))[0]
            self._pending[use.key_id] = (count + 1, use.at, use.ip)

    def take(self, key_ids=None) -> dict[int, tuple[int, datetime, str]]:
        """Remove and answer the pending uses of `key_ids` (all keys when None)."""
        with self._lock:
            ids = list(self._pending) if key_ids is None else [k for k in key_ids if k in self._pending]
            return {key_id: self._pending.pop(key_id) for key_id in ids}
