"""When journeys move: ScheduledPull pulls whose interval has passed (inside their time window), then one
runner pass over every due enrollment (engine/automation/journeys/runner.py), then the pending CSV exports.
Called by `sendmill tick`."""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone, tzinfo

from sqlalchemy import select

from engine.automation.journeys import exports
from engine.automation.journeys.pull import pull
from engine.automation.journeys.runner import PassSummary, run_pass
from engine.automation.journeys.triggers import DAYS, pull_interval_seconds
from engine.automation.schedule import zone
from engine.models import Journey, User


def pull_due(settings: dict, last_pull_at: datetime | None, now: datetime, tz: tzinfo = timezone.utc) -> bool:
    """Whether a ScheduledPull runs at `now`: its interval (floored at 60 s) has passed since the last pull,
    and, with TimeConstraintEnabled, `now` read on the account's clock (`tz`, its TimeZone setting) is on
    an allowed day between DontSendBefore and DontSendAfter (both minutes included)."""
    if last_pull_at is not None and now < last_pull_at + timedelta(seconds=pull_interval_seconds(settings)):
        return False
    if not settings.get("TimeConstraintEnabled"):
        return True
    local = now.astimezone(tz)
    allowed = settings.get("AllowedDays")
    if allowed is not None and DAYS[local.weekday()] not in allowed:
        return False
    clock = local.time().replace(second=0, microsecond=0, tzinfo=None)
    return time.fromisoformat(settings["DontSendBefore"]) <= clock <= time.fromisoformat(settings["DontSendAfter"])


def journeys_pass(engine, now: datetime | None = None, summary: PassSummary | None = None) -> tuple[int, PassSummary]:
    """(subscribers pulled, the runner's summary). When the pass raises, `summary` (if given) still counts the
    steps committed before the failure."""
    now = now or engine.clock()
    pulled = 0
    with engine.uow() as uow:
        journeys = list(uow.session.execute(
            select(Journey, User.time_zone).join(User, User.id == Journey.owner_user_id)
            .where(Journey.trigger == "ScheduledPull", Journey.status == "Enabled").order_by(Journey.id)))
        for journey, time_zone in journeys:
            if pull_due(json.loads(journey.trigger_parameters or "{}"), journey.last_pull_at, now, zone(time_zone)):
                pulled += pull(uow.session, journey, now)
        uow.commit()
    summary = run_pass(engine, now, workers=engine.settings.journey_workers, summary=summary)
    with engine.uow() as uow:
        exports.process_pending(uow)   # Journey.Export.Submit jobs, oldest first
    return pulled, summary
