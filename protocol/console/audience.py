"""Lists, their subscribers (search, one subscriber's history) and CSV imports.

Imports are import jobs (engine/audience/import_jobs.py, the service of Subscribers.Import): the upload is
stored, a file of at most SYNC_BYTES is imported in the request, a larger one is left Queued for
`sendmill tick` / `sendmill worker`. The job's page shows its figures in a progress element that the
console's script refreshes from the job's progress.json until the job is Completed or Failed.
"""
from __future__ import annotations

from flask import jsonify, request

from engine.audience.import_jobs import SYNC_BYTES
from engine.audience.import_runner import job_report
from engine.audience.import_uploads import JobOptions
from engine.audience.lists import ListQuery
from engine.audience.subscriber_search import SubscriberQuery
from engine.errors import DomainError
from protocol.console import bp
from protocol.console.web import back, page, render

SEGMENTS = ("All", "Active", "Unsubscribed", "Opt-In Pending", "Soft bounced", "Hard bounced", "Suppressed")
PAGE_SIZE = 50
HISTORY_ROWS = 200   # a subscriber page's history: the latest events (Subscriber.Get.Activity's service)
# Subscriber.Get.Activity's ActivityType as the history column says it.
HISTORY_LABELS = {"EmailSent": "sent", "AutoResponderSent": "autoresponder sent", "EmailOpen": "open",
                  "EmailClick": "click", "Unsubscription": "unsubscribe", "EmailBounce": "bounce",
                  "SpamComplaint": "complaint"}


@bp.get("/lists")
@page(commands=("Lists.Get",))
def lists(uow, actor):
    # Every list, archived ones too: the console has no other page where an archived list could be found.
    rows, total = uow.lists.search(actor, ListQuery(order_field="name", search=request.args.get("q") or None,
                                                    archived="all"))
    return render("console/lists.html", lists=rows, total=total, counts=uow.lists.counts([r.id for r in rows]),
                  keyword=request.args.get("q", ""))


@bp.post("/lists")
@page(commands=("List.Create",))
def create_list(uow, actor):
    name = request.form.get("name", "").strip()
    if not name:
        return back("Give the list a name.", "console.lists")
    created = uow.lists.create(actor, name[:255])
    return back(f"List “{created.name}” created.", "console.subscribers", list_id=created.id)


@bp.get("/lists/<int:list_id>")
@page(commands=("Subscribers.Get",))
def subscribers(uow, actor, list_id: int):
    list_row = uow.lists.get(actor, list_id)
    segment = request.args.get("segment", "All")
    segment = segment if segment in SEGMENTS else "All"
    keyword = request.args.get("q", "").strip()
    raw_page = request.args.get("page", "1")
    number = max(int(raw_page), 1) if raw_page.isdigit() and len(raw_page) < 7 else 1
    _, rows, total = uow.subscriber_search.search(actor, list_id, SubscriberQuery(
        segment=segment, keyword=keyword or None, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE))
    return render("console/subscribers.html", list_row=list_row, subscribers=rows, total=total, segment=segment,
                  segments=SEGMENTS, keyword=keyword, page_number=number,
                  pages=max((total - 1) // PAGE_SIZE + 1, 1))


@bp.get("/lists/<int:list_id>/subscribers/<int:subscriber_id>")
@page(commands=("Subscriber.Get",))
def subscriber(uow, actor, list_id: int, subscriber_id: int):
    list_row = uow.lists.get(actor, list_id)
    row, history = uow.subscriber_reports.activity(actor, list_id, subscriber_id, limit=HISTORY_ROWS)
    return render("console/subscriber.html", list_row=list_row, s=row, history=history, labels=HISTORY_LABELS)


@bp.get("/lists/<int:list_id>/import")
@page(commands=("Subscribers.Import",))
def import_form(uow, actor, list_id: int):
    return render("console/import.html", list_row=uow.lists.get(actor, list_id), report=None, error="")


@bp.post("/lists/<int:list_id>/import")
@page(commands=("Subscribers.Import",))
def import_csv(uow, actor, list_id: int):
    list_row = uow.lists.get(actor, list_id)
    upload = request.files.get("csv_file")
    if upload is None or not upload.filename:
        return render("console/import.html", http_status=400, list_row=list_row, report=None,
                      error="Choose a CSV file to import.")
    try:
        job = _import_job(uow, actor, list_id, upload.stream, request.form.get("update_existing") == "on")
    except DomainError as exc:
        uow.rollback()
        return render("console/import.html", http_status=400, list_row=list_row, report=None, error=exc.message)
    return _job_page(list_row, job)


@bp.get("/lists/<int:list_id>/imports/<int:job_id>")
@page(commands=("Subscribers.Import",))
def import_job(uow, actor, list_id: int, job_id: int):
    return _job_page(uow.lists.get(actor, list_id), uow.import_jobs.get(actor, job_id, list_id=list_id))


@bp.get("/lists/<int:list_id>/imports/<int:job_id>/progress.json")
@page(commands=("Subscribers.Import",))
def import_progress(uow, actor, list_id: int, job_id: int):
    job = uow.import_jobs.get(actor, job_id, list_id=list_id)
    return jsonify(status=job.status, total=job.total_rows, imported=job.imported, updated=job.updated,
                   duplicates=job.duplicates, failed=job.failed, error=job.error)


def _import_job(uow, actor, list_id: int, stream, update_existing: bool):
    """Store the upload as a job (the importer maps the header names itself); import a small file now."""
    job, _lines = uow.import_jobs.upload(actor, list_id, stream, JobOptions(update_existing=update_existing),
                                         mapped=True)
    if job.upload_bytes <= SYNC_BYTES:
        uow.import_jobs.run_now(job)
    return job


def _job_page(list_row, job):
    return render("console/import.html", list_row=list_row, report=job_report(job), job=job, error="")
