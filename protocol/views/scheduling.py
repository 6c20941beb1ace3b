"""How schedule previews and the modern scheduling operations answer on the wire."""
from __future__ import annotations

from datetime import datetime, timezone, tzinfo

from engine.models import Campaign

LEGACY_FORMAT = "%Y-%m-%d %H:%M:%S"  # the legacy API's date-time format


def next_runs(zone_name: str, zone: tzinfo, runs: list[datetime]) -> dict:
    return {
        "TimeZone": zone_name,
        "NextRuns": [{"Local": run.astimezone(zone).strftime(LEGACY_FORMAT),
                      "UTC": run.astimezone(timezone.utc).strftime(LEGACY_FORMAT)} for run in runs],
    }


def schedule_state(c: Campaign) -> dict:
    """The campaign's status and schedule after a publish / reschedule / pause-scheduling."""
    return {
        "CampaignStatus": c.status,
        "ScheduleType": c.schedule_type,
        "SendDate": c.send_date.isoformat() if c.send_date else "",
        "SendTime": c.send_time or "",
        "SendTimeZone": c.send_timezone or "",
    }
