"""Subscriber imports as jobs: the upload is stored, the rows are written later in bounded batches.

A request only stores the upload (engine/audience/import_uploads.py) and reads its header row, so it
answers in well under a second whatever the file size. Small files are then imported in the same
request (Subscribers.Import: at most SYNC_BYTES, the way legacy clients expect an answer with the
totals; subscribers.import.post: at most SYNC_ROWS rows); larger ones are left Queued for the runner
(engine/audience/import_runner.py), which `sendmill tick` and `sendmill worker` call.
"""
from __future__ import annotations

import io
import json
from dataclasses import asdict

from sqlalchemy import update

from engine.accounts.auth import Actor
from engine.audience.csv_records import CsvRecords
from engine.audience.import_runner import claim, run_job
from engine.audience.import_uploads import JobOptions, store_upload, upload_stream
from engine.audience.import_mapping import csv_dialect, read_header
from engine.audience.importer import SubscriberImporter
from engine.errors import ImportAlreadyProcessed, ImportJobNotFound
from engine.models import SubscriberList
from engine.models.imports import ImportJob

# Subscribers.Import imports an upload of at most this size in the request (legacy clients read the
# totals from its answer; 64 KB is about a thousand rows, well under a second); larger ones are queued.
SYNC_BYTES = 64 * 1024
# subscribers.import.post imports files of at most this many rows in the request ("ImportType": "sync"),
# as Octeth does since 5.9.3.
SYNC_ROWS = 50
NO_SYNC = {"synchronize_session": False}


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
        size, lines = store_upload(self.s, job.id, source)
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

    def _header(self, job: ImportJob, options: JobOptions) -> list[str]:
        stream = io.TextIOWrapper(io.BufferedReader(upload_stream(self.s, job.id)), encoding="utf-8-sig",
                                  errors="replace", newline="")
        return read_header(CsvRecords(stream, csv_dialect(options.importer_options())))

    def _check_mapping(self, job: ImportJob, list_row, options: JobOptions) -> None:
        SubscriberImporter(self.uow).open(list_row, upload_stream(self.s, job.id), options.importer_options())
