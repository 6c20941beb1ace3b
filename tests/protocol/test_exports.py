"""Subscribers.Export.Post / .Get and Campaigns.Export.Post / .Get through HTTP: the stored job, the
streamed file (CSV and JSON, keyset batches), targets, criteria, owner checks, expiry, every code;
a refused call changes nothing."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.audience import exports as subscriber_exports
from engine.models import ExportJob, Segment
from protocol.commands import exports
from tests.builders import (
    CodeRecorder, assert_codes_reached, make_custom_field, make_list, make_segment, make_subscriber,
)
from tests.helpers import stored_state
from tests.protocol.report_builders import campaign, sent

SEEN: dict = {}
NEVER_EMITTED = {
    "Subscribers.Export.Get": {5},   # the page's second "Invalid ExportID" (3 answers it)
    "Campaigns.Export.Get": {5},     # jobs are ready as soon as they are stored
}
EXAMPLE = json.dumps([[{"type": "fields", "field_id": "EmailAddress", "operator": "contains", "value": "example"}]])


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


@pytest.fixture
def members(engine, user):
    list_id = make_list(engine, user, "Members")
    city = make_custom_field(engine, user, list_id, "City")
    ids = {"ann": make_subscriber(engine, list_id, "ann@example.com", {city: "Oslo, Norway"}),
           "bob": make_subscriber(engine, list_id, "bob@example.com"),
           "cy": make_subscriber(engine, list_id, "cy@other.org", {city: "Rome"}),
           "dee": make_subscriber(engine, list_id, "dee@example.com", subscription_status="Unsubscribed")}
    return list_id, city, ids


def post(api, user, list_id, **params):
    base = dict(ListID=list_id, RulesJSON="[]", RulesOperator="and", ExportFormat="csv",
                FieldsToExport="SubscriberID,EmailAddress")
    return api("Subscribers.Export.Post", user.session, **{**base, **params})


def download(client, user, command: str, **params):
    return client.post("/api.php", data={"Command": command, "SessionID": user.session, "Download": "1", **params})


def later(api, clock, user, days: int):
    """`days` on, logged in again (sessions do not last that long)."""
    from tests.helpers import Account

    clock.advance(days=days)
    session = api("User.Login", Username=user.username, Password=user.password)["SessionID"]
    return Account(user.id, user.username, user.password, session)


def jobs(engine) -> list[tuple]:
    with engine.uow() as uow:
        return [(j.module, j.list_id, j.row_count) for j in uow.session.scalars(select(ExportJob).order_by(ExportJob.id))]


# --- Subscribers.Export.Post / Get -------------------------------------------------------------
def test_export_a_whole_list_as_csv(api, client, engine, user, members, monkeypatch):
    list_id, city, ids = members
    monkeypatch.setattr(subscriber_exports, "BATCH_ROWS", 3)  # several keyset batches
    monkeypatch.setattr(subscriber_exports, "COPY_BATCH_ROWS", 3)  # PostgreSQL's COPY batches
    answer = post(api, user, list_id, FieldsToExport=f"SubscriberID,EmailAddress,CustomField{city},SubscriptionStatus")
    assert answer == {"Success": True, "ErrorCode": 0, "ExportID": answer["ExportID"]}
    assert jobs(engine) == [("SubscriberExport", list_id, 4)]
    response = download(client, user, "Subscribers.Export.Get", ListID=list_id, ExportID=answer["ExportID"])
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [["SubscriberID", "EmailAddress", f"CustomField{city}", "SubscriptionStatus"],
                    [str(ids["ann"]), "ann@example.com", "Oslo, Norway", "Subscribed"],
                    [str(ids["bob"]), "bob@example.com", "", "Subscribed"],
                    [str(ids["cy"]), "cy@other.org", "Rome", "Subscribed"],
                    [str(ids["dee"]), "dee@example.com", "", "Unsubscribed"]]


def test_export_by_target_and_criteria_as_json(api, client, user, members):
    list_id, _, ids = members
    answer = post(api, user, list_id, RulesJSON=EXAMPLE, Target="Active", ExportFormat="json",
                  FieldsToExport="EmailAddress,SubscriptionDate")
    response = download(client, user, "Subscribers.Export.Get", ListID=list_id, ExportID=answer["ExportID"])
    assert response.mimetype == "application/json"
    assert response.get_json() == [{"EmailAddress": "ann@example.com", "SubscriptionDate": "2026-11-23 12:00:00"},
                                   {"EmailAddress": "bob@example.com", "SubscriptionDate": "2026-11-23 12:00:00"}]


def test_export_a_segment(api, client, engine, user, members):
    list_id, _, ids = members
    segment_id = make_segment(engine, user, list_id)
    with engine.uow() as uow:
        uow.session.get(Segment, segment_id).rules_json = json.dumps(
            [[{"type": "fields", "field_id": "EmailAddress", "operator": "ends with", "value": "other.org"}]])
        uow.commit()
    answer = post(api, user, list_id, Target=str(segment_id), FieldsToExport="EmailAddress")
    body = download(client, user, "Subscribers.Export.Get", ListID=list_id, ExportID=answer["ExportID"]).get_data(
        as_text=True)
    assert body == "EmailAddress\ncy@other.org\n"


def test_export_status_and_job_list(api, user, members, other_user):
    list_id, _, _ = members
    first = post(api, user, list_id)["ExportID"]
    second = post(api, user, list_id, Target="Unsubscribed")["ExportID"]
    one = api("Subscribers.Export.Get", user.session, ListID=list_id, ExportID=first)["ExportJob"]
    assert (one["ExportID"], one["Module"], one["Status"], one["RowCount"], one["ExportOptions"]) == (
        first, "SubscriberExport", "Completed", 4,
        {"Command": "ExportSubscribers", "ListID": list_id, "FileFormat": "csv", "Fields": ["SubscriberID", "EmailAddress"]})
    assert one["SubmittedAt"] == "2026-11-23 12:00:00" and one["ExpiresAt"] == "2026-12-23 12:00:00"
    listed = api("Subscribers.Export.Get", user.session, ListID=list_id)["ExportJobs"]
    assert [(j["ExportID"], j["RowCount"]) for j in listed] == [(second, 1), (first, 4)]


def test_subscriber_export_post_codes(api, engine, user, other_user, members):
    list_id, _, _ = members
    before = stored_state(engine)
    full = dict(ListID=list_id, RulesJSON="[]", RulesOperator="and", ExportFormat="csv", FieldsToExport="EmailAddress")
    for missing, code in (("ListID", 1), ("RulesJSON", 2), ("RulesOperator", 3), ("ExportFormat", 4),
                          ("FieldsToExport", 5)):
        params = {k: v for k, v in full.items() if k != missing}
        answer = api("Subscribers.Export.Post", user.session, **params)
        assert answer["ErrorCode"] == code and answer["Errors"][0]["Code"] == code, (missing, answer)
    assert post(api, user, "x")["ErrorCode"] == 6
    assert post(api, user, list_id, RulesJSON="{oops")["ErrorCode"] == 7
    assert post(api, user, list_id, RulesJSON='[[{"type":"fields","field_id":"Nope","operator":"is"}]]')[
        "ErrorCode"] == 7
    assert post(api, user, list_id, RulesOperator="xor")["ErrorCode"] == 8
    assert post(api, user, list_id, ExportFormat="xml")["ErrorCode"] == 9
    assert post(api, other_user, list_id)["ErrorCode"] == 10
    assert post(api, user, list_id, Target="Everyone")["ErrorCode"] == 11
    assert post(api, user, list_id, Target="999999")["ErrorCode"] == 12
    assert post(api, user, list_id, FieldsToExport="EmailAddress,Password")["ErrorCode"] == 13
    assert post(api, user, list_id, FieldsToExport="CustomField999")["ErrorCode"] == 13
    assert stored_state(engine) == before


def test_subscriber_export_get_codes(api, client, engine, user, other_user, members, clock):
    list_id, _, _ = members
    export_id = post(api, user, list_id)["ExportID"]
    campaign_job = api("Campaigns.Export.Post", user.session)["JobID"]
    their_list = make_list(engine, other_user, "Theirs")
    before = stored_state(engine)
    assert api("Subscribers.Export.Get", user.session)["ErrorCode"] == 1
    assert api("Subscribers.Export.Get", user.session, ListID="abc")["ErrorCode"] == 2
    assert api("Subscribers.Export.Get", user.session, ListID=list_id, ExportID="-3")["ErrorCode"] == 3
    assert api("Subscribers.Export.Get", other_user.session, ListID=list_id, ExportID=export_id)["ErrorCode"] == 4
    assert api("Subscribers.Export.Get", user.session, ListID=list_id, ExportID=export_id + 100)["ErrorCode"] == 6
    assert api("Subscribers.Export.Get", user.session, ListID=list_id, ExportID=campaign_job)["ErrorCode"] == 6
    # Another account's own list cannot name this job either.
    assert api("Subscribers.Export.Get", other_user.session, ListID=their_list, ExportID=export_id)["ErrorCode"] == 6
    user = later(api, clock, user, 30)
    before = stored_state(engine)
    expired = download(client, user, "Subscribers.Export.Get", ListID=list_id, ExportID=export_id)
    assert expired.status_code == 410 and expired.get_json()["ErrorCode"] == 7
    SEEN.setdefault("Subscribers.Export.Get", set()).add(7)
    assert api("Subscribers.Export.Get", user.session, ListID=list_id, ExportID=export_id)["Success"]  # the record stays
    assert stored_state(engine) == before


def test_a_download_whose_criteria_no_longer_apply_is_8(api, client, engine, user, members):
    list_id, city, _ = members
    rules = json.dumps([[{"type": "fields", "field_id": f"CustomField{city}", "operator": "is", "value": "Rome"}]])
    export_id = post(api, user, list_id, RulesJSON=rules)["ExportID"]
    assert download(client, user, "Subscribers.Export.Get", ListID=list_id, ExportID=export_id).get_data(
        as_text=True).count("\n") == 2
    assert api("CustomFields.Delete", user.session, CustomFields=str(city))["Success"]
    before = stored_state(engine)
    answer = download(client, user, "Subscribers.Export.Get", ListID=list_id, ExportID=export_id).get_json()
    assert answer["ErrorCode"] == 8 and answer["Errors"][0]["Code"] == 8
    SEEN.setdefault("Subscribers.Export.Get", set()).add(8)
    assert stored_state(engine) == before


# --- Campaigns.Export.Post / Get ---------------------------------------------------------------
def test_campaign_export_filters_and_figures(api, client, engine, user, other_user):
    list_id = make_list(engine, user, "Buyers")
    ann = make_subscriber(engine, list_id, "ann@example.com")
    spring = campaign(engine, user, "Spring sale", status="Sent", schedule_type="Immediate", total_sent=1,
                      unique_opens=1)
    sent(engine, spring, {ann: "ann@example.com"})
    campaign(engine, user, "Draft idea")
    campaign(engine, other_user, "Not mine", status="Sent")
    answer = api("Campaigns.Export.Post", user.session, CampaignStatus="Sent",
                 FieldsToExport="CampaignID,CampaignName,CampaignStatus,TotalSent,TotalDelivered,UniqueOpens,TotalRevenue")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": "", "JobID": answer["JobID"],
                      "ExportID": answer["JobID"], "EstimatedRows": 1}
    status = api("Campaigns.Export.Get", user.session, JobID=answer["JobID"])
    assert (status["Status"], status["Progress"], status["RowCount"]) == ("Finished", 100, 1)
    assert status["DownloadURL"] == f"api.php?Command=campaigns.export.get&jobid={answer['JobID']}&download=1"
    response = download(client, user, "Campaigns.Export.Get", ExportID=answer["JobID"])
    assert response.mimetype == "text/csv"
    assert list(csv.reader(io.StringIO(response.get_data(as_text=True)))) == [
        ["CampaignID", "CampaignName", "CampaignStatus", "TotalSent", "TotalDelivered", "UniqueOpens", "TotalRevenue"],
        [str(spring), "Spring sale", "Sent", "1", "1", "1", "0.00"]]
    every = api("Campaigns.Export.Post", user.session, SearchKeyword="idea", Date_From="2026-11-23",
                Date_To="2026-11-23")
    assert every["EstimatedRows"] == 1
    assert api("Campaigns.Export.Post", user.session, Date_From="2026-11-24")["EstimatedRows"] == 0


def test_campaign_export_codes(api, engine, user, other_user, members):
    list_id, _, _ = members
    job_id = api("Campaigns.Export.Post", user.session)["JobID"]
    subscriber_job = post(api, user, list_id)["ExportID"]
    before = stored_state(engine)
    assert api("Campaigns.Export.Post", user.session, ExportFormat="json")["ErrorCode"] == 1
    assert api.json({"Command": "Campaigns.Export.Post", "SessionID": user.session, "FieldsToExport": []})[
        "ErrorCode"] == 2
    assert api("Campaigns.Export.Post", user.session, FieldsToExport=" , ")["ErrorCode"] == 2
    assert api("Campaigns.Export.Post", user.session, FieldsToExport="CampaignID,Secret")["ErrorCode"] == 3
    assert api("Campaigns.Export.Post", user.session, ScheduleType="Weekly")["ErrorCode"] == 4
    assert api("Campaigns.Export.Get", user.session)["ErrorCode"] == 1
    assert api("Campaigns.Export.Get", user.session, JobID="0")["ErrorCode"] == 2
    assert api("Campaigns.Export.Get", other_user.session, JobID=job_id)["ErrorCode"] == 3
    assert api("Campaigns.Export.Get", user.session, JobID=subscriber_job)["ErrorCode"] == 4
    assert stored_state(engine) == before


def test_an_expired_campaign_export_is_gone(api, client, engine, user, clock):
    job_id = api("Campaigns.Export.Post", user.session)["JobID"]
    user = later(api, clock, user, 31)
    response = download(client, user, "Campaigns.Export.Get", JobID=job_id)
    assert response.status_code == 410 and response.get_json()["ErrorCode"] == 6
    SEEN.setdefault("Campaigns.Export.Get", set()).add(6)


# --- the hourly export limit (SENDMILL_EXPORTS_PER_HOUR) -------------------------------------------
def test_exports_past_the_hourly_limit_are_refused_until_the_oldest_hour_ends(api, engine, user, other_user,
                                                                              members, clock):
    engine.settings = dataclasses.replace(engine.settings, exports_per_hour=3)
    list_id, _, _ = members
    assert post(api, user, list_id)["Success"]
    clock.advance(minutes=20)
    assert post(api, user, list_id)["Success"]
    assert api("Campaigns.Export.Post", user.session)["Success"]   # subscriber and campaign exports together
    before = stored_state(engine)
    refused = post(api, user, list_id)
    assert (refused["Success"], refused["ErrorCode"], refused["Errors"][0]["Code"]) == (False, 14, 14)
    first_ends = (clock() - timedelta(minutes=20) + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert first_ends in refused["ErrorText"] and "at most 3 an hour" in refused["ErrorText"]
    campaigns = api("Campaigns.Export.Post", user.session)
    assert (campaigns["Success"], campaigns["ErrorCode"]) == (False, 5)
    assert stored_state(engine) == before                          # a refused export stores no job
    # Another account has its own hour.
    other_list = make_list(engine, other_user)
    assert post(api, other_user, other_list)["Success"]
    # When the first submission is an hour old, one place is free again; then none.
    clock.advance(minutes=40, seconds=1)
    assert post(api, user, list_id)["Success"]
    assert post(api, user, list_id)["ErrorCode"] == 14
    assert len([job for job in jobs(engine) if job[1] != other_list]) == 4


def test_the_limit_is_read_from_the_environment(monkeypatch, tmp_path):
    from engine.config import Settings

    monkeypatch.setenv("SENDMILL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SENDMILL_EXPORTS_PER_HOUR", raising=False)
    assert Settings.from_env().exports_per_hour == 60
    monkeypatch.setenv("SENDMILL_EXPORTS_PER_HOUR", "5")
    assert Settings.from_env().exports_per_hour == 5
    for bad in ("0", "-1", "many"):
        monkeypatch.setenv("SENDMILL_EXPORTS_PER_HOUR", bad)
        with pytest.raises(ValueError, match="SENDMILL_EXPORTS_PER_HOUR"):
            Settings.from_env()


def test_a_bad_export_request_does_not_use_up_the_limit(api, engine, user, members):
    engine.settings = dataclasses.replace(engine.settings, exports_per_hour=1)
    list_id, _, _ = members
    assert post(api, user, list_id, FieldsToExport="Nonsense")["ErrorCode"] == 13
    assert post(api, user, list_id)["Success"]


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, exports.COMMANDS, NEVER_EMITTED)


def test_two_exports_at_once_cannot_both_take_the_last_place(engine, user, members, monkeypatch):
    """The second submission waits on the user's row until the first commits, then counts it. Without that
    lock both would count 0 here: the first waits (up to a second) for the other to have counted too."""
    import threading

    from engine.audience import export_limit
    from engine.campaigns.exports import CampaignFilters
    from engine.errors import ExportLimitReached
    from tests.builders import user_actor

    engine.settings = dataclasses.replace(engine.settings, exports_per_hour=1)
    counted = threading.Barrier(2)
    original = export_limit.recent_count

    def count_then_wait(session, recent):
        n = original(session, recent)
        try:
            counted.wait(timeout=1)
        except threading.BrokenBarrierError:
            pass
        return n

    monkeypatch.setattr(export_limit, "recent_count", count_then_wait)
    outcomes = []

    def submit():
        with engine.uow() as uow:
            try:
                uow.campaign_exports.submit(user_actor(user), CampaignFilters(), ["CampaignID"])
                uow.commit()
                outcomes.append("stored")
            except ExportLimitReached:
                uow.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["refused", "stored"]
    assert [job[0] for job in jobs(engine)] == ["CampaignExport"]
