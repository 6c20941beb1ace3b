"""Imports as background jobs: Subscribers.Import's two steps and its queued answer for large files,
subscribers.import.post / .get / .prepare (every code), and the runner that the tick and the worker
call: bounded batches, a durable cursor, resuming after a crash without duplicates."""
from __future__ import annotations

import json

import pytest

import engine.audience.import_hooks as import_hooks
import engine.audience.import_uploads as import_uploads
from engine.audience.import_runner import LEASE, claim, run_import_jobs, run_job
from engine.audience.import_uploads import JobOptions
from engine.models import ImportJob, ImportUploadChunk, Subscriber
from protocol.commands import import_jobs as modern
from protocol.commands import subscriber_import as legacy
from tests.builders import (
    CodeRecorder, assert_codes_reached, load_subscriber, make_custom_field, make_subscriber, user_actor,
)
from tests.helpers import stored_state

SEEN: dict = {}


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


def count(engine) -> int:
    with engine.uow() as uow:
        return uow.session.query(Subscriber).count()


def the_job(engine, job_id: int) -> ImportJob:
    with engine.uow() as uow:
        job = uow.session.get(ImportJob, job_id)
        uow.session.expunge(job)
        return job


def csv_rows(n: int, start: int = 0) -> str:
    return "EmailAddress,City\n" + "".join(f"user{i}@example.com,Town {i % 7}\n" for i in range(start, start + n))


def post_params(list_id, data: str, **overrides) -> dict:
    params = {"ListID": list_id, "AddToGlobalSuppressionList": "false", "AddToSuppressionList": "false",
              "UpdateDuplicates": "false", "TriggerActions": "true", "Tags": "[]",
              "ImportFrom": json.dumps({"CSV": {"Data": data, "FieldTerminator": ",", "FieldEncloser": '"',
                                                "EscapedBy": "\\", "MappedFields": {"FIELD1": "EmailAddress"}}})}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


# --- Subscribers.Import: the two steps --------------------------------------------------------------
def test_step_1_stores_the_upload_and_answers_the_columns(api, engine, user, list_id):
    answer = api("Subscribers.Import", user.session, ImportStep=1, ListID=list_id, ImportType="Copy",
                 ImportData="email,name\nuser@example.com,John Doe")
    assert answer["Success"] is True and answer["ImportFields"] == [{"FIELD1": "email", "FIELD2": "name"}]
    job = the_job(engine, answer["ImportID"])
    assert (job.status, job.list_id, job.total_rows) == ("Pending", list_id, 0)
    assert count(engine) == 0


def test_step_2_maps_the_fields_and_imports(api, engine, user, list_id):
    name = make_custom_field(engine, user, list_id, "Name")
    step1 = api("Subscribers.Import", user.session, ImportStep=1, ListID=list_id, ImportType="Copy",
                ImportData="email,name\nuser@example.com,John Doe\nbad,Nobody")
    step2 = api("Subscribers.Import", user.session, ImportStep=2, ImportID=step1["ImportID"],
                **{"MappedFields[field1]": "EmailAddress", "MappedFields[FIELD2]": str(name)})
    assert (step2["TotalData"], step2["TotalImported"], step2["TotalDuplicates"], step2["TotalFailed"]) == (2, 1, 0, 1)
    assert load_subscriber(engine, list_id, "user@example.com")[1][name][0] == "John Doe"
    job = the_job(engine, step1["ImportID"])
    assert (job.status, job.imported, job.failed, job.cursor) == ("Completed", 1, 1, 2)
    with engine.uow() as uow:   # the upload is gone once imported; the report stays
        assert uow.session.query(ImportUploadChunk).count() == 0

    before = stored_state(engine)
    again = api("Subscribers.Import", user.session, ImportStep=2, ImportID=step1["ImportID"],
                **{"MappedFields[FIELD1]": "EmailAddress"})
    assert again["ErrorCode"] == [6] and stored_state(engine) == before


@pytest.mark.parametrize("mapping, code", [({}, 8), ({"MappedFields[FIELD1]": "EmailAddress",
                                                       "MappedFields[FIELD2]": "Email"}, 7),
                                           ({"MappedFields[FIELD9]": "EmailAddress"}, 13)])
def test_step_2_mapping_errors_leave_the_upload_waiting(api, engine, user, list_id, mapping, code):
    step1 = api("Subscribers.Import", user.session, ImportStep=1, ListID=list_id, ImportType="Copy",
                ImportData="first,second\nuser@example.com,x@example.com")
    before = stored_state(engine)
    answer = api("Subscribers.Import", user.session, ImportStep=2, ImportID=step1["ImportID"], **mapping)
    assert answer["ErrorCode"] == [code] and stored_state(engine) == before
    assert the_job(engine, step1["ImportID"]).status == "Pending"


def test_step_2_of_another_account_s_upload_is_13(api, engine, user, other_user, list_id):
    step1 = api("Subscribers.Import", user.session, ImportStep=1, ListID=list_id, ImportType="Copy",
                ImportData="email\nuser@example.com")
    before = stored_state(engine)
    for params in ({"ImportID": step1["ImportID"]}, {"ImportID": 999999}, {}):
        session = other_user.session if params.get("ImportID") == step1["ImportID"] else user.session
        answer = api("Subscribers.Import", session, ImportStep=2, **params, **{"MappedFields[FIELD1]": "EmailAddress"})
        assert answer["ErrorCode"] == [13], params
    assert stored_state(engine) == before


@pytest.mark.parametrize("params, code", [
    ({"ImportStep": 3}, 3), ({"ImportStep": "x"}, 3), ({"ImportType": None}, 1),
    ({"ImportType": "File", "ImportData": None}, 9),
    ({"ImportType": "File", "ImportData": None, "ImportFileName": "../list.csv"}, 13),
    ({"ImportType": "MySQL"}, 17), ({"ImportData": None}, 2), ({"ImportData": '"unclosed'}, 5),
])
def test_step_1_errors_store_nothing(api, engine, user, list_id, params, code):
    base = {"ImportStep": 1, "ListID": list_id, "ImportType": "Copy", "ImportData": "email\na@example.com", **params}
    before = stored_state(engine)
    answer = api("Subscribers.Import", user.session, **{k: v for k, v in base.items() if v is not None})
    assert answer["ErrorCode"] == [code], answer
    assert stored_state(engine) == before


def test_an_upload_over_the_cap_is_18_and_nothing_is_kept(api, engine, user, list_id, monkeypatch):
    monkeypatch.setattr(import_uploads, "MAX_UPLOAD_BYTES", 1000)
    before = stored_state(engine)
    answer = api("Subscribers.Import", user.session, ListID=list_id, ImportData=csv_rows(100))
    assert answer["ErrorCode"] == [18] and "over" in answer["ErrorText"][0]
    assert stored_state(engine) == before


def test_a_step_1_upload_never_mapped_is_discarded_after_a_week(api, engine, user, list_id, clock):
    step1 = api("Subscribers.Import", user.session, ImportStep=1, ListID=list_id, ImportType="Copy",
                ImportData="email\nuser@example.com")
    clock.advance(days=6)
    run_import_jobs(engine, budget_seconds=10)
    assert the_job(engine, step1["ImportID"]).status == "Pending"
    clock.advance(days=1, seconds=1)
    run_import_jobs(engine, budget_seconds=10)
    job = the_job(engine, step1["ImportID"])
    assert job.status == "Failed" and "never came" in job.error
    with engine.uow() as uow:
        assert uow.session.query(ImportUploadChunk).count() == 0
    again = api("Subscribers.Import", user.session, ImportStep=2, ImportID=step1["ImportID"],
                **{"MappedFields[FIELD1]": "EmailAddress"})
    assert again["ErrorCode"] == [6] and count(engine) == 0


# --- large files: queued, then the worker --------------------------------------------------------
@pytest.mark.slow
def test_50000_rows_are_answered_with_a_job_and_imported_by_the_worker(api, engine, user, list_id, backend):
    rows = 50_000
    answer = api("Subscribers.Import", user.session, ListID=list_id, ImportData=csv_rows(rows))
    assert answer["Success"] is True and answer["ImportStatus"] == "Queued" and answer["TotalImported"] == 0
    assert count(engine) == 0                       # the request only stored the upload
    status = api("subscribers.import.get", user.session, ListID=list_id, ImportID=answer["ImportID"])
    assert status["ImportJob"]["ImportStatus"] == "Queued"

    summary = run_import_jobs(engine, budget_seconds=3600)
    assert (summary.jobs, summary.finished, summary.rows) == (1, 1, rows)
    assert count(engine) == rows
    done = api("subscribers.import.get", user.session, ListID=list_id, ImportID=answer["ImportID"])["ImportJob"]
    assert (done["ImportStatus"], done["TotalSubscribers"], done["TotalImported"], done["TotalFailed"]) == \
        ("Completed", rows, rows, 0)
    assert done["FinishedAt"] is not None and done["FailedData"] == ""


class Crash(Exception):
    pass


def test_a_job_killed_mid_way_resumes_at_its_cursor_without_duplicates(engine, user, list_id, clock, monkeypatch):
    make_subscriber(engine, list_id, "user5@example.com")      # already there: a duplicate
    data = csv_rows(3_500) + "user10@example.com,Again\nuser3200@example.com,Again\n"   # repeats: duplicates
    with engine.uow() as uow:
        job, _ = uow.import_jobs.upload(user_actor(user), list_id, data, JobOptions(), mapped=True)
        uow.commit()
        job_id = job.id
    calls = []

    def dies_on_the_third_batch(uow, list_row, ids, *, trigger_actions):
        calls.append(len(ids))
        if len(calls) == 3:
            raise Crash()
    monkeypatch.setattr(import_hooks, "subscribed_by_import", dies_on_the_third_batch)
    with pytest.raises(Crash):
        run_import_jobs(engine, budget_seconds=3600, batch_size=1000)
    job = the_job(engine, job_id)
    assert (job.status, job.cursor, job.imported, job.duplicates) == ("Importing", 2000, 1999, 1)
    assert count(engine) == 1 + 1999                                  # the third batch was rolled back

    assert run_import_jobs(engine, budget_seconds=3600).jobs == 0     # its lease still holds
    clock.advance(seconds=LEASE.total_seconds() + 1)
    monkeypatch.undo()
    summary = run_import_jobs(engine, budget_seconds=3600, batch_size=1000)
    assert (summary.jobs, summary.finished) == (1, 1)
    job = the_job(engine, job_id)
    assert (job.status, job.total_rows, job.imported, job.duplicates, job.failed) == ("Completed", 3502, 3499, 3, 0)
    assert count(engine) == 3500


def test_a_runner_whose_lease_was_taken_over_writes_nothing(engine, user, list_id, clock):
    with engine.uow() as uow:
        job, _ = uow.import_jobs.upload(user_actor(user), list_id, csv_rows(10), JobOptions(), mapped=True)
        assert claim(uow, job, "first", clock())
        uow.commit()
        job_id = job.id
    clock.advance(seconds=LEASE.total_seconds() + 1)
    with engine.uow() as uow:
        assert claim(uow, uow.session.get(ImportJob, job_id), "second", clock())
        assert not claim(uow, uow.session.get(ImportJob, job_id), "third", clock())   # held now
        uow.commit()
    with engine.uow() as uow:
        assert run_job(uow, uow.session.get(ImportJob, job_id), holder="first", deadline=None,
                       commit=uow.commit) is False
    assert count(engine) == 0 and the_job(engine, job_id).cursor == 0


def test_the_worker_stops_at_its_budget_and_the_next_pass_goes_on(engine, user, list_id):
    ticks = iter(range(1000))
    engine.timer = lambda: next(ticks)          # every reading of the timer is one second later
    with engine.uow() as uow:
        job, _ = uow.import_jobs.upload(user_actor(user), list_id, csv_rows(25), JobOptions(), mapped=True)
        uow.commit()
    first = run_import_jobs(engine, budget_seconds=3, batch_size=10)
    assert (first.jobs, first.finished) == (1, 0) and 0 < count(engine) < 25
    assert the_job(engine, job.id).lease_holder == ""          # handed back for the next pass
    rest = run_import_jobs(engine, budget_seconds=100, batch_size=10)
    assert rest.finished == 1 and count(engine) == 25 and the_job(engine, job.id).imported == 25


# --- subscribers.import.post / .get / .prepare ---------------------------------------------------
def test_post_imports_a_small_file_in_the_request(api, engine, user, list_id):
    data = "email,city\nann@example.com,Paris\nbob@example.com,Rome\n"
    answer = api("subscribers.import.post", user.session, **post_params(list_id, data, Tags='["vip", "2025"]'))
    assert answer["Success"] is True and answer["ImportType"] == "sync"
    assert count(engine) == 2
    got = api("subscribers.import.get", user.session, ListID=list_id, ImportID=answer["ImportID"])["ImportJob"]
    assert (got["ImportStatus"], got["TotalSubscribers"], got["TotalImported"]) == ("Completed", 2, 2)
    tags = api("Subscriber.Tags.Get", user.session, SubscriberListID=list_id)
    assert sorted((t["TagName"], t["SubscriberCount"]) for t in tags["Tags"]) == [("2025", 2), ("vip", 2)]


def test_post_queues_a_file_over_50_rows(api, engine, user, list_id):
    answer = api("subscribers.import.post", user.session, **post_params(list_id, csv_rows(51)))
    assert answer["ImportType"] == "async" and count(engine) == 0
    assert run_import_jobs(engine, budget_seconds=3600).finished == 1
    assert count(engine) == 51


def _csv(**changes) -> str:
    csv = {"Data": "email\na@example.com", "FieldTerminator": ",", "EscapedBy": "\\",
           "MappedFields": {"FIELD1": "EmailAddress"}}
    csv.update(changes)
    return json.dumps({"CSV": {k: v for k, v in csv.items() if v is not None}})


@pytest.mark.parametrize("changes, code", [
    ({"ListID": None}, 1), ({"ListID": "x"}, 20), ({"ListID": 999999}, 19),
    ({"AddToGlobalSuppressionList": None}, 4), ({"AddToGlobalSuppressionList": "maybe"}, 9),
    ({"AddToSuppressionList": None}, 5), ({"AddToSuppressionList": "maybe"}, 10),
    ({"UpdateDuplicates": None}, 6), ({"UpdateDuplicates": "maybe"}, 11),
    ({"TriggerActions": None}, 7), ({"TriggerActions": "maybe"}, 12), ({"Tags": None}, 21),
    ({"Tags": '["fine", "not<ok>"]'}, 22),
    ({"ImportFrom": None}, 14), ({"ImportFrom": '{"Mailchimp": {}}'}, 14),
    ({"ImportFrom": _csv(FieldTerminator=None)}, 2), ({"ImportFrom": _csv(EscapedBy=None)}, 16),
    ({"ImportFrom": _csv(MappedFields=None)}, 8), ({"ImportFrom": _csv(MappedFields="nope")}, 13),
    ({"ImportFrom": _csv(MappedFields={})}, 15), ({"ImportFrom": _csv(MappedFields={"FIELD1": "ignore"})}, 15),
    ({"ImportFrom": _csv(MappedFields={"FIELD1": "EmailAddress", "FIELD2": "Unknown"})}, 17),
    ({"ImportFrom": _csv(Data=None, URL="https://example.com/list.csv")}, 18),
    ({"ImportFrom": _csv(FieldTerminator="ab")}, 20),
])
def test_post_errors_store_nothing(api, engine, user, list_id, changes, code):
    before = stored_state(engine)
    answer = api("subscribers.import.post", user.session, **post_params(list_id, "email\na@example.com", **changes))
    assert answer["Success"] is False and answer["ErrorCode"] == code, answer
    assert stored_state(engine) == before


def test_get_errors(api, engine, user, other_user, list_id):
    job = api("subscribers.import.post", user.session, **post_params(list_id, "email\na@example.com"))["ImportID"]
    for params, code in (({"ImportID": job}, 1), ({"ListID": list_id}, 2), ({"ListID": "x", "ImportID": job}, 3),
                         ({"ListID": list_id, "ImportID": "x"}, 4), ({"ListID": 999999, "ImportID": job}, 5),
                         ({"ListID": list_id, "ImportID": 999999}, 7)):
        assert api("subscribers.import.get", user.session, **params)["ErrorCode"] == code, params
    other_list = api("List.Create", other_user.session, SubscriberListName="Theirs")["ListID"]
    assert api("subscribers.import.get", other_user.session, ListID=other_list, ImportID=job)["ErrorCode"] == 7


@pytest.mark.parametrize("source, code", [
    (None, 1), ("[]", 2), ('{"Other": {}}', 2), ('{"Mailchimp": {"Server": "us1"}}', 7),
    ('{"Mailchimp": {"APIKey": "k"}}', 8), ('{"Mailchimp": {"APIKey": "k", "Server": "us1"}}', 9),
    ('{"ActiveCampaign": {"AccountName": "a"}}', 3), ('{"ActiveCampaign": {"APIKey": "k"}}', 4),
    ('{"ActiveCampaign": {"APIKey": "k", "AccountName": "a"}}', 5), ('{"Drip": {}}', 9),
])
def test_prepare_refuses_every_third_party_source_with_its_code(api, engine, user, source, code):
    params = {} if source is None else {"ImportFrom": source}
    answer = api("subscribers.import.prepare", user.session, **params)
    assert answer["Success"] is False and answer["ErrorCode"] == code


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, [legacy.SUBSCRIBERS_IMPORT, modern.SUBSCRIBERS_IMPORT_POST,
                                         modern.SUBSCRIBERS_IMPORT_GET, modern.SUBSCRIBERS_IMPORT_PREPARE],
                         {"Subscribers.Import": (1, 2, 4, 5, 7, 8, 17),     # tests/protocol/test_import.py
                          "subscribers.import.get": (6,)})                  # the page's twin of 4
