"""When a subscriber arriving at an action may take it: at once, or after a Wait / Debug pause, and
inside a Wait's delivery window (journey-actions.md "Delivery Window Behavior"). Pure, but for
journey_zone().

Windows are read on the account's clock: its TimeZone setting (as autoresponders and campaign schedules
read it; UTC when unset or unknown), so 09:00–17:00 stays 09:00–17:00 local across a DST change.
"""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone, tzinfo

from sqlalchemy import select

from engine.automation.journeys.actions import DAYS, WAIT_UNITS
from engine.automation.schedule import zone


def _parameters(action) -> dict:
    raw = action.parameters
    return json.loads(raw or "{}") if isinstance(raw, str) else raw


def arrival_due(action, now: datetime) -> datetime:
    """When a subscriber reaching `action` now becomes due to take it."""
    if action is None or not action.published:
        return now
    p = _parameters(action)
    if action.action == "Wait":
        return now + timedelta(seconds=int(p.get("WaitAmount", 0)) * WAIT_UNITS[p.get("WaitUnit", "days")])
    if action.action == "Debug":
        return now + timedelta(seconds=int(p.get("SleepSeconds", 0)))
    return now


def journey_zone(session, journey_id: int) -> tzinfo:
    """The time zone of the journey's owner (one indexed read)."""
    from engine.models import Journey, User

    return zone(session.scalar(select(User.time_zone).join(Journey, Journey.owner_user_id == User.id)
                               .where(Journey.id == journey_id)))


def window_start(parameters: dict, now: datetime, tz: tzinfo = timezone.utc) -> datetime:
    """`now` when it lies inside the Wait's delivery window (or there is none), else the next opening;
    the window's days and hours are read on the clock of `tz`."""
    if not parameters.get("TimeConstraintEnabled"):
        return now
    allowed = set(parameters.get("AllowedDays") or DAYS)
    opens = time.fromisoformat(parameters.get("DontSendBefore", "09:00"))
    closes = time.fromisoformat(parameters.get("DontSendAfter", "19:00"))
    local = now.astimezone(tz)
    for offset in range(8):
        candidate_day = (local + timedelta(days=offset)).date()
        if DAYS[candidate_day.weekday()] not in allowed:
            continue
        start = datetime.combine(candidate_day, opens, tzinfo=tz).astimezone(now.tzinfo)
        end = datetime.combine(candidate_day, closes, tzinfo=tz).astimezone(now.tzinfo) + timedelta(seconds=59)
        if offset == 0:
            if now < start:
                return start
            if now <= end:
                return now
            continue
        return start
    return now  # AllowedDays is never empty when saved; unreachable
