"""How import jobs look on the wire: Subscribers.Import's step-1 and queued answers, and the
ImportJob of Subscribers.Import.Get."""
from __future__ import annotations

import json

from engine.audience.import_runner import job_report
from engine.models.imports import ImportJob
from protocol.views.subscribers import import_report


def _stamp(moment) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else None


def import_fields(job: ImportJob) -> dict:
    """Step 1's answer: the job and its columns as FIELD1, FIELD2, … (the keys step 2 maps)."""
    columns = json.loads(job.header or "[]")
    return {"ImportID": job.id, "ImportFields": [{f"FIELD{i}": name for i, name in enumerate(columns, 1)}]}


def queued_report(job: ImportJob) -> dict:
    """Subscribers.Import's answer for a file imported in the background: no totals yet."""
    return {"ImportID": job.id, "ImportStatus": job.status, "TotalData": 0, "TotalImported": 0,
            "TotalUpdated": 0, "TotalDuplicates": 0, "TotalFailed": 0, "FailedData": []}


def import_job(job: ImportJob) -> dict:
    """Subscribers.Import.Get's ImportJob: status, progress and the per-row report."""
    report = import_report(job_report(job))
    return {"ImportJob": {
        "ImportID": job.id, "ListID": job.list_id, "ImportDate": _stamp(job.created_at),
        "FinishedAt": _stamp(job.finished_at), "ImportStatus": job.status,
        "FailedData": report["FailedData"] or "", "TotalSubscribers": job.total_rows,
        "TotalImported": job.imported, "TotalUpdated": job.updated, "TotalDuplicates": job.duplicates,
        "TotalFailed": job.failed, "UploadBytes": job.upload_bytes, "ErrorText": job.error,
    }}
