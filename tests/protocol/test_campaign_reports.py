"""Campaign.LinkClicks.Get, Campaign.Recipients.Activity.Get and Campaigns.Counts through HTTP: figures
from the tracking table, paging, owner checks, every documented code; a refused call changes nothing."""
from __future__ import annotations

from datetime import date

import pytest

from engine.models import CampaignTag, Tag
from protocol.commands import campaign_reports
from tests.builders import CodeRecorder, assert_codes_reached, make_list, make_subscriber
from tests.helpers import stored_state
from tests.protocol.report_builders import campaign, sent, track

SEEN: dict = {}


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


@pytest.fixture
def clicked(engine, user):
    """A sent campaign: ann clicked /a twice and /b once, bob clicked /a once, cy only opened; cy bounced hard."""
    list_id = make_list(engine, user, "Buyers")
    ids = {name: make_subscriber(engine, list_id, f"{name}@example.com") for name in ("ann", "bob", "cy")}
    cid = campaign(engine, user, status="Sent", schedule_type="Immediate")
    sent(engine, cid, {sid: f"{name}@example.com" for name, sid in ids.items()})
    for who, url, minutes in (("ann", "https://shop.example/a", 1), ("ann", "https://shop.example/a", 2),
                              ("ann", "https://shop.example/b", 3), ("bob", "https://shop.example/a", 4)):
        track(engine, cid, ids[who], "click", url=url, minutes=minutes)
    for who, minutes in (("ann", 1), ("cy", 5), ("cy", 6)):
        track(engine, cid, ids[who], "open", minutes=minutes)
    track(engine, cid, ids["cy"], "bounce", minutes=7)
    with engine.uow() as uow:
        from engine.models import Subscriber
        uow.session.get(Subscriber, ids["cy"]).bounce_type = "Hard"
        uow.commit()
    return cid, list_id, ids


# --- Campaign.LinkClicks.Get -------------------------------------------------------------------
def test_link_clicks_rank_links_by_clicks_with_unique_people(api, user, clicked):
    cid, _, _ = clicked
    answer = api("Campaign.LinkClicks.Get", user.session, CampaignID=cid)
    assert answer == {"Success": True, "ErrorCode": 0, "CampaignID": cid, "GroupBy": "Links", "TotalRecords": 2,
                      "Links": [
                          {"LinkTitle": "https://shop.example/a", "LinkURL": "https://shop.example/a",
                           "TotalClicks": 3, "UniqueClicks": 2},
                          {"LinkTitle": "https://shop.example/b", "LinkURL": "https://shop.example/b",
                           "TotalClicks": 1, "UniqueClicks": 1}]}
    page = api("Campaign.LinkClicks.Get", user.session, CampaignID=cid, RecordsFrom=1, RecordsPerRequest=5000)
    assert page["TotalRecords"] == 2 and [r["LinkURL"] for r in page["Links"]] == ["https://shop.example/b"]


def test_link_clicks_by_subscriber(api, user, clicked):
    cid, list_id, ids = clicked
    answer = api("Campaign.LinkClicks.Get", user.session, CampaignID=cid, GroupBy="subscribers", RecordsPerRequest=1)
    assert answer["GroupBy"] == "Subscribers" and answer["TotalRecords"] == 2
    assert answer["Subscribers"] == [{"SubscriberID": ids["ann"], "ListID": list_id,
                                      "EmailAddress": "ann@example.com", "TotalClicks": 3}]


def test_link_clicks_codes(api, engine, user, other_user, clicked):
    cid, _, _ = clicked
    before = stored_state(engine)
    assert api("Campaign.LinkClicks.Get", user.session)["ErrorCode"] == 2
    assert api("Campaign.LinkClicks.Get", user.session, CampaignID="seven")["ErrorCode"] == 2
    refused = api("Campaign.LinkClicks.Get", other_user.session, CampaignID=cid)
    assert refused == {"Success": False, "ErrorCode": 3, "ErrorMessage": "Campaign not found or access denied"}
    assert api("Campaign.LinkClicks.Get", user.session, CampaignID=cid, GroupBy="Domains")["ErrorCode"] == 4
    assert stored_state(engine) == before


def test_an_administrator_reads_any_campaign(api, admin, clicked):
    cid, _, _ = clicked
    assert api("Campaign.LinkClicks.Get", admin.session, CampaignID=cid)["TotalRecords"] == 2
    assert api("Campaign.Recipients.Activity.Get", admin.session, CampaignID=cid, Activity="open")["TotalRecords"] == 2


# --- Campaign.Recipients.Activity.Get ----------------------------------------------------------
def test_recipients_activity_most_recent_first(api, user, clicked):
    cid, list_id, ids = clicked
    answer = api("Campaign.Recipients.Activity.Get", user.session, CampaignID=cid, Activity="open")
    assert answer["TotalRecords"] == 2 and answer["Activity"] == "open"
    assert answer["Recipients"] == [
        {"SubscriberID": ids["cy"], "ListID": list_id, "ListName": "Buyers", "EmailAddress": "cy@example.com",
         "ActivityCount": 2, "LastActivityDate": "2026-11-23 12:06:00"},
        {"SubscriberID": ids["ann"], "ListID": list_id, "ListName": "Buyers", "EmailAddress": "ann@example.com",
         "ActivityCount": 1, "LastActivityDate": "2026-11-23 12:01:00"}]


def test_recipients_activity_search_filters_before_paging(api, user, clicked):
    cid, _, ids = clicked
    answer = api("Campaign.Recipients.Activity.Get", user.session, CampaignID=cid, Activity="click",
                 SearchKeyword="ANN", RecordsPerRequest=10)
    assert answer["TotalRecords"] == 1 and [r["SubscriberID"] for r in answer["Recipients"]] == [ids["ann"]]
    alias = api("Campaign.Recipients.Activity.Get", user.session, CampaignID=cid, Activity="click",
                EmailAddress="%", RecordsPerRequest=10)
    assert alias["TotalRecords"] == 0  # a literal %, not a wildcard


def test_recipients_activity_bounce_carries_the_type_and_untracked_kinds_list_nobody(api, user, clicked):
    cid, _, ids = clicked
    bounce = api("Campaign.Recipients.Activity.Get", user.session, CampaignID=cid, Activity="bounce")
    assert [(r["SubscriberID"], r["BounceType"]) for r in bounce["Recipients"]] == [(ids["cy"], "Hard")]
    for activity in ("forward", "conversion", "unsubscription"):
        answer = api("Campaign.Recipients.Activity.Get", user.session, CampaignID=cid, Activity=activity)
        assert (answer["TotalRecords"], answer["Recipients"]) == (0, [])


def test_recipients_activity_codes(api, engine, user, other_user, clicked):
    cid, _, _ = clicked
    before = stored_state(engine)
    assert api("Campaign.Recipients.Activity.Get", user.session, CampaignID="x", Activity="open")["ErrorCode"] == 2
    assert api("Campaign.Recipients.Activity.Get", other_user.session, CampaignID=cid,
               Activity="open")["ErrorCode"] == 3
    assert api("Campaign.Recipients.Activity.Get", user.session, CampaignID=cid, Activity="view")["ErrorCode"] == 4
    assert api("Campaign.Recipients.Activity.Get", user.session, CampaignID=cid)["ErrorCode"] == 4
    assert stored_state(engine) == before


def test_the_older_by_activity_command_still_answers(api, engine, user, clicked):
    cid, _, ids = clicked
    answer = api("Campaign.Recipients.ByActivity", user.session, CampaignID=cid, Activity="OPENED")
    assert sorted(r["SubscriberID"] for r in answer["Recipients"]) == sorted([ids["ann"], ids["cy"]])


# --- Campaigns.Counts --------------------------------------------------------------------------
def test_counts_by_status_and_sidebar_bucket(api, engine, user, other_user):
    for status, schedule_type in (("Draft", "Not Scheduled"), ("Ready", "Not Scheduled"), ("Ready", "Immediate"),
                                  ("Ready", "Future"), ("Ready", "Recursive"), ("Sending", "Immediate"),
                                  ("Sent", "Immediate"), ("Sent", "Future"), ("Paused", "Immediate"),
                                  ("Pending Approval", "Immediate"), ("Failed", "Immediate")):
        campaign(engine, user, status=status, schedule_type=schedule_type)
    campaign(engine, other_user, status="Sent")
    answer = api("Campaigns.Counts", user.session)
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": "",
                      "Counts": {"Draft": 1, "Ready": 4, "Sending": 1, "Paused": 1, "Pending Approval": 1,
                                 "Sent": 2, "Failed": 1, "Total": 11},
                      "Buckets": {"Sent": 2, "Outbox": 2, "Draft": 2, "Scheduled": 2, "Paused": 1,
                                  "Pending Approval": 1, "Failed": 1, "Total": 11}}


def test_counts_filter_by_tags_and_send_date(api, engine, user):
    tagged = campaign(engine, user, status="Sent", send_date=date(2026, 4, 10))
    campaign(engine, user, status="Sent", send_date=date(2026, 5, 10))
    campaign(engine, user, status="Draft")
    with engine.uow() as uow:
        tag = Tag(owner_user_id=user.id, name="Promo")
        uow.session.add(tag)
        uow.session.flush()
        uow.session.add(CampaignTag(campaign_id=tagged, tag_id=tag.id))
        uow.commit()
        tag_id = tag.id
    assert api("Campaigns.Counts", user.session, Tags=str(tag_id))["Counts"]["Total"] == 1
    window = api("Campaigns.Counts", user.session, date_from="2026-04-01", date_to="2026-04-30")
    assert window["Counts"]["Sent"] == 1 and window["Buckets"]["Total"] == 1
    before = stored_state(engine)
    assert api("Campaigns.Counts", user.session, Tags="x")["ErrorCode"] == 1
    assert api("Campaigns.Counts", user.session, date_from="2026-02-30")["ErrorCode"] == 2
    assert stored_state(engine) == before


def test_reports_need_credentials(api, engine, clicked):
    cid, _, _ = clicked
    for command in ("Campaign.LinkClicks.Get", "Campaign.Recipients.Activity.Get", "Campaigns.Counts"):
        assert api(command, None, CampaignID=cid, Activity="open")["ErrorCode"] == 99998


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, campaign_reports.COMMANDS, {})
