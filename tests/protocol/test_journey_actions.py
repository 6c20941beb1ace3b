"""Journey actions and a subscriber's journeys through HTTP: Journey.Actions.Update / Published,
Journey.Action.Subscribers, Journey.Stats.ByAction, Journey.SendEmailActions, Subscriber.Journey.Trigger /
Remove / Exit / List, and the event sites that enroll (Subscriber.Subscribe, .Unsubscribe, .Tag, .Untag)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.automation.journeys.runner import run_pass
from engine.models import JourneyAction, JourneyEnrollment
from protocol.commands import journey_actions as A, subscriber_journeys as S
from tests.builders import CodeRecorder, assert_codes_reached, make_email, make_list, make_subscriber
from tests.helpers import stored_state

SEEN: dict = {}
NEVER_EMITTED = {"Journey.Actions.Published": {7}}  # the journey cannot vanish inside the call's transaction


@pytest.fixture
def call(api):
    return CodeRecorder(api, SEEN)


def new_journey(call, user, **extra) -> int:
    answer = call("Journey.Create", user.session, Name="J", **extra)
    assert answer["Success"], answer
    return answer["JourneyID"]


def set_actions(call, user, journey_id, actions) -> dict:
    return call("Journey.Actions.Update", user.session, JourneyID=journey_id, Actions=json.dumps(actions))


def enrollments(engine) -> list[tuple]:
    with engine.uow() as uow:
        return sorted(uow.session.execute(select(JourneyEnrollment.journey_id, JourneyEnrollment.subscriber_id,
                                                 JourneyEnrollment.state)))


# --- Journey.Actions.Update --------------------------------------------------------------------
def test_actions_update_stores_the_tree_and_keeps_ids(call, user, engine):
    email_id = make_email(engine, user)
    journey_id = new_journey(call, user)
    answer = set_actions(call, user, journey_id, [
        {"Action": "SendEmail", "EmailID": email_id, "Published": "true",
         "From": {"Name": "Support", "Email": "support@sender.example"}, "Reply-To": {"Name": "R", "Email": "r@x.example"},
         "CC": [{"Name": "C", "Email": "c@x.example"}], "BCC": [{"Name": "B", "Email": "b@x.example"}]},
        {"Action": "Wait", "WaitUnit": "Days", "WaitAmount": 2}])
    first, wait = answer["Actions"]
    assert first["Action"] == "SendEmail" and first["Published"] == "true"
    assert first["ActionParameters"] == {"EmailID": email_id, "From": {"Name": "Support", "Email": "support@sender.example"},
                                         "ReplyTo": {"Name": "R", "Email": "r@x.example"},
                                         "CC": [{"Name": "C", "Email": "c@x.example"}],
                                         "BCC": [{"Name": "B", "Email": "b@x.example"}]}
    assert wait["ActionParameters"] == {"WaitUnit": "days", "WaitAmount": 2} and wait["Published"] == "false"
    again = set_actions(call, user, journey_id, [{"ActionID": wait["ActionID"], "Action": "Wait", "WaitAmount": 3}])
    assert [a["ActionID"] for a in again["Actions"]] == [wait["ActionID"]]
    with engine.uow() as uow:
        rows = [(r.id, r.next_action_id) for r in uow.session.scalars(select(JourneyAction))]
    assert rows == [(int(wait["ActionID"]), 0)]


@pytest.mark.parametrize("params, code", [
    ({"Actions": "[]"}, 1), ({"JourneyID": "{j}"}, 2), ({"JourneyID": "x", "Actions": "[]"}, 3),
    ({"JourneyID": "{j}", "Actions": "{not json"}, 4), ({"JourneyID": "{j}", "Actions": "7"}, 4),
    ({"JourneyID": 9999, "Actions": "[]"}, 5),
    ({"JourneyID": "{j}", "Actions": '[{"Action": "Teleport"}]'}, 6),
    ({"JourneyID": "{j}", "Actions": '[{"ActionID": 9999, "Action": "Wait"}]'}, 6),
    ({"JourneyID": "{j}", "Actions": '[{"Action": "Wait", "WaitUnit": "years"}]'}, 7),
    ({"JourneyID": "{j}", "Actions": '[{"Action": "SendEmail", "Published": true}]'}, 7),
    ({"JourneyID": "{j}", "Actions": '[{"Action": "AddTag", "TargetTagID": 9999}]'}, 7),
    ({"JourneyID": "{j}", "Actions": '[{"Action": "Webhook", "WebhookURL": "ftp://x"}]'}, 7),
    ({"JourneyID": "{j}", "Actions": '[{"Action": "SendSMS", "message": "hi"}]'}, 8),
])
def test_actions_update_refusals_change_nothing(call, user, engine, params, code):
    journey_id = new_journey(call, user)
    set_actions(call, user, journey_id, [{"Action": "Wait", "WaitAmount": 1}])
    params = {k: (v.replace("{j}", str(journey_id)) if isinstance(v, str) else v) for k, v in params.items()}
    before = stored_state(engine)
    answer = call("Journey.Actions.Update", user.session, **params)
    assert answer["ErrorCode"][0] == code, answer
    assert stored_state(engine) == before


def test_actions_of_another_account_are_refused(call, user, other_user, engine):
    theirs = new_journey(call, other_user)
    their_email = make_email(engine, other_user)
    mine = new_journey(call, user)
    assert set_actions(call, user, theirs, [])["ErrorCode"][0] == 5
    assert set_actions(call, user, mine, [{"Action": "SendEmail", "EmailID": their_email}])["ErrorCode"][0] == 7


def test_published_flips_the_flags(call, user, other_user, engine):
    journey_id = new_journey(call, user)
    wait, debug = (a["ActionID"] for a in set_actions(call, user, journey_id, [
        {"Action": "Wait", "WaitAmount": 1}, {"Action": "Debug"}])["Actions"])
    answer = call("Journey.Actions.Published", user.session, JourneyID=journey_id,
                  Actions=json.dumps([{"actionid": wait, "published": "true"}]))
    assert answer["Actions"] == [{"ActionID": wait, "Published": "true"}]
    before = stored_state(engine)
    assert call("Journey.Actions.Published", user.session, JourneyID=journey_id,
                Actions=json.dumps([{"actionid": debug, "published": "true"}, {"actionid": 9999}]))["ErrorCode"][0] == 6
    assert stored_state(engine) == before
    theirs = new_journey(call, other_user)
    for code, params in ((1, {"Actions": "[]"}), (2, {"JourneyID": journey_id}), (3, {"JourneyID": "x", "Actions": "[]"}),
                         (4, {"JourneyID": journey_id, "Actions": "x"}), (5, {"JourneyID": theirs, "Actions": "[]"})):
        assert call("Journey.Actions.Published", user.session, **params)["ErrorCode"][0] == code


# --- a journey running, seen through the read commands -----------------------------------------
@pytest.fixture
def running(call, user, engine, clock):
    list_id = make_list(engine, user, "Shop")
    ids = [make_subscriber(engine, list_id, f"s{n}@gmail.com") for n in range(2)]
    email_id = make_email(engine, user, email_name="Day 1", subject="Welcome")
    journey_id = new_journey(call, user)
    send, wait = (a["ActionID"] for a in set_actions(call, user, journey_id, [
        {"Action": "SendEmail", "EmailID": email_id, "Published": True},
        {"Action": "Wait", "WaitAmount": 1, "Published": True}])["Actions"])
    call("Journey.Enable", user.session, JourneyID=journey_id)
    for sid in ids:
        assert call("Subscriber.Journey.Trigger", user.session, JourneyID=journey_id, ListID=list_id,
                    SubscriberID=sid)["Success"] is True
    run_pass(engine, clock())
    return {"list": list_id, "ids": ids, "journey": journey_id, "send": int(send), "wait": int(wait),
            "email": email_id}


def test_action_subscribers_and_stats(call, user, running):
    answer = call("Journey.Action.Subscribers", user.session, JourneyID=running["journey"], ActionID=running["send"],
                  OrderType="DESC")
    assert answer["TotalSubscribers"] == 2
    assert [r["EmailAddress"] for r in answer["Subscribers"]] == ["s1@gmail.com", "s0@gmail.com"]
    assert call("Journey.Action.Subscribers", user.session, JourneyID=running["journey"], ActionID=running["send"],
                FilterJSON='["unsubscribed"]')["TotalSubscribers"] == 0
    for code, params in ((1, {"ActionID": 1}), (2, {"JourneyID": 1}), (3, {"JourneyID": "x", "ActionID": 1}),
                         (4, {"JourneyID": 1, "ActionID": "x"}),
                         (5, {"JourneyID": running["journey"], "ActionID": running["send"], "FilterJSON": "{"}),
                         (6, {"JourneyID": running["journey"], "ActionID": running["send"], "FilterJSON": '["nope"]'}),
                         (7, {"JourneyID": running["journey"], "ActionID": running["send"], "Operator": "XOR"}),
                         (9, {"JourneyID": running["journey"], "ActionID": running["send"], "RecordsPerRequest": 5000}),
                         (5, {"JourneyID": 9999, "ActionID": running["send"]}),
                         (6, {"JourneyID": running["journey"], "ActionID": 9999})):
        assert call("Journey.Action.Subscribers", user.session, **params)["ErrorCode"][0] == code, params
    stats = call("Journey.Stats.ByAction", user.session, JourneyID=running["journey"], StartDate="2026-11-20",
                 EndDate="2026-11-23")
    row, = stats["Actions"]
    assert row["ActionID"] == running["send"] and row["EmailName"] == "Day 1" and row["Stats"]["SendCount"] == 2
    assert [d["SendCount"] for d in row["DailyStats"]] == [0, 0, 0, 2]
    assert call("Journey.Stats.ByAction", user.session, JourneyID=running["journey"], ISP="yahoo.com",
                StartDate="2026-11-23")["Actions"][0]["Stats"]["SendCount"] == 0
    for code, params in ((1, {}), (2, {"JourneyID": "x"}), (3, {"JourneyID": 9999}),
                         (4, {"JourneyID": running["journey"], "StartDate": "2026-13-01"}),
                         (5, {"JourneyID": running["journey"], "EndDate": "x"}),
                         (6, {"JourneyID": running["journey"], "StartDate": "2026-11-23", "EndDate": "2026-11-22"}),
                         (7, {"JourneyID": running["journey"], "EmailID": running["wait"]}),
                         (8, {"JourneyID": running["journey"], "ISP": "a b"})):
        assert call("Journey.Stats.ByAction", user.session, **params)["ErrorCode"][0] == code, params


def test_send_email_actions_filters(call, user, other_user, running):
    answer = call("Journey.SendEmailActions", user.session)
    assert answer["Actions"] == [{"ActionID": running["send"], "JourneyID": running["journey"], "JourneyName": "J",
                                  "EmailName": "Day 1", "Subject": "Welcome", "OrderNo": 1, "Published": True}]
    call("Journey.Disable", user.session, JourneyID=running["journey"])
    assert call("Journey.SendEmailActions", user.session)["Actions"] == []
    assert len(call("Journey.SendEmailActions", user.session, IncludeDisabled=1)["Actions"]) == 1
    assert call("Journey.SendEmailActions", other_user.session, JourneyID=running["journey"],
                IncludeDisabled=1)["Actions"] == []
    assert call("Journey.SendEmailActions", user.session, JourneyID="x")["ErrorCode"][0] == 1


def test_get_shows_the_counts(call, user, running):
    stats = call("Journey.Get", user.session, JourneyID=running["journey"], IncludeActivityCounters=1)["JourneyStats"]
    assert stats["ActiveSubscribers"] == 2 and stats["TotalSubscribers"] == 2 and stats["TotalEnrolledLifetime"] == 2
    assert stats["LastTriggeredAt"] == "2026-11-23 12:00:00"


# --- Subscriber.Journey.* ----------------------------------------------------------------------
def test_subscriber_journey_commands(call, user, other_user, engine, running):
    list_id, sid, journey_id = running["list"], running["ids"][0], running["journey"]
    listed = call("Subscriber.Journey.List", user.session, ListID=list_id, SubscriberID=sid)
    assert [(j["JourneyID"], j["RunStatus"]) for j in listed["Journeys"]] == [(journey_id, "active")]
    answer = call("Subscriber.Journey.Trigger", user.session, JourneyID=journey_id, ListID=list_id, SubscriberID=sid)
    assert answer["ErrorCode"][0] == 7 and answer["SkippedJourneys"][0]["JourneyID"] == journey_id
    assert call("Subscriber.Journey.Exit", user.session, JourneyID=journey_id, ListID=list_id,
                SubscriberID=sid) == {"Success": True, "ErrorCode": 0, "JourneyID": journey_id, "ListID": list_id,
                                      "SubscriberID": sid}
    assert (journey_id, sid, "exited") in enrollments(engine)
    theirs = call("Journey.Create", other_user.session, Name="T")["JourneyID"]
    answer = call("Subscriber.Journey.Trigger", user.session, JourneyID=f"{journey_id},{theirs}", ListID=list_id,
                  SubscriberID=sid, BypassJourneyStatusCheck=1)
    assert answer["JourneyIDs"] == [journey_id] and answer["SkippedJourneys"] == [
        {"JourneyID": theirs, "Reason": "Journey not found"}]
    answer = call("Subscriber.Journey.Remove", user.session, JourneyID=journey_id, ListID=list_id, SubscriberID=sid)
    assert answer["JourneyIDs"] == [journey_id]
    assert [e for e in enrollments(engine) if e[1] == sid] == []
    before = stored_state(engine)
    for command in ("Subscriber.Journey.Trigger", "Subscriber.Journey.Remove", "Subscriber.Journey.Exit"):
        for code, params in ((1, {"ListID": list_id, "SubscriberID": sid}),
                             (2, {"JourneyID": journey_id, "SubscriberID": sid}),
                             (3, {"JourneyID": journey_id, "ListID": list_id}),
                             (4, {"JourneyID": "x", "ListID": list_id, "SubscriberID": sid}),
                             (5, {"JourneyID": journey_id, "ListID": "x", "SubscriberID": sid}),
                             (6, {"JourneyID": journey_id, "ListID": list_id, "SubscriberID": "x"}),
                             (7, {"JourneyID": theirs, "ListID": list_id, "SubscriberID": sid}),
                             (8, {"JourneyID": journey_id, "ListID": 9999, "SubscriberID": sid}),
                             (9, {"JourneyID": journey_id, "ListID": list_id, "SubscriberID": 9999})):
            assert call(command, user.session, **params)["ErrorCode"][0] == code, (command, params)
    for code, params in ((2, {"SubscriberID": sid}), (3, {"ListID": list_id}), (5, {"ListID": "x", "SubscriberID": sid}),
                         (6, {"ListID": list_id, "SubscriberID": "x"}), (8, {"ListID": 9999, "SubscriberID": sid}),
                         (9, {"ListID": list_id, "SubscriberID": 9999})):
        assert call("Subscriber.Journey.List", user.session, **params)["ErrorCode"][0] == code
    assert stored_state(engine) == before


def test_disabled_journey_is_skipped_without_bypass(call, user, engine, list_id):
    sid = make_subscriber(engine, list_id, "x@example.com")
    journey_id = new_journey(call, user)
    answer = call("Subscriber.Journey.Trigger", user.session, JourneyID=journey_id, ListID=list_id, SubscriberID=sid)
    assert answer["ErrorCode"][0] == 7 and answer["SkippedJourneys"][0]["Reason"] == "Journey is disabled"
    assert enrollments(engine) == []


# --- the event sites ---------------------------------------------------------------------------
def test_subscribe_unsubscribe_tag_and_untag_enroll(call, api, user, engine, list_id, clock):
    def journey(trigger, **extra):
        journey_id = new_journey(call, user, Trigger=trigger, **extra)
        set_actions(call, user, journey_id, [{"Action": "Wait", "WaitAmount": 1, "Published": True}])
        call("Journey.Enable", user.session, JourneyID=journey_id)
        return journey_id

    joined = journey("ListSubscription", Trigger_ListID=list_id)
    left = journey("ListUnsubscription")
    tag_id = api("Subscriber.Tags.Create", user.session, ListID=list_id, TagName="vip")["TagID"]
    tagged = journey("Tag", Trigger_Value=tag_id)
    untagged = journey("UnTag", Trigger_Value=tag_id)
    answer = api("Subscriber.Subscribe", user.session, ListID=list_id, EmailAddress="new@example.com",
                 IPAddress="192.0.2.1")
    sid = answer["SubscriberID"]
    assert enrollments(engine) == [(joined, sid, "active")]
    assert api("Subscriber.Tag", user.session, ListID=list_id, TagID=tag_id, SubscriberID=sid)["Success"]
    assert api("Subscriber.Untag", user.session, ListID=list_id, TagID=tag_id, SubscriberID=sid)["Success"]
    assert api("Subscriber.Unsubscribe", user.session, ListID=list_id, SubscriberID=sid,
               IPAddress="192.0.2.1")["Success"]
    assert enrollments(engine) == sorted([(joined, sid, "active"), (left, sid, "active"), (tagged, sid, "active"),
                                          (untagged, sid, "active")])


def test_every_code_is_reached(request):
    # Journey.Stats.ByISP's codes are reached in tests/protocol/test_journey_engagement.py.
    commands = tuple(c for c in A.COMMANDS if c is not A.JOURNEY_STATS_BY_ISP) + S.COMMANDS
    assert_codes_reached(request, SEEN, commands, NEVER_EMITTED)


def test_subscriber_update_fires_status_and_field_triggers(call, api, user, engine, list_id):
    from tests.builders import make_custom_field

    field_id = make_custom_field(engine, user, list_id, "Plan")
    sid = make_subscriber(engine, list_id, "u@example.com")
    journeys = {}
    for trigger, extra in (("CustomFieldValueChanged", {"Trigger_Value": field_id}),
                           ("ListUnsubscription", {}), ("ListSubscription", {"Trigger_ListID": list_id})):
        journey_id = new_journey(call, user, Trigger=trigger, **extra)
        set_actions(call, user, journey_id, [{"Action": "Wait", "WaitAmount": 1, "Published": True}])
        call("Journey.Enable", user.session, JourneyID=journey_id)
        journeys[trigger] = journey_id
    update = {"SubscriberID": sid, "SubscriberListID": list_id}
    assert api("Subscriber.Update", user.session, **update, **{f"Fields[CustomField{field_id}]": "Gold"})["Success"]
    assert api("Subscriber.Update", user.session, **update, **{f"Fields[CustomField{field_id}]": "Gold"})["Success"]
    assert enrollments(engine) == [(journeys["CustomFieldValueChanged"], sid, "active")]  # the same value: once
    assert api("Subscriber.Update", user.session, **update, SubscriptionStatus="Unsubscribed")["Success"]
    assert api("Subscriber.Update", user.session, **update, SubscriptionStatus="Subscribed")["Success"]
    assert {j for j, s, state in enrollments(engine)} == set(journeys.values())
