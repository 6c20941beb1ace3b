"""Journey.Export.Submit / Get: a CSV of the owner's journeys with their figures (journeys.md).

Submit records a Pending job; the tick (scheduler/journeys.py) makes the CSV: Processing, then Completed
(or Failed with the reason). ExpiresAt is advisory (seven days), as the page says of Octeth's."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select, update

from engine.errors import NotFound
from engine.models import Journey, JourneyExport

EXPIRY = timedelta(days=7)
COLUMNS = ("JourneyID", "JourneyName", "Status", "Trigger", "ActionID", "EmailName", "ActiveSubscribers",
           "TotalSubscribers", "SendCount", "DeliveryCount")


class ExportNotFound(NotFound):
    """Export job not found"""


def submit(uow, actor, start: date, end: date, status: str, include_actions: bool) -> JourneyExport:
    now = uow.clock()
    job = JourneyExport(owner_user_id=actor.id, status="Pending", content="", error="", submitted_at=now,
                        updated_at=now, expires_at=now + EXPIRY, download_size=0,
                        options=json.dumps({"Command": "ExportJourneys", "StatsStartDate": start.isoformat(),
                                            "StatsEndDate": end.isoformat(), "Status": status,
                                            "IncludeActions": include_actions}))
    uow.session.add(job)
    uow.session.flush()
    return job


def get(uow, actor, export_id: int) -> JourneyExport:
    job = uow.session.get(JourneyExport, export_id)
    if job is None or job.owner_user_id != actor.id:
        raise ExportNotFound()
    return job


def process_pending(uow, limit: int = 20) -> int:
    """Make the CSV of up to `limit` Pending jobs, oldest first; each is taken by compare-and-set."""
    done = 0
    for job_id in list(uow.session.scalars(select(JourneyExport.id).where(JourneyExport.status == "Pending")
                                           .order_by(JourneyExport.id).limit(limit))):
        now = uow.clock()
        taken = uow.session.execute(update(JourneyExport).where(JourneyExport.id == job_id,
                                                                JourneyExport.status == "Pending")
                                    .values(status="Processing", started_at=now, updated_at=now)
                                    .execution_options(synchronize_session=False)).rowcount
        if not taken:
            continue
        job = uow.session.get(JourneyExport, job_id)
        uow.session.refresh(job)
        job.content = _csv(uow, job)
        job.status, job.finished_at, job.updated_at = "Completed", now, now
        job.download_size = len(job.content.encode("utf-8"))
        uow.commit()
        done += 1
    return done


def _csv(uow, job: JourneyExport) -> str:
    options = json.loads(job.options)
    start = datetime.combine(date.fromisoformat(options["StatsStartDate"]), time(), tzinfo=timezone.utc)
    end = datetime.combine(date.fromisoformat(options["StatsEndDate"]) + timedelta(days=1), time(), tzinfo=timezone.utc)
    query = select(Journey).where(Journey.owner_user_id == job.owner_user_id).order_by(Journey.id)
    if options["Status"] != "all":
        query = query.where(Journey.status == options["Status"])
    journeys = list(uow.session.scalars(query))
    counts = uow.journeys.enrollment_counts([j.id for j in journeys])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for journey in journeys:
        rows = _action_rows(uow, journey, start, end)
        sent = sum(r["SendCount"] for r in rows)
        delivered = sum(r["DeliveryCount"] for r in rows)
        writer.writerow([journey.id, _safe(journey.name), journey.status, journey.trigger, "", "",
                         *counts[journey.id], sent, delivered])
        if options["IncludeActions"]:
            for r in rows:
                writer.writerow([journey.id, _safe(journey.name), journey.status, journey.trigger, r["ActionID"],
                                 _safe(r["EmailName"]), "", "", r["SendCount"], r["DeliveryCount"]])
    return out.getvalue()


def _action_rows(uow, journey: Journey, start: datetime, end: datetime) -> list[dict]:
    from engine.automation.journeys.stats import send_counts

    return send_counts(uow.session, journey, start, end)


def _safe(text: str) -> str:
    """No spreadsheet formula injection: a cell starting with = + - @ is read as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
