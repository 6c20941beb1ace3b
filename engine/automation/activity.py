"""What an autoresponder sent: its ledger rows (AutoResponder.Activity.Get) and counters over a
rolling window (AutoResponder.Stats.Window.Get). Both read `autoresponder_sends` only, which the
sending side (enqueue.py, sending.py, tracking.py) writes.

A ledger row's activity status: pending → Pending, claimed → Sending, sent → Sent, and failed,
unknown (a crash after handing the message over) and skipped → Failed. The Status filter also knows
Delivered (sent, no bounce recorded) and Bounced (a bounce recorded). Windows and `Since` compare the
row's due time (the legacy TimeToSend), in UTC.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select

from engine.accounts.auth import Actor
from engine.models import AutoResponder, AutoResponderSend

FAILED_STATES = ("failed", "unknown", "skipped")
STATUS_OF_STATE = {"pending": "Pending", "claimed": "Sending", "sent": "Sent", **{s: "Failed" for s in FAILED_STATES}}
ACTIVITY_STATUSES = ("Pending", "Sending", "Sent", "Failed", "Delivered", "Bounced")
MAX_WINDOW_DAYS = 365


def status_of(row: AutoResponderSend) -> str:
    return STATUS_OF_STATE[row.state]


def _status_condition(status: str):
    s = AutoResponderSend
    return {
        "Pending": s.state == "pending", "Sending": s.state == "claimed", "Sent": s.state == "sent",
        "Failed": s.state.in_(FAILED_STATES), "Delivered": (s.state == "sent") & (s.bounce_type == ""),
        "Bounced": s.bounce_type != "",
    }[status]


@dataclass
class WindowStats:
    days: int
    start: date
    end: date
    counters: dict[str, int]       # domain names (see window_stats)
    last_sent_at: datetime | None
    next_scheduled_at: datetime | None


class AutoResponderActivity:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def activity(self, actor: Actor, responder_id: int, *, since: datetime | None = None, status: str | None = None,
                 offset: int = 0, limit: int = 50) -> tuple[list[AutoResponderSend], int]:
        """The autoresponder's ledger rows, newest due time first, and how many match."""
        responder = self.uow.autoresponders.get(actor, responder_id)
        query = select(AutoResponderSend).where(AutoResponderSend.autoresponder_id == responder.id)
        if since is not None:
            query = query.where(AutoResponderSend.due_at >= since)
        if status is not None:
            query = query.where(_status_condition(status))
        total = self.s.scalar(select(func.count()).select_from(query.subquery()))
        rows = self.s.scalars(query.order_by(AutoResponderSend.due_at.desc(), AutoResponderSend.id.desc())
                              .offset(offset).limit(limit))
        return list(rows), total

    def of_subscriber(self, subscriber_id: int, limit: int = 50) -> list[tuple[AutoResponderSend, str]]:
        """A subscriber row's autoresponder mail, newest due time first, with each autoresponder's name (for
        Subscriber.Get's SubscriberActivity; the caller has checked the subscriber is the actor's)."""
        rows = self.s.execute(select(AutoResponderSend, AutoResponder.name).join(
            AutoResponder, AutoResponder.id == AutoResponderSend.autoresponder_id).where(
            AutoResponderSend.subscriber_id == subscriber_id).order_by(
            AutoResponderSend.due_at.desc(), AutoResponderSend.id.desc()).limit(limit))
        return [(row, name) for row, name in rows]

    def window_stats(self, actor: Actor, responder_id: int, days: int = 30) -> WindowStats:
        """Counters of the rows due in the last `days` days (1–365), the last send and the next one due."""
        if not 1 <= days <= MAX_WINDOW_DAYS:
            raise ValueError(f"days must be 1 to {MAX_WINDOW_DAYS}")
        responder = self.uow.autoresponders.get(actor, responder_id)
        now = self.uow.clock()
        s = AutoResponderSend
        mine = s.autoresponder_id == responder.id

        def count(condition):
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        row = self.s.execute(select(
            count(s.state == "sent"), count((s.state == "sent") & (s.bounce_type == "")),
            count(s.state.in_(FAILED_STATES)), func.coalesce(func.sum(s.opens), 0), count(s.opens > 0),
            func.coalesce(func.sum(s.clicks), 0), count(s.clicks > 0), count(s.unsubscribed_at.isnot(None)),
            count(s.bounce_type == "Hard"), count(s.bounce_type == "Soft"),
        ).where(mine, s.due_at > now - timedelta(days=days), s.due_at <= now)).one()
        names = ("total_sent", "total_delivered", "total_failed", "total_opens", "unique_opens", "total_clicks",
                 "unique_clicks", "total_unsubscriptions", "total_hard_bounces", "total_soft_bounces")
        last_sent = self.s.scalar(select(func.max(s.sent_at)).where(mine))
        next_due = self.s.scalar(select(func.min(s.due_at)).where(mine, s.state == "pending"))
        return WindowStats(days, (now - timedelta(days=days)).date(), now.date(),
                           {name: int(value) for name, value in zip(names, row)}, last_sent, next_due)

