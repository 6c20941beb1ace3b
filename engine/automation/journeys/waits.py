"""When a subscriber arriving at an action may take it: at once, or after a Wait / Debug pause, and
inside a Wait's delivery window (journey-actions.md "Delivery Window Behavior"). Pure.

Windows are read in UTC: Sendmill's users carry no time zone of their own (README "Journeys").
"""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from engine.automation.journeys.actions import DAYS, WAIT_UNITS


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


def window_start(parameters: dict, now: datetime) -> datetime:
    """`now` when it lies inside the Wait's delivery window (or there is none), else the next opening."""
    if not parameters.get("TimeConstraintEnabled"):
        return now
    allowed = set(parameters.get("AllowedDays") or DAYS)
    opens = time.fromisoformat(parameters.get("DontSendBefore", "09:00"))
    closes = time.fromisoformat(parameters.get("DontSendAfter", "19:00"))
    day = now
    for offset in range(8):
        candidate_day = (now + timedelta(days=offset)).date()
        if DAYS[candidate_day.weekday()] not in allowed:
            continue
        start = datetime.combine(candidate_day, opens, tzinfo=now.tzinfo)
        end = datetime.combine(candidate_day, closes, tzinfo=now.tzinfo) + timedelta(seconds=59)
        if offset == 0:
            if now < start:
                return start
            if now <= end:
                return now
            continue
        return start
    return day  # AllowedDays is never empty when saved; unreachable
