"""Journey.Export.Submit / Get: a CSV of the owner's journeys with their figures (journeys.md).

Submit records a Pending job; the tick (scheduler/journeys.py) makes the CSV: Processing, then Completed
(or Failed with the reason). ExpiresAt is advisory (seven days), as the page says of Octeth's.

The page lists no columns. Each journey's line, and with IncludeActions each SendEmail action's line, has
the ledger's figures over the window's local days (engagement.py: rows due in the window, not skipped):
sends, deliveries, unique and total opens and clicks, bounces, opt-outs, complaints, and the latest open
and click of its messages (LastOpenAt / LastClickAt, "Y-m-d H:i:s" UTC)."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

from sqlalchemy import select, update

from engine.automation.journeys import engagement as E
from engine.automation.journeys.days import local_days, owner_zone
from engine.errors import NotFound
from engine.models import Email, Journey, JourneyAction, JourneyExport

EXPIRY = timedelta(days=7)
BATCH = 500   # journeys per keyset batch
# CSV column → the ledger figure (engagement.py) it sums over the window's rows.
FIGURE_COLUMNS = {"SendCount": "Sent", "DeliveryCount": "Delivered", "OpenCount": "Opened", "ClickCount": "Clicked",
                  "TotalOpenCount": "TotalOpens", "TotalClickCount": "TotalClicks", "BounceCount": "Bounced",
                  "UnsubscribeCount": "Unsubscribed", "SpamComplaintCount": "Complained"}
COLUMNS = ("JourneyID", "JourneyName", "Status", "Trigger", "ActionID", "EmailName", "ActiveSubscribers",
           "TotalSubscribers", *FIGURE_COLUMNS, "LastOpenAt", "LastClickAt")


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
    """The journeys in keyset batches of BATCH (id > the last one, by id): each batch costs a fixed number
    of grouped statements (enrollment counts, the ledger's figures per (journey, action), the SendEmail
    actions, their emails), never one per journey, and the window is the owner's local days."""
    options = json.loads(job.options)
    days = local_days(date.fromisoformat(options["StatsStartDate"]), date.fromisoformat(options["StatsEndDate"]),
                      owner_zone(uow.session, job.owner_user_id))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    after = 0
    while True:
        query = (select(Journey).where(Journey.owner_user_id == job.owner_user_id, Journey.id > after)
                 .order_by(Journey.id).limit(BATCH))
        if options["Status"] != "all":
            query = query.where(Journey.status == options["Status"])
        journeys = list(uow.session.scalars(query))
        if not journeys:
            break
        _write_batch(uow, writer, journeys, days, options["IncludeActions"])
        after = journeys[-1].id
    return out.getvalue()


def _write_batch(uow, writer, journeys: list[Journey], days, include_actions: bool) -> None:
    s = uow.session
    ids = [j.id for j in journeys]
    counts = uow.journeys.enrollment_counts(ids)
    figures = E.per_action(s, ids, days.since, days.until)
    by_journey: dict[int, list[dict]] = {}
    for (journey_id, _), f in figures.items():
        by_journey.setdefault(journey_id, []).append(f)
    actions: dict[int, list[JourneyAction]] = {}
    for action in s.scalars(select(JourneyAction).where(JourneyAction.journey_id.in_(ids),
                                                        JourneyAction.action == "SendEmail")
                            .order_by(JourneyAction.journey_id, JourneyAction.order_no, JourneyAction.id)):
        actions.setdefault(action.journey_id, []).append(action)
    email_ids = {_email_id(a) for listed in actions.values() for a in listed} - {0}
    names = dict(s.execute(select(Email.id, Email.email_name).where(Email.id.in_(email_ids))).all()) \
        if email_ids else {}
    for journey in journeys:
        head = [journey.id, _safe(journey.name), journey.status, journey.trigger]
        rows = [(a, figures.get((journey.id, a.id), E.EMPTY)) for a in actions.get(journey.id, [])]
        # Rows of actions deleted since they mailed still count in the journey's line.
        writer.writerow([*head, "", "", *counts[journey.id], *_figure_cells(by_journey.get(journey.id, []))])
        if include_actions:
            for action, f in rows:
                writer.writerow([*head, action.id, _safe(names.get(_email_id(action), "")), "", "",
                                 *_figure_cells([f])])


def _figure_cells(rows: list[dict]) -> list:
    def latest(key):
        moments = [r[key] for r in rows if r.get(key)]
        return max(moments).strftime("%Y-%m-%d %H:%M:%S") if moments else ""

    return [*(sum(r[name] for r in rows) for name in FIGURE_COLUMNS.values()),
            latest("LastOpenedAt"), latest("LastClickedAt")]


def _email_id(action: JourneyAction) -> int:
    try:
        return int(json.loads(action.parameters or "{}").get("EmailID") or 0)
    except (ValueError, TypeError, AttributeError):
        return 0


def _safe(text: str) -> str:
    """No spreadsheet formula injection: a cell starting with = + - @ is read as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
