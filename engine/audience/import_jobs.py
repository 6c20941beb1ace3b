"""Subscriber imports as jobs: the upload is stored, the rows are written later in bounded batches.

A request only stores the upload (engine/models/imports.py) and reads its header row, so it answers in
well under a second whatever the file size. Small files (at most `sync_rows` lines) are then imported in
the same request, the way legacy clients expect an answer with the totals; larger ones are left Queued
for `run_import_jobs()`, which `sendmill tick` and `sendmill worker` call.

Exactly once, also after a crash. A runner takes a job by compare-and-set on its lease
(`lease_until`), then writes one batch (ImportOptions.batch_size rows) per transaction: the
subscribers, and the job's cursor (records of the file handled) and counters in the same commit, the
cursor itself by compare-and-set. A runner killed mid-batch loses only that uncommitted batch; once its
lease expires another runner re-reads the upload, skips the `cursor` records already handled and goes on.
"""
from __future__ import annotations

import io
import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from engine.accounts.auth import Actor
from engine.audience.csv_records import CsvRecords
from engine.audience.import_hooks import subscribed_by_import
from engine.audience.importer import ImportOptions, ImportReport, RowFailure, SubscriberImporter, _dialect, read_header
from engine.errors import ImportAlreadyProcessed, ImportJobNotFound, UploadTooLarge
from engine.models import SubscriberList
from engine.models.imports import UPLOAD_CHUNK_BYTES, ImportJob, ImportUploadChunk

log = logging.getLogger("sendmill.imports")

# The largest upload stored (README "Imports"): above it the request is refused, nothing is kept.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# Subscribers.Import imports an upload of at most this size in the request (legacy clients read the
# totals from its answer; 64 KB is about a thousand rows, well under a second); larger ones are queued.
SYNC_BYTES = 64 * 1024
# subscribers.import.post imports files of at most this many rows in the request ("ImportType": "sync"),
# as Octeth does since 5.9.3.
SYNC_ROWS = 50
# A runner that stops renewing its lease (killed) loses the job to another after this long.
LEASE = timedelta(minutes=5)
NO_SYNC = {"synchronize_session": False}


@dataclass
class JobOptions:
    """What a job needs to run besides its upload, stored as JSON on the job."""

    mapping: dict | list | None = None
    update_existing: bool = False
    delimiter: str = ","
    quotechar: str = '"'
    tags: tuple[str, ...] = ()        # put on every imported row (subscribers.import.post)
    trigger_actions: bool = True      # subscribers.import.post's TriggerActions, for the autoresponder hook

    def importer_options(self, batch_size: int = 1000) -> ImportOptions:
        return ImportOptions(mapping=self.mapping, update_existing=self.update_existing, delimiter=self.delimiter,
                             quotechar=self.quotechar, batch_size=batch_size)

    @classmethod
    def load(cls, text: str) -> "JobOptions":
        data = json.loads(text or "{}")
        data["tags"] = tuple(data.get("tags", ()))
        return cls(**data)


class UploadReader:
    """The stored upload as a binary stream, one chunk in memory at a time."""

    def __init__(self, session, job_id: int):
        self.s, self.job_id, self.seq, self.buffer = session, job_id, 0, b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buffer) < n:
            chunk = self.s.scalar(select(ImportUploadChunk.data).where(
                ImportUploadChunk.job_id == self.job_id, ImportUploadChunk.seq == self.seq))
            if chunk is None:
                break
            self.buffer += chunk
            self.seq += 1
        if n < 0:
            n = len(self.buffer)
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data


class ImportJobs:
    """Creating, mapping, reading and (for small files) running import jobs, for the commands."""

    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def upload(self, actor: Actor, list_id: int, source, options: JobOptions, *, mapped: bool) -> tuple[ImportJob, int]:
        """Store `source` (CSV text or a binary stream) as a job of the list; (job, lines in the file).
        `mapped`: the options carry the final mapping (checked now, the job is Queued); otherwise the
        job waits for it as Pending. File-wide problems raise before anything is stored."""
        list_row = self.uow.lists.get(actor, list_id)
        job = ImportJob(owner_user_id=list_row.owner_user_id, list_id=list_row.id,
                        status="Queued" if mapped else "Pending", options=json.dumps(asdict(options)),
                        created_at=self.uow.clock())
        self.s.add(job)
        self.s.flush()
        size, lines = self._store(job.id, source)
        job.upload_bytes = size
        header = self._header(job, options)
        job.header = json.dumps(header)
        if mapped:
            self._check_mapping(job, list_row, options)
        return job, lines

    def map_fields(self, actor: Actor, job_id: int, mapping, options: JobOptions | None = None) -> ImportJob:
        """Step 2 of the legacy import: the mapping of a Pending job; the job becomes Queued."""
        job = self._owned(actor, job_id)
        if job.status != "Pending":
            raise ImportAlreadyProcessed()
        stored = JobOptions.load(job.options)
        stored.mapping = mapping
        if options is not None:
            stored.update_existing = options.update_existing
        self._check_mapping(job, self.s.get(SubscriberList, job.list_id), stored)
        # Compare-and-set: of two step-2 calls for the same upload, one starts it.
        moved = self.s.execute(update(ImportJob).where(ImportJob.id == job.id, ImportJob.status == "Pending")
                               .values(status="Queued", options=json.dumps(asdict(stored))).execution_options(**NO_SYNC))
        if moved.rowcount != 1:
            raise ImportAlreadyProcessed()
        self.s.refresh(job)
        return job

    def get(self, actor: Actor, job_id: int, list_id: int | None = None) -> ImportJob:
        if list_id is not None:
            self.uow.lists.get(actor, list_id)
        job = self._owned(actor, job_id)
        if list_id is not None and job.list_id != list_id:
            raise ImportJobNotFound()
        return job

    def run_now(self, job: ImportJob) -> ImportJob:
        """Import a Queued job in this transaction (small files: the request answers with the totals)."""
        holder = f"request:{job.id}"
        if not claim(self.uow, job, holder, self.uow.clock()):
            raise ImportAlreadyProcessed()
        run_job(self.uow, job, holder=holder, deadline=None, commit=self.s.flush)
        self.s.refresh(job)
        return job

    def _owned(self, actor: Actor, job_id: int) -> ImportJob:
        job = self.s.get(ImportJob, job_id)
        if job is None or not (actor.is_admin or job.owner_user_id == actor.id):
            raise ImportJobNotFound()
        return job

    def _store(self, job_id: int, source) -> tuple[int, int]:
        """Write the upload in chunks; (bytes, lines). UploadTooLarge past MAX_UPLOAD_BYTES (the
        transaction is then rolled back by the caller: nothing is kept)."""
        if isinstance(source, str):
            source = _BytesSource(source.encode("utf-8"))
        size = lines = seq = 0
        last = b""
        while True:
            chunk = source.read(UPLOAD_CHUNK_BYTES)
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise UploadTooLarge(f"the file is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; split it, or "
                                     "import it with `sendmill import` on the server")
            lines += chunk.count(b"\n")
            last = chunk[-1:]
            self.s.execute(ImportUploadChunk.__table__.insert(), [{"job_id": job_id, "seq": seq, "data": chunk}])
            seq += 1
        return size, lines + (1 if last not in (b"", b"\n") else 0)

    def _header(self, job: ImportJob, options: JobOptions) -> list[str]:
        stream = io.TextIOWrapper(io.BufferedReader(_Raw(UploadReader(self.s, job.id))), encoding="utf-8-sig",
                                  errors="replace", newline="")
        return read_header(CsvRecords(stream, _dialect(options.importer_options())))

    def _check_mapping(self, job: ImportJob, list_row, options: JobOptions) -> None:
        SubscriberImporter(self.uow).open(list_row, _Raw(UploadReader(self.s, job.id)), options.importer_options())


def job_report(job: ImportJob) -> ImportReport:
    """The report a job stored (for the answers and for resuming)."""
    failures = [RowFailure(row, email, reason) for row, email, reason in json.loads(job.failures or "[]")]
    return ImportReport(total_rows=job.total_rows, imported=job.imported, updated=job.updated,
                        duplicates=job.duplicates, failed=job.failed, failures=failures)


def run_job(uow, job: ImportJob, *, holder: str, deadline: float | None, commit, batch_size: int = 1000) -> bool:
    """Write the job's remaining rows, one committed batch at a time, until done or past `deadline`
    (uow.timer seconds). Answers whether the job is finished (Completed or Failed)."""
    from engine.errors import DomainError

    s = uow.session
    job_id, cursor = job.id, job.cursor
    options = JobOptions.load(job.options)
    list_row = s.get(SubscriberList, job.list_id)
    report = job_report(job)
    try:
        importing = SubscriberImporter(uow).open(
            list_row, _Raw(UploadReader(s, job_id)), options.importer_options(batch_size),
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
        subscribed_by_import(uow, list_row, created, trigger_actions=options.trigger_actions)
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


class _BytesSource:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def read(self, n: int) -> bytes:
        chunk = self.data[self.at:self.at + n]
        self.at += len(chunk)
        return chunk


class _Raw(io.RawIOBase):
    """The stored upload as a raw binary stream (what io.BufferedReader and the importer read)."""

    def __init__(self, reader: UploadReader):
        self.reader = reader

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.reader.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)
