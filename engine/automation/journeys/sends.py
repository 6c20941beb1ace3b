"""The SendEmail ledger's side for a delivery worker (the seam README "Journeys" names).

A worker claims due `pending` rows by compare-and-set (a token of its own in `worker`, a lease), mails each
with the campaign rules (suppression, bounces, From policy: the existing delivery pipeline's), and settles
it `sent` or `failed` — only while it still holds the claim. A claim whose lease ran out may have been
mailed before the worker died: it becomes `unknown`, never `pending` again (at most once, as the campaign
ledger; README "Delivery"). Nothing here opens an SMTP connection."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update

from engine.models import JourneySend

SETTLED = ("sent", "failed")


def claim(session, now: datetime, limit: int, lease: timedelta, worker: str | None = None) -> list[JourneySend]:
    token = f"{worker or 'journey'}:{uuid.uuid4().hex[:16]}"[:128]
    due = select(JourneySend.id).where(JourneySend.state == "pending", JourneySend.due_at <= now).limit(limit)
    session.execute(update(JourneySend)
                    .where(JourneySend.id.in_(select(due.subquery().c.id)), JourneySend.state == "pending")
                    .values(state="claimed", worker=token, lease_until=now + lease, attempts=JourneySend.attempts + 1)
                    .execution_options(synchronize_session=False))
    return list(session.scalars(select(JourneySend).where(JourneySend.worker == token, JourneySend.state == "claimed")
                                .order_by(JourneySend.id)))


def settle(session, send: JourneySend, state: str, now: datetime, *, error: str = "", message_id: str = "") -> bool:
    """Record the outcome; False when the claim was lost meanwhile (the row is left as it is)."""
    if state not in SETTLED:
        raise ValueError(f"a send settles as one of {SETTLED}")
    return session.execute(update(JourneySend).where(
        JourneySend.id == send.id, JourneySend.worker == send.worker, JourneySend.state == "claimed")
        .values(state=state, last_error=error[:2000], message_id=message_id[:255],
                sent_at=now if state == "sent" else None, lease_until=None)
        .execution_options(synchronize_session=False)).rowcount == 1


def expire(session, now: datetime) -> int:
    """Claims whose lease ran out: `unknown` (they may have been mailed)."""
    return session.execute(update(JourneySend).where(JourneySend.state == "claimed", JourneySend.lease_until < now)
                           .values(state="unknown", lease_until=None)
                           .execution_options(synchronize_session=False)).rowcount
