"""Journey.CopyToUser (administrators) and Account.Journey.Benchmark through HTTP, every code."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.automation.journeys.runner import run_pass
from engine.models import Email, Journey, JourneyAction
from protocol.commands import journey_admin as JA
from tests.builders import CodeRecorder, assert_codes_reached, make_email, make_list, make_subscriber
from tests.helpers import stored_state

SEEN: dict = {}
NEVER_EMITTED = {"Journey.CopyToUser": {10}}  # a failed insert fails the call with the internal-error code


@pytest.fixture
def call(api):
    return CodeRecorder(api, SEEN)


def test_copy_to_user_copies_emails_and_resets_the_rest(call, admin, user, other_user, engine, list_id):
    email_id = make_email(engine, user, email_name="Welcome", subject="Hi")
    tag_id = call("Subscriber.Tags.Create", user.session, ListID=list_id, TagName="vip")["TagID"]
    journey_id = call("Journey.Create", user.session, Name="Welcome", Trigger="ListSubscription",
                      Trigger_ListID=list_id)["JourneyID"]
    call("Journey.Actions.Update", user.session, JourneyID=journey_id, Actions=json.dumps([
        {"Action": "SendEmail", "EmailID": email_id, "Published": True},
        {"Action": "AddTag", "TargetTagID": tag_id, "Published": True},
        {"Action": "SendEmail", "EmailID": email_id, "Published": True}]))
    answer = call("Journey.CopyToUser", admin.session, JourneyID=journey_id, SourceUserID=user.id,
                  TargetUserID=other_user.id)
    new_id = answer["JourneyID"]
    assert answer["Success"] is True and answer["ResourcesReset"] == ["TargetTagID"]
    (copied,) = answer["EmailsCopied"]
    assert copied["SourceEmailID"] == email_id
    with engine.uow() as uow:
        journey = uow.session.get(Journey, new_id)
        assert (journey.owner_user_id, journey.name, journey.trigger, journey.status) == (
            other_user.id, "Copy of Welcome", "Manual", "Disabled")
        email = uow.session.get(Email, copied["NewEmailID"])
        assert email.owner_user_id == other_user.id and email.subject == "Hi"
        actions = [(a.action, json.loads(a.parameters), a.published) for a in uow.session.scalars(
            select(JourneyAction).where(JourneyAction.journey_id == new_id).order_by(JourneyAction.order_no))]
    assert actions == [("SendEmail", {"EmailID": copied["NewEmailID"]}, True), ("AddTag", {"TargetTagID": 0}, False),
                       ("SendEmail", {"EmailID": copied["NewEmailID"]}, True)]
    # The copy is the target's: they can read it, the source cannot.
    assert call("Journey.Get", other_user.session, JourneyID=new_id)["JourneyName"] == "Copy of Welcome"
    assert call("Journey.Get", user.session, JourneyID=new_id)["ErrorCode"][0] == 3


def test_copy_to_user_codes_change_nothing(call, admin, user, other_user, engine):
    journey_id = call("Journey.Create", user.session, Name="J")["JourneyID"]
    before = stored_state(engine)
    good = {"JourneyID": journey_id, "SourceUserID": user.id, "TargetUserID": other_user.id}
    for code, change in ((1, {"JourneyID": None}), (2, {"SourceUserID": None}), (3, {"TargetUserID": None}),
                         (4, {"JourneyID": "x"}), (5, {"SourceUserID": "x"}), (6, {"TargetUserID": "x"}),
                         (7, {"SourceUserID": 9999}), (8, {"TargetUserID": 9999}), (9, {"SourceUserID": other_user.id}),
                         (11, {"NewJourneyName": "n" * 256})):
        params = {k: v for k, v in {**good, **change}.items() if v is not None}
        assert call("Journey.CopyToUser", admin.session, **params)["ErrorCode"][0] == code, change
    assert call("Journey.CopyToUser", user.session, **good)["ErrorCode"] == 99999  # administrators only
    assert stored_state(engine) == before


def test_benchmark_counts_the_ledger(call, user, engine, clock):
    list_id = make_list(engine, user, "B")
    sid = make_subscriber(engine, list_id, "b@example.com")
    email_id = make_email(engine, user)
    journey_id = call("Journey.Create", user.session, Name="J")["JourneyID"]
    call("Journey.Actions.Update", user.session, JourneyID=journey_id,
         Actions=json.dumps([{"Action": "SendEmail", "EmailID": email_id, "Published": True}]))
    call("Journey.Enable", user.session, JourneyID=journey_id)
    call("Subscriber.Journey.Trigger", user.session, JourneyID=journey_id, ListID=list_id, SubscriberID=sid)
    run_pass(engine, clock())
    answer = call("Account.Journey.Benchmark", user.session)
    assert answer["StartDate"] == "2026-10-24" and answer["EndDate"] == "2026-11-23"
    assert answer["Benchmark"]["TotalSent"] == 1 and answer["Benchmark"]["JourneyCount"] == 1
    assert call("Account.Journey.Benchmark", user.session, EndDate="2026-11-22")["Benchmark"]["TotalSent"] == 0
    for code, params in ((1, {"StartDate": "2026-02-30"}), (2, {"EndDate": "2026/11/01"}),
                         (3, {"StartDate": "2026-11-23", "EndDate": "2026-11-01"})):
        assert call("Account.Journey.Benchmark", user.session, **params)["ErrorCode"][0] == code


def test_every_code_is_reached(request):
    assert_codes_reached(request, SEEN, JA.COMMANDS, NEVER_EMITTED)
