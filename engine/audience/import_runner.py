"""Running import jobs: `run_import_jobs()` for the tick and the worker, `run_job()` for one job.

Exactly once, also after a crash. A runner takes a job by compare-and-set on its lease
(`lease_until`), then writes one batch (ImportOptions.batch_size rows) per transaction: the
subscribers, and the job's cursor (records of the file handled) and counters in the same commit, the
cursor itself by compare-and-set. A runner killed mid-batch loses only that uncommitted batch; once its
lease expires another runner re-reads the upload, skips the `cursor` records already handled and goes
on. After every batch, engine/audience/import_hooks.py hears which subscribers became Subscribed.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from engine.audience import import_hooks
from engine.audience.import_uploads import JobOptions, upload_stream
from engine.audience.importer import ImportReport, RowFailure, SubscriberImporter
from engine.errors import DomainError
from engine.models import SubscriberList
from engine.models.imports import ImportJob, ImportUploadChunk

log = logging.getLogger("sendmill.imports")

# A runner that stops renewing its lease (killed) loses the job to another after this long.
LEASE = timedelta(minutes=5)
# A step-1 upload whose step 2 never came is discarded after this long (the job says so).
PENDING_KEPT = timedelta(days=7)
NO_SYNC = {"synchronize_session": False}


def job_report(job: ImportJob) -> ImportReport:
    """The report a job stored (for the answers and for resuming)."""
    failures = [RowFailure(row, email, reason) for row, email, reason in json.loads(job.failures or "[]")]
    return ImportReport(total_rows=job.total_rows, imported=job.imported, updated=job.updated,
                        duplicates=job.duplicates, failed=job.failed, failures=failures)


def run_job(uow, job: ImportJob, *, holder: str, deadline: float | None, commit, batch_size: int = 1000) -> bool:
    """Write the job's remaining rows, one committed batch at a time, until done or past `deadline`
    (uow.timer seconds). Answers whether the job is finished (Completed or Failed)."""
    s = uow.session
    job_id, cursor = job.id, job.cursor
    options = JobOptions.load(job.options)
    list_row = s.get(SubscriberList, job.list_id)
    if list_row is None:   # the list (and with it the job) was deleted meanwhile
        return True
    report = job_report(job)
    try:
        importing = SubscriberImporter(uow).open(
            list_row, upload_stream(s, job_id), options.importer_options(batch_size),
            watermark=job.watermark if cursor else None, report=report, extra_tags=options.tags)
    except DomainError as exc:   # the file or the mapping no longer fits the list (a field was deleted)
        _finish(uow, job_id, holder, "Failed", error=exc.message)
        commit()
        return True
    watermark = importing.watermark
    for created in importing.batches(skip=cursor):
        # The cursor moves by compare-and-set in the batch's own transaction: a runner whose lease was
        # taken over finds it moved, and its batch is rolled back instead of written twice.
        moved = s.execute(update(ImportJob).where(
            ImportJob.id == job_id, ImportJob.cursor == cursor, ImportJob.lease_holder == holder,
            ImportJob.status == "Importing").values(
            cursor=importing.consumed, watermark=watermark, **_counters(report),
            lease_until=uow.clock() + LEASE).execution_options(**NO_SYNC))
        if moved.rowcount != 1:
            uow.rollback()
            log.warning("import job %s: taken over by another runner; batch rolled back", job_id)
            return False
        cursor = importing.consumed
        import_hooks.subscribed_by_import(uow, list_row, created, trigger_actions=options.trigger_actions)
        commit()
        if deadline is not None and uow.timer() >= deadline:
            break
    else:
        _finish(uow, job_id, holder, "Completed")
        commit()
        return True
    s.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.lease_holder == holder)
              .values(lease_holder="", lease_until=None).execution_options(**NO_SYNC))
    commit()
    return False


def _counters(report: ImportReport) -> dict:
    return {"total_rows": report.total_rows, "imported": report.imported, "updated": report.updated,
            "duplicates": report.duplicates, "failed": report.failed,
            "failures": json.dumps([[f.row, f.email, f.reason] for f in report.failures])}


def _finish(uow, job_id: int, holder: str, status: str, error: str = "") -> None:
    s = uow.session
    s.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.lease_holder == holder).values(
        status=status, error=error, finished_at=uow.clock(), lease_holder="", lease_until=None)
        .execution_options(**NO_SYNC))
    # The upload has served its purpose; the job keeps its report.
    s.execute(delete(ImportUploadChunk).where(ImportUploadChunk.job_id == job_id).execution_options(**NO_SYNC))


def claim(uow, job: ImportJob, holder: str, now: datetime) -> bool:
    """Take the job's lease by compare-and-set (Queued, or Importing with an expired lease)."""
    taken = uow.session.execute(update(ImportJob).where(
        ImportJob.id == job.id, ImportJob.status.in_(("Queued", "Importing")),
        or_(ImportJob.lease_until.is_(None), ImportJob.lease_until <= now)).values(
        status="Importing", lease_holder=holder, lease_until=now + LEASE).execution_options(**NO_SYNC))
    return taken.rowcount == 1


def discard_abandoned(engine) -> int:
    """Fail the step-1 uploads left Pending longer than PENDING_KEPT and delete their data; how many."""
    with engine.uow() as uow:
        now = uow.clock()
        old = select(ImportJob.id).where(ImportJob.status == "Pending", ImportJob.created_at < now - PENDING_KEPT)
        ids = list(uow.session.scalars(old.limit(1000)))
        if not ids:
            return 0
        uow.session.execute(update(ImportJob).where(ImportJob.id.in_(ids), ImportJob.status == "Pending").values(
            status="Failed", finished_at=now, error=f"step 2 (MappedFields) never came within "
                                                    f"{PENDING_KEPT.days} days; the upload was discarded")
            .execution_options(**NO_SYNC))
        uow.session.execute(delete(ImportUploadChunk).where(ImportUploadChunk.job_id.in_(ids))
                            .execution_options(**NO_SYNC))
        uow.commit()
        return len(ids)


@dataclass
class ImportRunSummary:
    jobs: int = 0
    finished: int = 0
    rows: int = 0

    def line(self) -> str:
        return f"imports: {self.jobs} job(s) worked on, {self.finished} finished, {self.rows} rows"


def run_import_jobs(engine, *, budget_seconds: float = 50.0, holder: str = "", batch_size: int = 1000) -> ImportRunSummary:
    """Work on waiting import jobs, oldest first, for up to `budget_seconds` (sendmill tick / worker)."""
    import os
    import socket
    import uuid

    holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:64]
    summary = ImportRunSummary()
    discard_abandoned(engine)
    deadline = engine.timer() + budget_seconds
    tried: set[int] = set()
    while engine.timer() < deadline:
        with engine.uow() as uow:
            now = uow.clock()
            job = uow.session.scalar(select(ImportJob).where(
                ImportJob.status.in_(("Queued", "Importing")), ImportJob.id.notin_(tried or {0}),
                or_(ImportJob.lease_until.is_(None), ImportJob.lease_until <= now)).order_by(ImportJob.id).limit(1))
            if job is None:
                break
            tried.add(job.id)
            if not claim(uow, job, holder, now):
                uow.rollback()
                continue
            uow.commit()
            uow.session.refresh(job)
            before = job.total_rows
            summary.jobs += 1
            finished = run_job(uow, job, holder=holder, deadline=deadline, commit=uow.commit, batch_size=batch_size)
            summary.finished += finished
            row = uow.session.get(ImportJob, job.id, populate_existing=True)
            summary.rows += (row.total_rows - before) if row is not None else 0
    return summary
