"""Subscriber.Exists, Subscriber.Get.Activity and Subscribers.Search through HTTP: answers read from the
list, the delivery and autoresponder ledgers and the tracking table; owner checks; every documented code;
a refused call changes nothing."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from engine.models import Suppression
from protocol.commands import subscriber_reports
from tests.builders import (
    CodeRecorder, assert_codes_reached, make_custom_field, make_list, make_segment, make_subscriber,
)
from tests.helpers import stored_state
from tests.protocol.report_builders import campaign, sent, track
from tests.protocol.test_autoresponders import add_send, made

SEEN: dict = {}
CONTAINS = json.dumps([[{"type": "fields", "field_id": "EmailAddress", "operator": "contains", "value": "example"}]])


@pytest.fixture
def api(api):
    return CodeRecorder(api, SEEN)


@pytest.fixture
def crowd(engine, user):
    list_id = make_list(engine, user, "Members")
    field_id = make_custom_field(engine, user, list_id, "City")
    ids = {"ann": make_subscriber(engine, list_id, "Ann@Example.com", {field_id: "Oslo"}),
           "bob": make_subscriber(engine, list_id, "bob@example.com", {field_id: "Rome"}),
           "cy": make_subscriber(engine, list_id, "cy@elsewhere.org", subscription_status="Unsubscribed")}
    return list_id, field_id, ids


# --- Subscriber.Exists -------------------------------------------------------------------------
def test_exists_finds_the_address_whatever_its_case(api, user, crowd):
    list_id, _, ids = crowd
    assert api("Subscriber.Exists", user.session, ListID=list_id, EmailAddress="ANN@example.COM") == {
        "Success": True, "ErrorCode": 0, "Exists": True, "SubscriberID": ids["ann"]}
    assert api("Subscriber.Exists", user.session, ListID=list_id, EmailAddress="zed@example.com") == {
        "Success": True, "ErrorCode": 0, "Exists": False, "SubscriberID": 0}


def test_exists_codes(api, engine, user, other_user, crowd):
    list_id, _, _ = crowd
    before = stored_state(engine)
    assert api("Subscriber.Exists", user.session, EmailAddress="ann@example.com")["ErrorCode"] == 1
    assert api("Subscriber.Exists", user.session, ListID=list_id)["ErrorCode"] == 2
    assert api("Subscriber.Exists", user.session, ListID="abc", EmailAddress="a@b.c")["ErrorCode"] == 3
    # Another account's list is "invalid", never an oracle for its addresses.
    assert api("Subscriber.Exists", other_user.session, ListID=list_id, EmailAddress="ann@example.com") == {
        "Success": False, "ErrorCode": 3, "ErrorText": "Invalid ListID"}
    assert stored_state(engine) == before


# --- Subscriber.Get.Activity -------------------------------------------------------------------
def test_activity_reads_the_ledgers_and_tracking_newest_first(api, engine, user, crowd):
    list_id, _, ids = crowd
    cid = campaign(engine, user, status="Sent", email_id=None)
    sent(engine, cid, {ids["ann"]: "ann@example.com", ids["bob"]: "bob@example.com"})
    sent(engine, cid, {ids["ann"]: "ann@example.com"}, state="failed", minutes=1)  # never reached her
    track(engine, cid, ids["ann"], "open", minutes=2)
    track(engine, cid, ids["ann"], "click", url="https://shop.example/", minutes=3)
    track(engine, cid, ids["bob"], "open", minutes=4)  # someone else's
    answer = api("Subscriber.Get.Activity", user.session, SubscriberID=ids["ann"], SubscriberListID=list_id)
    assert answer == {"Success": True, "ErrorCode": 0, "Activity": [
        {"ActivityType": "EmailClick", "CampaignID": cid, "EmailID": 0, "ActivityDate": "2026-11-23 12:03:00",
         "LinkURL": "https://shop.example/"},
        {"ActivityType": "EmailOpen", "CampaignID": cid, "EmailID": 0, "ActivityDate": "2026-11-23 12:02:00"},
        {"ActivityType": "EmailSent", "CampaignID": cid, "EmailID": 0, "ActivityDate": "2026-11-23 12:00:00"}]}


def test_activity_includes_autoresponder_sends(api, engine, user, crowd):
    from types import SimpleNamespace

    from tests.builders import make_email
    list_id, _, ids = crowd
    shop = SimpleNamespace(list_id=list_id, email_id=make_email(engine, user, subject="Hi", html_content="<p>x</p>"))
    responder_id = made(api, user, shop)
    moment = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
    add_send(engine, responder_id, ids["bob"], state="sent", sent_at=moment, email_id=shop.email_id)
    add_send(engine, responder_id, ids["bob"], occurrence="/1")  # pending: not sent yet
    answer = api("Subscriber.Get.Activity", user.session, SubscriberID=ids["bob"], SubscriberListID=list_id)
    assert answer["Activity"] == [{"ActivityType": "AutoResponderSent", "CampaignID": 0, "EmailID": shop.email_id,
                                   "ActivityDate": "2026-11-20 08:00:00", "AutoResponderID": responder_id}]


def test_activity_codes(api, engine, user, other_user, crowd):
    list_id, _, ids = crowd
    other_list = make_list(engine, user, "Other")
    before = stored_state(engine)
    assert api("Subscriber.Get.Activity", user.session, SubscriberListID=list_id)["ErrorCode"] == 1
    assert api("Subscriber.Get.Activity", user.session, SubscriberID=ids["ann"])["ErrorCode"] == 2
    assert api("Subscriber.Get.Activity", user.session, SubscriberID=ids["ann"],
               SubscriberListID=other_list)["ErrorCode"] == 3
    assert api("Subscriber.Get.Activity", other_user.session, SubscriberID=ids["ann"],
               SubscriberListID=list_id)["ErrorCode"] == 3
    assert stored_state(engine) == before


# --- Subscribers.Search ------------------------------------------------------------------------
def test_search_by_rules_json_pages_and_counts(api, engine, user, crowd):
    list_id, field_id, ids = crowd
    with engine.uow() as uow:
        uow.session.add(Suppression(owner_user_id=user.id, email_normalized="bob@example.com",
                                    email_address="bob@example.com", created_at=uow.clock()))
        uow.commit()
    answer = api("Subscribers.Search", user.session, ListID=list_id, Operator="and", RulesJSON=CONTAINS,
                 RecordsPerRequest=1, OrderField="EmailAddress", OrderType="DESC")
    assert answer["TotalSubscribers"] == 2 and answer["ErrorText"] == ""
    [row] = answer["Subscribers"]
    assert (row["SubscriberID"], row["EmailAddress"], row["Suppressed"], row["SubscriberTags"],
            row["TotalRevenue"], row[f"CustomField{field_id}"]) == (ids["bob"], "bob@example.com", True, [], 0, "Rome")
    second = api("Subscribers.Search", user.session, ListID=list_id, Operator="and", RulesJSON=CONTAINS,
                 RecordsPerRequest=1, RecordsFrom=1, OrderType="DESC")
    assert [(r["SubscriberID"], r["Suppressed"]) for r in second["Subscribers"]] == [(ids["ann"], False)]


def test_search_without_rules_is_the_whole_list_and_only_total_counts(api, user, crowd):
    list_id, _, _ = crowd
    whole = api("Subscribers.Search", user.session, ListID=list_id, Operator="or")
    assert whole["TotalSubscribers"] == 3 and len(whole["Subscribers"]) == 3
    empty = api("Subscribers.Search", user.session, ListID=list_id, Operator="or", RulesJSON="")
    assert empty["TotalSubscribers"] == 3
    assert api("Subscribers.Search", user.session, ListID=list_id, Operator="and", OnlyTotal="1") == {
        "Success": True, "ErrorCode": 0, "ErrorText": "", "TotalSubscribers": 3}


def test_search_page_size_zero_as_the_page_documents(api, user, crowd):
    list_id, _, _ = crowd
    text_zero = api("Subscribers.Search", user.session, ListID=list_id, Operator="and", RecordsPerRequest="0")
    assert (text_zero["TotalSubscribers"], text_zero["Subscribers"]) == (3, [])
    json_zero = api.json({"Command": "Subscribers.Search", "SessionID": user.session, "ListID": list_id,
                          "Operator": "and", "RecordsPerRequest": 0})
    assert len(json_zero["Subscribers"]) == 3


@pytest.mark.parametrize("rules", ["[]", "[[]]", "[[{}]]", "not json", '[[{"type":"nonsense"}]]'])
def test_search_refuses_rules_that_filter_nothing(api, engine, user, crowd, rules):
    list_id, _, _ = crowd
    before = stored_state(engine)
    answer = api("Subscribers.Search", user.session, ListID=list_id, Operator="and", RulesJSON=rules)
    assert answer["ErrorCode"] == [6] and "Subscribers" not in answer
    assert stored_state(engine) == before


def test_search_codes(api, engine, user, other_user, crowd):
    list_id, _, _ = crowd
    before = stored_state(engine)
    assert api("Subscribers.Search", user.session, Operator="and")["ErrorCode"] == [1]
    assert api("Subscribers.Search", user.session, ListID=list_id)["ErrorCode"] == [2]
    assert api("Subscribers.Search", other_user.session, ListID=list_id, Operator="and")["ErrorCode"] == [3]
    legacy = api("Subscribers.Search", user.session, ListID=list_id, Operator="and", Rules="EmailAddress|contains|x")
    assert legacy["ErrorCode"] == [4]
    nested = api.json({"Command": "Subscribers.Search", "SessionID": user.session, "ListID": list_id,
                       "Operator": "and", "RulesJSON": [[{"type": "fields"}]]})
    assert nested["ErrorCode"] == [6]  # a nested array, not a JSON string
    assert stored_state(engine) == before


def test_search_segment_recursion_is_5(api, engine, user, crowd):
    list_id, _, _ = crowd
    segment_id = make_segment(engine, user, list_id)
    from engine.models import Segment
    with engine.uow() as uow:
        uow.session.get(Segment, segment_id).rules_json = json.dumps(
            [[{"type": "segments", "operator": "belongs to", "value": segment_id}]])
        uow.commit()
    answer = api("Subscribers.Search", user.session, ListID=list_id, Operator="and",
                 RulesJSON=json.dumps([[{"type": "segments", "operator": "belongs to", "value": segment_id}]]))
    assert answer["ErrorCode"] == [5] and "recursion" in answer["ErrorText"][0]


def test_every_documented_code_is_reached(request):
    assert_codes_reached(request, SEEN, subscriber_reports.COMMANDS, {})
