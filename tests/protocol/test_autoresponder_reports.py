"""AutoResponder.SendTest (through a real SMTP server on loopback), AutoResponder.Activity.Get and
AutoResponder.Stats.Window.Get (reading the send ledger) — every documented code, stored state."""
from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from engine.accounts.ratelimits import RateLimit
from engine.models import AutoResponderSend, RateLimitCounter, TestSend
from protocol.commands import autoresponder_reports
from tests.builders import make_custom_field, make_email, make_list, make_subscriber
from tests.e2e.support import loopback_relay
from tests.protocol.test_autoresponders import NEVER_EMITTED, add_send, made

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def relay(engine):
    with loopback_relay(engine) as recorder:
        yield recorder


@pytest.fixture
def shop(engine, user):
    list_id = make_list(engine, user, "Shop")
    field_id = make_custom_field(engine, user, list_id, "Nickname", merge_tag_alias="Nickname")
    return SimpleNamespace(list_id=list_id, field_id=field_id, email_id=make_email(
        engine, user, subject="Hello {{ Subscriber:Nickname|you }}", from_email="news@shop.example",
        html_content='<p>Hi {{ Subscriber:Nickname|"friend" }} <a href="https://shop.example/">shop</a></p>'))


def count(engine, model) -> int:
    with engine.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def subjects(relay) -> list[str]:
    return [email.message_from_bytes(data, policy=email.policy.strict)["Subject"] for _, _, data in relay.messages]


# --- AutoResponder.SendTest ----------------------------------------------------------------------------------
def test_send_test_mails_each_recipient_personalised_by_the_lists_first_subscriber(api, user, engine, shop, relay):
    responder_id = made(api, user, shop)
    make_subscriber(engine, shop.list_id, "ada@example.com", {shop.field_id: "Ada"})
    make_subscriber(engine, shop.list_id, "bob@example.com", {shop.field_id: "Bob"})
    answer = api("AutoResponder.SendTest", user.session, AutoResponderID=responder_id,
                 Recipients="qa@example.com, Boss@Example.com,qa@EXAMPLE.com")
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": "", "RecipientsAttempted": 2,
                      "RecipientsAccepted": 2, "RecipientFailures": []}
    assert sorted(r for _, rcpts, _ in relay.messages for r in rcpts) == ["Boss@Example.com", "qa@example.com"]
    assert subjects(relay) == ["[Test] Hello Ada", "[Test] Hello Ada"]
    assert count(engine, TestSend) == 2 and count(engine, AutoResponderSend) == 0  # a test is not a send


def test_send_test_as_a_chosen_subscriber_or_a_stand_in(api, user, engine, shop, relay):
    responder_id = made(api, user, shop)
    assert api("AutoResponder.SendTest", user.session, AutoResponderID=responder_id, Recipients="qa@example.com")[
        "RecipientsAccepted"] == 1  # an empty list: only the recipient's address is known
    bob = make_subscriber(engine, shop.list_id, "bob@example.com", {shop.field_id: "Bob"})
    make_subscriber(engine, shop.list_id, "cy@example.com", {shop.field_id: "Cy"})
    assert api("AutoResponder.SendTest", user.session, AutoResponderID=responder_id, Recipients="qa@example.com",
               SubscriberID=bob)["Success"]
    assert subjects(relay) == ["[Test] Hello you", "[Test] Hello Bob"]


def test_send_test_reports_refused_recipients_and_fails_when_none_is_accepted(api, user, engine, shop, relay):
    responder_id = made(api, user, shop)
    relay.reject["broken@example.com"] = "550 no such user"
    answer = api("AutoResponder.SendTest", user.session, AutoResponderID=responder_id,
                 Recipients="ok@example.com,broken@example.com")
    assert (answer["Success"], answer["RecipientsAttempted"], answer["RecipientsAccepted"]) == (True, 2, 1)
    [(recipient, error)] = [(f["Recipient"], f["Error"]) for f in answer["RecipientFailures"]]
    assert recipient == "broken@example.com" and "550" in error
    assert count(engine, TestSend) == 1  # the refused message is not counted against the test-send limit
    answer = api("AutoResponder.SendTest", user.session, AutoResponderID=responder_id, Recipients="broken@example.com")
    assert answer["ErrorCode"] == [11] and answer["RecipientsAccepted"] == 0
    assert answer["RecipientFailures"][0]["Recipient"] == "broken@example.com"
    assert count(engine, TestSend) == 1


def test_a_public_commands_new_window_does_not_reset_the_send_test_limit(api, user, engine, shop, relay, clock):
    responder_id = made(api, user, shop)
    for _ in range(10):
        assert api("AutoResponder.SendTest", user.session, AutoResponderID=responder_id,
                   Recipients="qa@example.com")["Success"]
    clock.advance(seconds=61)
    # a minute on, an anonymous public call opens a new 60 s window and purges what it calls over (dispatch.py)
    with engine.uow() as uow:
        uow.rate_limits.purge_before(RateLimit(60, 60), bucket_prefix="api:")
        uow.commit()
    answer = api("AutoResponder.SendTest", user.session, AutoResponderID=responder_id, Recipients="qa@example.com")
    assert answer["ErrorCode"] == [429] and len(relay.messages) == 10


def test_send_test_is_limited_to_ten_calls_per_five_minutes(api, user, engine, shop, relay, clock):
    responder_id = made(api, user, shop)
    for _ in range(10):
        assert api("AutoResponder.SendTest", user.session, AutoResponderID=responder_id,
                   Recipients="qa@example.com")["Success"]
    answer = api("AutoResponder.SendTest", user.session, AutoResponderID=responder_id, Recipients="qa@example.com")
    assert answer["ErrorCode"] == [429] and 1 <= answer["RetryAfter"] <= 300 and len(relay.messages) == 10
    clock.advance(seconds=answer["RetryAfter"])
    assert api("AutoResponder.SendTest", user.session, AutoResponderID=responder_id, Recipients="qa@example.com")[
        "Success"]
    assert count(engine, RateLimitCounter) == 1  # the finished window was purged


# --- AutoResponder.Activity.Get -----------------------------------------------------------------------------
def test_activity_is_empty_until_something_is_sent(api, user, shop):
    responder_id = made(api, user, shop)
    assert api("AutoResponder.Activity.Get", user.session, AutoResponderID=responder_id) == {
        "Success": True, "ErrorCode": 0, "ErrorText": "", "TotalSendCount": 0, "Activity": []}


def test_activity_lists_the_ledger_newest_first_with_filters(api, user, engine, shop):
    responder_id, other = made(api, user, shop), made(api, user, shop, AutoResponderName="Other")
    hour = timedelta(hours=1)
    sent = add_send(engine, responder_id, 1, state="sent", sent_at=NOW - 3 * hour, due_at=NOW - 3 * hour, opens=2)
    bounced = add_send(engine, responder_id, 2, state="sent", sent_at=NOW - 2 * hour, due_at=NOW - 2 * hour,
                       bounce_type="Hard", bounced_at=NOW - hour)
    failed = add_send(engine, responder_id, 3, state="unknown", due_at=NOW - hour, last_error="relay vanished")
    pending = add_send(engine, responder_id, 4, due_at=NOW + hour)
    claimed = add_send(engine, responder_id, 5, state="claimed", due_at=NOW - timedelta(days=3))
    add_send(engine, other, 1)

    def log(**params):
        answer = api("AutoResponder.Activity.Get", user.session, AutoResponderID=responder_id, **params)
        assert answer["Success"] is True, answer
        return answer["TotalSendCount"], [a["LogID"] for a in answer["Activity"]]

    assert log() == (5, [pending, failed, bounced, sent, claimed])
    first = api("AutoResponder.Activity.Get", user.session, AutoResponderID=responder_id, Status="Sent")["Activity"]
    assert first[1] == {"LogID": sent, "SubscriberID": 1, "Email": "s1@example.com", "Status": "Sent",
                        "TimeToSend": "2026-11-23 09:00:00", "SentAt": "2026-11-23 09:00:00", "FailureReason": None,
                        "Bounced": False, "Opened": True, "Clicked": False}
    assert log(Status="sent") == (2, [bounced, sent])
    assert log(Status="Delivered") == (1, [sent])
    assert log(Status="Bounced") == (1, [bounced])
    assert log(Status="Failed") == (1, [failed])
    assert log(Status="Pending") == (1, [pending])
    assert log(Status="Sending") == (1, [claimed])
    assert log(Since="2026-11-23") == (4, [pending, failed, bounced, sent])
    assert log(Since="2026-11-23 10:30:00") == (2, [pending, failed])
    assert log(RecordsPerRequest=2, RecordsFrom=1) == (5, [failed, bounced])
    failure = api("AutoResponder.Activity.Get", user.session, AutoResponderID=responder_id, Status="Failed")
    assert failure["Activity"][0]["FailureReason"] == "relay vanished" and failure["Activity"][0]["SentAt"] is None


# --- AutoResponder.Stats.Window.Get -------------------------------------------------------------------------
def test_window_stats_are_zero_until_something_is_sent(api, user, shop):
    responder_id = made(api, user, shop)
    answer = api("AutoResponder.Stats.Window.Get", user.session, AutoResponderID=responder_id)
    assert answer == {"Success": True, "ErrorCode": 0, "ErrorText": "",
                      "Window": {"Days": 30, "From": "2026-10-24", "To": "2026-11-23"},
                      "Counters": {"TotalSent": 0, "TotalDelivered": 0, "TotalFailed": 0, "TotalOpens": 0,
                                   "UniqueOpens": 0, "TotalClicks": 0, "UniqueClicks": 0, "TotalUnsubscriptions": 0,
                                   "TotalHardBounces": 0, "TotalSoftBounces": 0},
                      "LastSentAt": None, "NextScheduledAt": None}


def test_window_stats_count_the_window_only(api, user, engine, shop):
    responder_id = made(api, user, shop)
    day = timedelta(days=1)
    add_send(engine, responder_id, 1, state="sent", sent_at=NOW - day, due_at=NOW - day, opens=3, clicks=1)
    add_send(engine, responder_id, 2, state="sent", sent_at=NOW - 2 * day, due_at=NOW - 2 * day, opens=1,
             bounce_type="Soft", unsubscribed_at=NOW)
    add_send(engine, responder_id, 3, state="failed", due_at=NOW - 3 * day)
    add_send(engine, responder_id, 4, state="sent", sent_at=NOW - 40 * day, due_at=NOW - 40 * day,
             bounce_type="Hard")
    add_send(engine, responder_id, 5, due_at=NOW + 2 * day)
    add_send(engine, responder_id, 6, due_at=NOW + day)
    answer = api("AutoResponder.Stats.Window.Get", user.session, AutoResponderID=responder_id)
    assert answer["Counters"] == {"TotalSent": 2, "TotalDelivered": 1, "TotalFailed": 1, "TotalOpens": 4,
                                  "UniqueOpens": 2, "TotalClicks": 1, "UniqueClicks": 1, "TotalUnsubscriptions": 1,
                                  "TotalHardBounces": 0, "TotalSoftBounces": 1}
    assert (answer["LastSentAt"], answer["NextScheduledAt"]) == ("2026-11-22 12:00:00", "2026-11-24 12:00:00")
    wide = api("AutoResponder.Stats.Window.Get", user.session, AutoResponderID=responder_id, WindowDays=365)
    assert wide["Window"] == {"Days": 365, "From": "2025-11-23", "To": "2026-11-23"}
    assert (wide["Counters"]["TotalSent"], wide["Counters"]["TotalHardBounces"]) == (3, 1)


# --- every documented code, through HTTP -------------------------------------------------------------------
def _theirs(t):
    return made(t.api, t.other, SimpleNamespace(list_id=make_list(t.engine, t.other, "T"),
                                                email_id=make_email(t.engine, t.other)))


def _detached(t):
    """An autoresponder whose email was deleted while it was disabled."""
    email_id = make_email(t.engine, t.user)
    responder_id = made(t.api, t.user, SimpleNamespace(**{**vars(t.shop), "email_id": email_id}), Status="Disabled")
    assert t.api("Email.Delete", t.user.session, EmailID=email_id)["Success"]
    return responder_id


SEND, ACTIVITY, WINDOW = "AutoResponder.SendTest", "AutoResponder.Activity.Get", "AutoResponder.Stats.Window.Get"
ERROR_CASES = [
    (SEND, 1, lambda t: dict(Recipients="a@example.com")),
    (SEND, 2, lambda t: dict(AutoResponderID=made(t.api, t.user, t.shop))),
    (SEND, 3, lambda t: dict(AutoResponderID=_theirs(t), Recipients="a@example.com")),
    (SEND, 3, lambda t: dict(AutoResponderID="x", Recipients="a@example.com")),
    (SEND, 4, lambda t: dict(AutoResponderID=_detached(t), Recipients="a@example.com")),
    (SEND, 7, lambda t: dict(AutoResponderID=made(t.api, t.user, t.shop), Recipients="a@example.com",
                             SubscriberID=make_subscriber(t.engine, make_list(t.engine, t.user, "X"), "x@x.org"))),
    (SEND, 8, lambda t: dict(AutoResponderID=made(t.api, t.user, t.shop), Recipients="a@example.com,not-an-email")),
    (SEND, 9, lambda t: dict(AutoResponderID=made(t.api, t.user, t.shop), Recipients=" , ,")),
    (SEND, 10, lambda t: dict(AutoResponderID=made(t.api, t.user, t.shop),
                              Recipients=",".join(f"q{i}@example.com" for i in range(6)))),
    (SEND, 11, lambda t: dict(AutoResponderID=made(t.api, t.user, t.shop), Recipients="a@example.com")),  # no relay
    (ACTIVITY, 1, lambda t: {}),
    (ACTIVITY, 2, lambda t: dict(AutoResponderID=_theirs(t))),
    (ACTIVITY, 2, lambda t: dict(AutoResponderID=999999)),
    (ACTIVITY, 3, lambda t: dict(AutoResponderID=made(t.api, t.user, t.shop), RecordsPerRequest=201)),
    (ACTIVITY, 3, lambda t: dict(AutoResponderID=made(t.api, t.user, t.shop), Since="yesterday")),
    (ACTIVITY, 3, lambda t: dict(AutoResponderID=made(t.api, t.user, t.shop), Status="Opened")),
    (WINDOW, 1, lambda t: {}),
    (WINDOW, 2, lambda t: dict(AutoResponderID=_theirs(t))),
    (WINDOW, 3, lambda t: dict(AutoResponderID=made(t.api, t.user, t.shop), WindowDays=366)),
    (WINDOW, 3, lambda t: dict(AutoResponderID=made(t.api, t.user, t.shop), WindowDays=0)),
]


@pytest.mark.parametrize("command,code,params", ERROR_CASES,
                         ids=[f"{c}-{code}-{i}" for i, (c, code, _) in enumerate(ERROR_CASES)])
def test_documented_code(api, user, other_user, engine, shop, command, code, params):
    t = SimpleNamespace(api=api, user=user, other=other_user, engine=engine, shop=shop)
    prepared = params(t)
    before = (count(engine, TestSend), count(engine, RateLimitCounter), count(engine, AutoResponderSend))
    answer = api(command, user.session, **prepared)
    assert answer["Success"] is False and answer["ErrorCode"][0] == code, answer
    assert (count(engine, TestSend), count(engine, RateLimitCounter), count(engine, AutoResponderSend)) == before


def test_every_documented_code_has_a_case():
    for command in autoresponder_reports.COMMANDS:
        covered = {code for name, code, _ in ERROR_CASES if name == command.name}
        covered |= {429} if command.name == SEND else set()  # test_send_test_is_limited_to_ten_calls_…
        assert covered == set(command.errors) - NEVER_EMITTED.get(command.name, set()), command.name
