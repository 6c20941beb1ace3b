"""The console's CSV import as import jobs: a small file is imported in the request, a larger one is left
Queued for the runner and its page follows the job through progress.json; owners and bad files."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from engine.audience.import_jobs import SYNC_BYTES
from engine.audience.import_runner import run_import_jobs
from engine.models import Subscriber
from engine.models.imports import ImportJob
from tests.builders import make_list
from tests.console_support import Console
from tests.helpers import stored_state


@pytest.fixture
def console(client):
    return Console(client)


def post_csv(console, list_id: int, body: bytes, **form):
    return console.post(f"/console/lists/{list_id}/import", data={"csv_file": (io.BytesIO(body), "people.csv"), **form},
                        content_type="multipart/form-data")


def big_csv(rows: int) -> bytes:
    body = ("Email\n" + "".join(f"person{i}@example.com\n" for i in range(rows))).encode()
    assert len(body) > SYNC_BYTES
    return body


def subscribers_of(engine, list_id: int) -> int:
    with engine.uow() as uow:
        return uow.session.scalar(select(func.count(Subscriber.id)).where(Subscriber.list_id == list_id))


def test_a_small_file_is_imported_in_the_request_as_a_completed_job(engine, console, user):
    list_id = make_list(engine, user)
    console.login(user.username, user.password)
    console.get(f"/console/lists/{list_id}/import")
    html = post_csv(console, list_id, b"Email\nann@example.com\nbob@example.com\n").get_data(as_text=True)
    assert 'data-import-status="Completed"' in html and 'id="import-progress" max="2" value="2"' in html
    assert subscribers_of(engine, list_id) == 2
    with engine.uow() as uow:
        job = uow.session.scalar(select(ImportJob).where(ImportJob.list_id == list_id))
        assert (job.status, job.imported) == ("Completed", 2)
        job_id = job.id
    assert console.client.get(f"/console/lists/{list_id}/imports/{job_id}/progress.json").get_json() == {
        "status": "Completed", "total": 2, "imported": 2, "updated": 0, "duplicates": 0, "failed": 0, "error": ""}


def test_a_large_file_is_queued_and_its_page_follows_the_job(engine, console, user):
    list_id = make_list(engine, user)
    console.login(user.username, user.password)
    console.get(f"/console/lists/{list_id}/import")
    answer = post_csv(console, list_id, big_csv(3_000))
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'data-import-status="Queued"' in html
    assert '<progress id="import-progress">' in html and subscribers_of(engine, list_id) == 0
    with engine.uow() as uow:
        job_id = uow.session.scalar(select(ImportJob.id).where(ImportJob.list_id == list_id))
    progress = f"/console/lists/{list_id}/imports/{job_id}/progress.json"
    assert console.client.get(progress).get_json()["status"] == "Queued"
    run_import_jobs(engine, holder="test")
    assert console.client.get(progress).get_json() == {
        "status": "Completed", "total": 3_000, "imported": 3_000, "updated": 0, "duplicates": 0, "failed": 0,
        "error": ""}
    page = console.text(f"/console/lists/{list_id}/imports/{job_id}")
    assert 'data-import-status="Completed"' in page and 'max="3000" value="3000"' in page
    assert subscribers_of(engine, list_id) == 3_000


def test_a_file_without_an_email_column_changes_nothing(engine, console, user):
    list_id = make_list(engine, user)
    console.login(user.username, user.password)
    console.get(f"/console/lists/{list_id}/import")
    before = stored_state(engine)
    answer = post_csv(console, list_id, b"Name\nAnn\n")
    assert answer.status_code == 400 and 'class="error"' in answer.get_data(as_text=True)
    assert stored_state(engine) == before


def test_another_accounts_import_job_is_404(engine, console, user, other_user):
    theirs = make_list(engine, other_user)
    mine = make_list(engine, user)
    console.login(other_user.username, other_user.password)
    console.get(f"/console/lists/{theirs}/import")
    post_csv(console, theirs, b"Email\nann@example.com\n")
    with engine.uow() as uow:
        job_id = uow.session.scalar(select(ImportJob.id).where(ImportJob.list_id == theirs))
    console.login(user.username, user.password)
    for path in (f"/console/lists/{theirs}/imports/{job_id}", f"/console/lists/{theirs}/imports/{job_id}/progress.json",
                 f"/console/lists/{mine}/imports/{job_id}", f"/console/lists/{mine}/imports/{job_id}/progress.json"):
        assert console.get(path).status_code == 404, path
