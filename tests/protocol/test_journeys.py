"""Journeys through HTTP: Journey.Create / Get / List / Update / Delete / Enable / Disable / Clone and the bulk
forms — every documented code, owner checks, and the stored state after each call."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.models import Journey, JourneyAction
from protocol.commands import journeys as J
from tests.builders import CodeRecorder, assert_codes_reached, make_custom_field, make_email, make_list
from tests.helpers import stored_state

SEEN: dict = {}
# Documented, but nothing Sendmill does can produce them (README "Journeys"): the list and email of a trigger
# are optional (0: any), RevenueHit is refused as a trigger before its value is read, and a clone that fails
# fails the whole call with an internal error.
NEVER_EMITTED = {"Journey.Create": {4, 7, 14, 15}, "Journey.Update": {4, 7, 14, 15},
                 "Journey.Clone": {4}}


@pytest.fixture
def call(api):
    return CodeRecorder(api, SEEN)


def journeys(engine) -> list[tuple]:
    with engine.uow() as uow:
        return [(j.id, j.owner_user_id, j.name, j.trigger, j.trigger_list_id, j.trigger_value, j.status)
                for j in uow.session.scalars(select(Journey).order_by(Journey.id))]


def create(call, user, name="Welcome", **extra) -> int:
    answer = call("Journey.Create", user.session, Name=name, **extra)
    assert answer["Success"] is True, answer
    return answer["JourneyID"]


# --- Journey.Create ----------------------------------------------------------------------------
def test_create_stores_a_disabled_manual_journey(call, user, engine):
    answer = call("Journey.Create", user.session, Name="Welcome Series", Notes="Onboarding")
    journey_id = answer["JourneyID"]
    assert answer["Journey"]["JourneyID"] == str(journey_id) and answer["Journey"]["Status"] == "Disabled"
    assert answer["Journey"]["Trigger"] == "Manual" and answer["Journey"]["Notes"] == "Onboarding"
    assert journeys(engine) == [(journey_id, user.id, "Welcome Series", "Manual", 0, "", "Disabled")]


def test_create_list_subscription_trigger(call, user, engine, list_id):
    journey_id = create(call, user, Trigger="listsubscription", Trigger_ListID=list_id)
    assert journeys(engine)[0][3:5] == ("ListSubscription", list_id)
    answer = call("Journey.Get", user.session, JourneyID=journey_id)
    assert answer["TriggerParameters"] == {"ListID": list_id}


@pytest.mark.parametrize("params, code", [
    ({}, 1),
    ({"Name": "x", "Trigger": "Sometimes"}, 3),
    ({"Name": "x", "Trigger": "RevenueHit", "Trigger_Value": "10"}, 3),
    ({"Name": "x", "Trigger": "WebsiteEvent_pageView"}, 3),
    ({"Name": "x", "Trigger": "ListSubscription", "Trigger_ListID": "abc"}, 5),
    ({"Name": "x", "Trigger": "EmailOpen", "Trigger_EmailID": "-3"}, 8),
    ({"Name": "x", "Trigger": "Tag", "Trigger_Value": "vip"}, 10),
    ({"Name": "x", "Trigger": "CustomFieldValueChanged", "Trigger_Value": "first"}, 12),
    ({"Name": "x", "Trigger": "JourneyCompleted", "Trigger_Value": "none"}, 16),
    ({"Name": "x", "Trigger": "JourneyCompleted", "Trigger_Value": "999"}, 17),
    ({"Name": "x", "Rate_Limit_Per_Hour": "-1"}, 18),
    ({"Name": "x", "Rate_Limit_Per_Day": "many"}, 19),
    ({"Name": "x", "Trigger": "ScheduledPull"}, 20),
    ({"Name": "x", "Trigger": "ScheduledPull", "Trigger_ListID": 999}, 21),
    ({"Name": "x", "Trigger": "ScheduledPull", "Trigger_ListID": "{list}", "TriggerParameters[IntervalUnit]": "weeks"}, 23),
    ({"Name": "x", "Run_Criteria": "not json"}, 24),
    ({"Name": "x", "Run_Criteria_Operator": "xor"}, 24),
    ({"Name": "x" * 256}, 25),
])
def test_create_refusals_change_nothing(call, user, engine, list_id, params, code):
    params = {k: (v.replace("{list}", str(list_id)) if isinstance(v, str) else v) for k, v in params.items()}
    before = stored_state(engine)
    answer = call("Journey.Create", user.session, **params)
    assert answer["Success"] is False and answer["ErrorCode"][0] == code, answer
    assert answer["Errors"][0]["Code"] == code
    assert stored_state(engine) == before


def test_create_refuses_another_accounts_list_email_tag_field(call, user, other_user, engine):
    foreign_list = make_list(engine, other_user, "Theirs")
    foreign_email = make_email(engine, other_user)
    foreign_field = make_custom_field(engine, other_user, foreign_list)
    with engine.uow() as uow:
        tag = uow.subscriber_tags.create(__import__("tests.builders", fromlist=["x"]).user_actor(other_user),
                                         foreign_list, "vip", "")
        uow.commit()
        tag_id = tag.id
    before = stored_state(engine)
    assert call("Journey.Create", user.session, Name="x", Trigger="ListSubscription",
                Trigger_ListID=foreign_list)["ErrorCode"][0] == 6
    assert call("Journey.Create", user.session, Name="x", Trigger="EmailOpen",
                Trigger_EmailID=foreign_email)["ErrorCode"][0] == 9
    assert call("Journey.Create", user.session, Name="x", Trigger="Tag", Trigger_Value=tag_id)["ErrorCode"][0] == 11
    assert call("Journey.Create", user.session, Name="x", Trigger="CustomFieldValueChanged",
                Trigger_Value=foreign_field)["ErrorCode"][0] == 13
    assert stored_state(engine) == before


def test_scheduled_pull_parameters_are_case_insensitive_and_canonical(call, user, engine, list_id, api):
    answer = api.json({"Command": "journey.create", "SessionID": user.session, "Name": "Warm-up",
                       "Trigger": "ScheduledPull", "Trigger_ListID": list_id,
                       "TriggerParameters": {"intervalvalue": 1, "IntervalUnit": "hours", "subscriberCountMode": "random",
                                             "SubscriberCountMin": 5, "SubscriberCountMax": 25,
                                             "AllowedDays": ["mon", "tue"]}})
    assert answer["Success"] is True, answer
    params = answer["Journey"]["TriggerParameters"]
    assert params["IntervalValue"] == 1 and params["IntervalUnit"] == "hours" and params["SubscriberCountMode"] == "random"
    assert params["SubscriberCountMax"] == 25 and params["AllowedDays"] == ["mon", "tue"] and params["ListID"] == list_id


# --- Journey.Get / Journey.List ----------------------------------------------------------------
def test_get_and_list_show_only_the_callers_journeys(call, user, other_user, engine):
    mine = create(call, user, "Mine")
    theirs = create(call, other_user, "Theirs")
    answer = call("Journey.Get", user.session, JourneyID=mine)
    assert answer["JourneyName"] == "Mine" and answer["Actions"] == []
    stats = answer["JourneyStats"]
    assert stats["ActiveSubscribers"] == stats["TotalSubscribers"] == 0
    assert stats["AggregatedEmailActions"] == {
        "SendCount": 0, "DeliveryCount": 0, "OpenCount": 0, "ClickCount": 0, "BounceCount": 0, "UnsubscribeCount": 0,
        "SpamComplaintCount": 0, "TotalRevenue": 0.0, "ConversionCount": 0, "BrowserViewCount": 0, "ForwardCount": 0}
    assert call("Journey.Get", user.session, JourneyID=theirs)["ErrorCode"][0] == 3
    listed = call("Journey.List", user.session)["Journeys"]
    assert [row["JourneyID"] for row in listed] == [str(mine)] and "JourneyStats" in listed[0]
    skipped = call("Journey.List", user.session, SkipStats=1)["Journeys"]
    assert "JourneyStats" not in skipped[0]


def test_get_counters_on_request(call, user):
    journey_id = create(call, user)
    stats = call("Journey.Get", user.session, JourneyID=journey_id, IncludeActivityCounters=1)["JourneyStats"]
    assert stats["LastTriggeredAt"] is None and stats["TotalEnrolledLifetime"] == 0


@pytest.mark.parametrize("params, code", [
    ({}, 1), ({"JourneyID": "x"}, 2), ({"JourneyID": "{j}", "StartDate": "2026-02-31"}, 4),
    ({"JourneyID": "{j}", "EndDate": "2026-1-5"}, 5),
    ({"JourneyID": "{j}", "StartDate": "2026-05-02", "EndDate": "2026-05-01"}, 6),
    ({"JourneyID": "{j}", "StartDate": "2099-01-01"}, 6),
    ({"JourneyID": "{j}", "EmailID": 5}, 7), ({"JourneyID": "{j}", "ISP": "gmail com"}, 8),
])
def test_get_refusals(call, user, params, code):
    journey_id = create(call, user)
    params = {k: (v.replace("{j}", str(journey_id)) if isinstance(v, str) else v) for k, v in params.items()}
    assert call("Journey.Get", user.session, **params)["ErrorCode"][0] == code


def test_list_date_errors_accumulate(call, user):
    answer = call("Journey.List", user.session, StatsStartDate="0000-00-00", StatsEndDate="20260105")
    assert answer["ErrorCode"] == [4, 5] and [e["Code"] for e in answer["Errors"]] == [4, 5]
    assert call("Journey.List", user.session, StatsEndDate="2026-11-23 ")["ErrorCode"] == [5]
    assert call("Journey.List", user.session, StatsStartDate="2026-11-23",
                StatsEndDate="2026-11-01")["ErrorCode"][0] == 6


# --- Journey.Update ----------------------------------------------------------------------------
def test_update_changes_only_what_is_given(call, user, engine, list_id):
    journey_id = create(call, user, Notes="old")
    answer = call("Journey.Update", user.session, JourneyID=journey_id, Name="V2", Trigger="ListUnsubscription",
                  Trigger_ListID=list_id, Rate_Limit_Per_Hour=5)
    assert answer["Journey"]["JourneyName"] == "V2" and answer["Journey"]["Notes"] == "old"
    assert journeys(engine)[0][2:5] == ("V2", "ListUnsubscription", list_id)


@pytest.mark.parametrize("params, code", [
    ({}, 1), ({"JourneyID": "zero"}, 2), ({"JourneyID": 9999}, 10), ({"JourneyID": "{j}", "Trigger": "Nope"}, 3),
    ({"JourneyID": "{j}", "Trigger": "ListSubscription", "Trigger_ListID": 9999}, 6),
    ({"JourneyID": "{j}", "Trigger": "EmailLinkClick", "Trigger_EmailID": 9999}, 9),
    ({"JourneyID": "{j}", "Trigger": "Tag", "Trigger_Value": "9999"}, 11),
    ({"JourneyID": "{j}", "Trigger": "Tag", "Trigger_Value": "vip"}, 26),
    ({"JourneyID": "{j}", "Trigger": "CustomFieldValueChanged", "Trigger_Value": "x"}, 12),
    ({"JourneyID": "{j}", "Trigger": "CustomFieldValueChanged", "Trigger_Value": "9999"}, 13),
    ({"JourneyID": "{j}", "Trigger": "JourneyCompleted", "Trigger_Value": "x"}, 16),
    ({"JourneyID": "{j}", "Trigger": "JourneyCompleted", "Trigger_Value": "9999"}, 17),
    ({"JourneyID": "{j}", "Trigger": "JourneyCompleted", "Trigger_Value": "{j}"}, 22),
    ({"JourneyID": "{j}", "Trigger_ListID": "list"}, 5), ({"JourneyID": "{j}", "Trigger_EmailID": "-2"}, 8),
    ({"JourneyID": "{j}", "Rate_Limit_Per_Hour": "-5"}, 18), ({"JourneyID": "{j}", "Rate_Limit_Per_Day": "-5"}, 19),
    ({"JourneyID": "{j}", "Trigger": "ScheduledPull", "Trigger_ListID": 0}, 20),
    ({"JourneyID": "{j}", "Trigger": "ScheduledPull", "Trigger_ListID": 9999}, 21),
    ({"JourneyID": "{j}", "TriggerParameters": "[1]"}, 23),
    ({"JourneyID": "{j}", "Trigger_Criteria": "{bad"}, 24), ({"JourneyID": "{j}", "Name": "n" * 300}, 25),
])
def test_update_refusals_change_nothing(call, user, engine, params, code):
    journey_id = create(call, user)
    params = {k: (v.replace("{j}", str(journey_id)) if isinstance(v, str) else v) for k, v in params.items()}
    before = stored_state(engine)
    answer = call("Journey.Update", user.session, **params)
    assert answer["ErrorCode"][0] == code, answer
    assert stored_state(engine) == before


def test_a_journey_can_follow_another_ones_completion(call, user, engine):
    first = create(call, user, "First")
    second = create(call, user, "Second", Trigger="JourneyCompleted", Trigger_Value=first)
    assert journeys(engine)[1][3:6] == ("JourneyCompleted", 0, str(first))
    assert call("Journey.Update", user.session, JourneyID=second, Name="Then")["Success"] is True


# --- Enable / Disable / bulk -------------------------------------------------------------------
def test_enable_disable_and_their_codes(call, user, other_user, engine):
    journey_id = create(call, user)
    theirs = create(call, other_user)
    assert call("Journey.Enable", user.session, JourneyID=journey_id)["Journey"]["Status"] == "Enabled"
    assert call("Journey.Enable", user.session, JourneyID=journey_id)["ErrorCode"][0] == 4
    assert call("Journey.Enable", user.session, JourneyID=theirs)["ErrorCode"][0] == 3
    assert call("Journey.Enable", user.session)["ErrorCode"][0] == 1
    assert call("Journey.Enable", user.session, JourneyID="x")["ErrorCode"][0] == 2
    assert call("Journey.Disable", user.session, JourneyID=journey_id)["Journey"]["Status"] == "Disabled"
    for code, params in ((1, {}), (2, {"JourneyID": "-1"}), (3, {"JourneyID": theirs}), (4, {"JourneyID": journey_id})):
        assert call("Journey.Disable", user.session, **params)["ErrorCode"][0] == code
    assert [row[6] for row in journeys(engine)] == ["Disabled", "Disabled"]


def test_bulk_enable_disable_split_processed_and_failed(call, user, other_user, engine):
    a, b = create(call, user, "A"), create(call, user, "B")
    theirs = create(call, other_user)
    answer = call("Journeys.Enable", user.session, JourneyIDs=f"{a},{theirs},{b}")
    assert answer["ProcessedJourneyIDs"] == [a, b] and answer["FailedJourneyIDs"] == [theirs]
    answer = call("Journeys.Disable", user.session, JourneyIDs=f"{a},9999")
    assert answer["ProcessedJourneyIDs"] == [a] and answer["FailedJourneyIDs"] == [9999]
    assert [row[6] for row in journeys(engine)] == ["Disabled", "Enabled", "Disabled"]
    for command in ("Journeys.Enable", "Journeys.Disable", "Journeys.Clone"):
        assert call(command, user.session)["ErrorCode"][0] == 1
        assert call(command, user.session, JourneyIDs="a,b")["ErrorCode"][0] == 2


# --- Clone / Delete ----------------------------------------------------------------------------
def test_clone_copies_settings_and_actions(call, user, other_user, engine, list_id):
    source = create(call, user, "Source", Trigger="ListSubscription", Trigger_ListID=list_id)
    call("Journey.Enable", user.session, JourneyID=source)
    call("Journey.Actions.Update", user.session, JourneyID=source, Actions=json.dumps(
        [{"Action": "Decision", "Criteria": [], "Published": True,
          "Actions": {"True": [{"Action": "ExitThisJourney"}], "False": []}}, {"Action": "Wait", "WaitAmount": 1}]))
    answer = call("Journey.Clone", user.session, JourneyID=source, NewJourneyName="Copy")
    assert answer["Journey"]["Status"] == "Disabled" and answer["Journey"]["Notes"] == "Copy of journey Source"
    assert [a["Action"] for a in answer["Actions"]] == ["Decision", "Wait"]
    assert answer["Actions"][0]["Actions"]["True"][0]["Action"] == "ExitThisJourney"
    with engine.uow() as uow:
        assert uow.session.scalar(select(JourneyAction).where(JourneyAction.journey_id == int(answer["Journey"]["JourneyID"]),
                                                              JourneyAction.action == "Decision")).next_action_id
    theirs = create(call, other_user)
    for code, params in ((1, {"JourneyID": source}), (2, {"NewJourneyName": "x"}),
                         (3, {"JourneyID": theirs, "NewJourneyName": "x"}),
                         (5, {"JourneyID": source, "NewJourneyName": "x" * 300})):
        assert call("Journey.Clone", user.session, **params)["ErrorCode"][0] == code
    bulk = call("Journeys.Clone", user.session, JourneyIDs=f"{source},{theirs}", NameSuffix="- backup")
    assert bulk["FailedJourneyIDs"] == [theirs] and bulk["ClonedJourneys"][0]["SourceJourneyID"] == source
    assert journeys(engine)[-1][2] == "Source - backup"
    assert call("Journeys.Clone", user.session, JourneyIDs=source, NameSuffix="s" * 101)["ErrorCode"][0] == 3


def test_delete_one_and_many(call, user, other_user, engine):
    a, b, c = create(call, user, "A"), create(call, user, "B"), create(call, user, "C")
    theirs = create(call, other_user)
    assert call("Journey.Delete", user.session, JourneyID=theirs)["ErrorCode"][0] == 3
    assert call("Journey.Delete", user.session)["ErrorCode"][0] == 1
    assert call("Journey.Delete", user.session, JourneyID="one")["ErrorCode"][0] == 2
    assert call("Journey.Delete", user.session, JourneyID=a) == {"Success": True, "ErrorCode": 0, "JourneyID": a}
    answer = call("Journeys.Delete", user.session, Journeys=f"{b},{theirs},{c}")
    assert answer["Success"] is True and answer["ErrorCode"] == 0
    assert [row[0] for row in journeys(engine)] == [theirs]
    assert call("Journeys.Delete", user.session)["ErrorCode"][0] == 1


def test_every_code_is_reached(request):
    assert_codes_reached(request, SEEN, J.COMMANDS, NEVER_EMITTED)
