"""Autoresponders that mail: triggers write the ledger, the delivery workers send it (all three databases).

Subscriptions go through HTTP (Subscriber.Subscribe, Subscriber.Update, Subscribers.Import) as clients
make them; the worker is the DeliveryRunner with a recording transport; time is the injected FakeClock.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from engine.automation import send_ledger
from engine.automation.enqueue import enqueue_date_triggers
from engine.delivery.flight import OneByOne
from engine.delivery.runner import DeliveryRunner
from engine.delivery.smtp_transaction import SendResult
from engine.models import (
    AutoResponder, AutoResponderSend, Segment, Subscriber, SubscriberFieldValue, SubscriberList, User,
)
from engine.models.senders import EmailMarketingAccount
from tests.builders import load_row, make_custom_field, make_email, make_list, make_subscriber
from tests.helpers import stored_state

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)  # the FakeClock's start


@dataclass
class Capture:
    """A transport that records what it was given and answers 250 (or `answers[address]`)."""

    sent: list = field(default_factory=list)
    answers: dict = field(default_factory=dict)

    def start_many(self, envelopes):
        return OneByOne(self._send, envelopes)

    def _send(self, envelope) -> SendResult:
        self.sent.append(envelope)
        return self.answers.get(envelope.recipient, SendResult("sent", 250, "OK", "capture"))

    def recipients(self) -> list[str]:
        return [e.recipient for e in self.sent]


@pytest.fixture
def shop(api, engine, user):
    list_id = make_list(engine, user, "Shop")
    email_id = make_email(engine, user, subject="Welcome %Subscriber:EmailAddress%", from_email="shop@example.com",
                          html_content='<p>Hi</p><a href="https://shop.example/offer">Offer</a>'
                                       '<a href="%Link:Unsubscribe%">Leave</a>')
    return SimpleNamespace(list_id=list_id, email_id=email_id, user=user)


def responder(api, shop, **params) -> int:
    base = dict(SubscriberListID=shop.list_id, AutoResponderName="Welcome", AutoResponderTriggerType="OnSubscription",
                EmailID=shop.email_id, TriggerTimeType="Immediately")
    answer = api("AutoResponder.Create", shop.user.session, **{**base, **params})
    assert answer["Success"] is True, answer
    return answer["AutoResponderID"]


def subscribe(api, shop, address: str) -> dict:
    answer = api("Subscriber.Subscribe", None, ListID=shop.list_id, EmailAddress=address, IPAddress="198.51.100.1")
    assert answer["Success"] is True, answer
    return answer


def ledger(engine) -> list[tuple]:
    with engine.uow() as uow:
        return [(r.autoresponder_id, r.email_address, r.occurrence, r.due_at, r.state) for r in uow.session.scalars(
            select(AutoResponderSend).order_by(AutoResponderSend.due_at, AutoResponderSend.id))]


def worker(engine, transport, clock, **kwargs) -> DeliveryRunner:
    return DeliveryRunner(engine, transport, clock=clock, worker_id=kwargs.pop("worker_id", "w1"), **kwargs)


# --- OnSubscription ---------------------------------------------------------------------------------------
def test_a_public_subscription_enqueues_the_welcome_email_and_a_worker_mails_it_once(api, engine, clock, shop):
    welcome = responder(api, shop)
    subscribe(api, shop, "ann@example.com")
    assert ledger(engine) == [(welcome, "ann@example.com", "/0", NOW, "pending")]
    capture = Capture()
    summary = worker(engine, capture, clock).run_once()
    assert capture.recipients() == ["ann@example.com"] and summary.sent == 1
    message = capture.sent[0].message.decode()
    assert "Subject: Welcome ann@example.com" in message and "List-Unsubscribe:" in message
    assert ledger(engine) == [(welcome, "ann@example.com", "/0", NOW, "sent")]
    assert worker(engine, capture, clock).run_once().sent == 0 and len(capture.sent) == 1
    r = load_row(engine, AutoResponder, welcome)
    assert (r.total_sent, r.total_delivered, r.total_failed) == (1, 1, 0)
    activity = api("AutoResponder.Activity.Get", shop.user.session, AutoResponderID=welcome)
    assert [(a["Email"], a["Status"]) for a in activity["Activity"]] == [("ann@example.com", "Sent")]
    got = api("AutoResponder.Get", shop.user.session, AutoResponderID=welcome, RetrieveStatistics="true")
    assert got["AutoResponder"]["TotalSent"] == 1


def test_subscribing_again_does_not_mail_the_welcome_twice(api, engine, clock, shop):
    responder(api, shop)
    subscribe(api, shop, "ann@example.com")
    api("Subscriber.Unsubscribe", None, ListID=shop.list_id, EmailAddress="ann@example.com", IPAddress="1.2.3.4")
    api("Subscriber.Subscribe", None, ListID=shop.list_id, EmailAddress="ann@example.com", IPAddress="1.2.3.4")
    assert [row[2:] for row in ledger(engine)] == [("/0", NOW, "skipped")]


def test_double_opt_in_enqueues_on_confirmation_not_before(api, engine, clock, shop):
    with engine.uow() as uow:
        uow.session.get(SubscriberList, shop.list_id).opt_in_mode = "Double"
        uow.commit()
    welcome = responder(api, shop)
    answer = subscribe(api, shop, "ann@example.com")
    assert ledger(engine) == []
    clock.advance(minutes=5)
    confirmed = api("Subscriber.OptIn", shop.user.session, ListID=shop.list_id,
                    SubscriberID=answer["SubscriberID"])
    assert confirmed["Success"] is True, confirmed
    assert ledger(engine) == [(welcome, "ann@example.com", "/0", NOW + timedelta(minutes=5), "pending")]


def test_the_owner_setting_a_subscriber_subscribed_triggers_it(api, engine, clock, shop):
    welcome = responder(api, shop)
    ann = make_subscriber(engine, shop.list_id, "ann@example.com", subscription_status="Unsubscribed")
    answer = api("Subscriber.Update", shop.user.session, SubscriberListID=shop.list_id, SubscriberID=ann,
                 SubscriptionStatus="Subscribed")
    assert answer["Success"] is True, answer
    assert [row[:2] for row in ledger(engine)] == [(welcome, "ann@example.com")]


def test_an_import_triggers_autoresponders_only_when_asked(api, engine, clock, shop):
    welcome = responder(api, shop)
    api("Subscribers.Import", shop.user.session, ListID=shop.list_id, ImportData="Email\nold@example.com\n",
        MappedFields='{"Email": "EmailAddress"}')
    assert ledger(engine) == []
    answer = api("Subscribers.Import", shop.user.session, ListID=shop.list_id, ImportData="Email\nnew@example.com\n",
                 MappedFields='{"Email": "EmailAddress"}', TriggerAutoResponders="true")
    assert answer["Success"] is True, answer
    assert [row[:2] for row in ledger(engine)] == [(welcome, "new@example.com")]


def test_only_enabled_autoresponders_of_the_list_enqueue_and_only_after_enabling(api, engine, clock, shop):
    paused = responder(api, shop, Status="Disabled", AutoResponderName="Paused")
    other_list = make_list(engine, shop.user, "Other")
    responder(api, SimpleNamespace(**{**vars(shop), "list_id": other_list}), AutoResponderName="Elsewhere")
    subscribe(api, shop, "ann@example.com")
    assert ledger(engine) == []
    clock.advance(minutes=1)
    assert api("AutoResponder.Update", shop.user.session, AutoResponderID=paused, Status="Enabled")["Success"]
    assert ledger(engine) == []   # ann subscribed before it was enabled
    subscribe(api, shop, "bob@example.com")
    assert [row[:2] for row in ledger(engine)] == [(paused, "bob@example.com")]


def test_disabling_is_a_forward_looking_pause_queued_sends_still_go(api, engine, clock, shop):
    later = responder(api, shop, TriggerTimeType="Minutes later", TriggerTime=10)
    subscribe(api, shop, "ann@example.com")
    assert api("AutoResponder.Update", shop.user.session, AutoResponderID=later, Status="Disabled")["Success"]
    subscribe(api, shop, "bob@example.com")
    capture = Capture()
    assert worker(engine, capture, clock).run_once().sent == 0   # not due yet
    clock.advance(minutes=10)
    worker(engine, capture, clock).run_once()
    assert capture.recipients() == ["ann@example.com"]


# --- drips, Repeat -------------------------------------------------------------------------------------------
def test_a_drip_of_two_autoresponders_arrives_in_order_and_a_late_joiner_gets_it_from_its_start(
        api, engine, clock, shop):
    first = responder(api, shop, AutoResponderName="Step 1", TriggerTimeType="Seconds later", TriggerTime=30)
    second = responder(api, shop, AutoResponderName="Step 2", TriggerTimeType="Minutes later", TriggerTime=2)
    capture = Capture()
    subscribe(api, shop, "ann@example.com")            # T
    clock.advance(seconds=30)
    worker(engine, capture, clock).run_once()          # T+30: ann's step 1
    subscribe(api, shop, "bob@example.com")            # bob joins at T+30
    for _ in range(4):
        clock.advance(seconds=30)                      # T+60: bob's step 1, T+120: ann's step 2, T+150: bob's
        worker(engine, capture, clock).run_once()
    with engine.uow() as uow:
        order = uow.session.execute(select(AutoResponderSend.autoresponder_id, AutoResponderSend.email_address,
                                           AutoResponderSend.sent_at).order_by(AutoResponderSend.sent_at)).all()
    t = NOW
    assert [tuple(row) for row in order] == [
        (first, "ann@example.com", t + timedelta(seconds=30)), (first, "bob@example.com", t + timedelta(seconds=60)),
        (second, "ann@example.com", t + timedelta(seconds=120)),
        (second, "bob@example.com", t + timedelta(seconds=150))]
    assert capture.recipients() == ["ann@example.com", "bob@example.com", "ann@example.com", "bob@example.com"]


def test_a_repeat_writes_every_occurrence_with_its_due_time(api, engine, clock, shop):
    weekly = responder(api, shop, TriggerTimeType="Days later", TriggerTime=1, Repeat="R3/P1W")
    subscribe(api, shop, "ann@example.com")
    day = timedelta(days=1)
    assert ledger(engine) == [(weekly, "ann@example.com", "/0", NOW + day, "pending"),
                              (weekly, "ann@example.com", "/1", NOW + 8 * day, "pending"),
                              (weekly, "ann@example.com", "/2", NOW + 15 * day, "pending")]
    capture = Capture()
    clock.advance(days=8)
    worker(engine, capture, clock).run_once()
    assert [row[4] for row in ledger(engine)] == ["sent", "sent", "pending"]


# --- send-time checks ------------------------------------------------------------------------------------
def test_leaving_the_list_skips_the_pending_sends(api, engine, clock, shop):
    responder(api, shop, TriggerTimeType="Days later", TriggerTime=1)
    subscribe(api, shop, "ann@example.com")
    subscribe(api, shop, "bob@example.com")
    api("Subscriber.Unsubscribe", None, ListID=shop.list_id, EmailAddress="ann@example.com", IPAddress="1.2.3.4")
    with engine.uow() as uow:
        bob = uow.session.scalar(select(Subscriber.id).where(Subscriber.email_normalized == "bob@example.com"))
    assert api("Subscribers.Delete", shop.user.session, SubscriberListID=shop.list_id, Subscribers=str(bob))["Success"]
    with engine.uow() as uow:
        rows = {r.email_address: (r.state, r.last_error) for r in uow.session.scalars(select(AutoResponderSend))}
    assert rows == {"ann@example.com": ("skipped", "the subscriber left the list"),
                    "bob@example.com": ("skipped", "the subscriber was deleted")}
    clock.advance(days=2)
    capture = Capture()
    worker(engine, capture, clock).run_once()
    assert capture.sent == []


def test_the_segment_is_evaluated_when_the_send_is_due(api, engine, clock, shop):
    with engine.uow() as uow:
        segment = Segment(owner_user_id=shop.user.id, list_id=shop.list_id, name="VIP", created_at=NOW,
                          rules_operator="and",
                          rules_json='[{"type": "fields", "field_id": "EmailAddress", "operator": "contains", '
                                     '"value": "vip"}]')
        uow.session.add(segment)
        uow.commit()
        segment_id = segment.id
    responder(api, shop, SegmentID=segment_id, TriggerTimeType="Hours later", TriggerTime=1)
    subscribe(api, shop, "vip@example.com")
    subscribe(api, shop, "ann@example.com")
    later = subscribe(api, shop, "later@example.com")["SubscriberID"]
    # Not in the segment when enqueued, in it when due: mailed (at its new address).
    assert api("Subscriber.Update", shop.user.session, SubscriberListID=shop.list_id, SubscriberID=later,
               EmailAddress="later-vip@example.com")["Success"] is True
    clock.advance(hours=1)
    capture = Capture()
    summary = worker(engine, capture, clock).run_once()
    assert sorted(capture.recipients()) == ["later-vip@example.com", "vip@example.com"]
    with engine.uow() as uow:
        skipped = {r.email_address: r.last_error for r in uow.session.scalars(
            select(AutoResponderSend).where(AutoResponderSend.state == "skipped"))}
    assert skipped["ann@example.com"] == "the subscriber is not in the autoresponder's segment"
    assert summary.skipped == len(skipped)


def test_a_suppressed_or_bounced_subscriber_is_skipped_not_mailed(api, engine, clock, shop):
    responder(api, shop, TriggerTimeType="Minutes later", TriggerTime=1)
    subscribe(api, shop, "ann@example.com")
    subscribe(api, shop, "bob@example.com")
    with engine.uow() as uow:
        uow.session.execute(update(Subscriber).where(Subscriber.email_normalized == "bob@example.com")
                            .values(bounce_type="Hard"))
        uow.commit()
    clock.advance(minutes=1)
    capture = Capture()
    worker(engine, capture, clock).run_once()
    assert capture.recipients() == ["ann@example.com"]
    with engine.uow() as uow:
        bob = uow.session.scalar(select(AutoResponderSend).where(AutoResponderSend.email_address == "bob@example.com"))
        assert (bob.state, bob.last_error) == ("skipped", "the address hard-bounced")


def test_an_account_that_is_not_active_has_its_sends_skipped(api, engine, clock, shop):
    welcome = responder(api, shop)
    subscribe(api, shop, "ann@example.com")
    with engine.uow() as uow:
        uow.session.add(EmailMarketingAccount(user_id=shop.user.id, status="SUSPENDED", updated_at=NOW))
        uow.commit()
    capture = Capture()
    worker(engine, capture, clock).run_once()
    assert capture.sent == []
    with engine.uow() as uow:
        row = uow.session.scalar(select(AutoResponderSend))
        assert (row.state, row.last_error) == ("skipped", "the account is suspended, not active")
    assert load_row(engine, AutoResponder, welcome).total_sent == 0


def test_a_temporary_failure_is_retried_later_and_a_permanent_one_fails(api, engine, clock, shop):
    welcome = responder(api, shop)
    subscribe(api, shop, "ann@example.com")
    subscribe(api, shop, "bob@example.com")
    capture = Capture(answers={"ann@example.com": SendResult("temporary", 451, "try later", "capture"),
                               "bob@example.com": SendResult("permanent", 550, "no such user", "capture")})
    worker(engine, capture, clock).run_once()
    with engine.uow() as uow:
        rows = {r.email_address: (r.state, r.attempts, r.last_error) for r in
                uow.session.scalars(select(AutoResponderSend))}
    assert rows == {"ann@example.com": ("pending", 1, "451 try later"),
                    "bob@example.com": ("failed", 1, "550 no such user")}
    assert load_row(engine, AutoResponder, welcome).total_failed == 1
    capture.answers.clear()
    worker(engine, capture, clock).run_once()
    assert capture.recipients().count("ann@example.com") == 1      # waiting for the backoff
    clock.advance(minutes=2)
    worker(engine, capture, clock).run_once()
    assert capture.recipients().count("ann@example.com") == 2


# --- crash rule ----------------------------------------------------------------------------------------------
def test_an_expired_lease_makes_a_handed_over_send_unknown_and_the_rest_pending_again(api, engine, clock, shop):
    responder(api, shop)
    for address in ("ann@example.com", "bob@example.com"):
        subscribe(api, shop, address)
    with engine.uow() as uow:   # a worker claims both, hands ann's message over, and is killed
        claimed = send_ledger.claim(uow.session, "dead", clock(), timedelta(minutes=5), 10)
        ann_id = uow.session.scalar(select(Subscriber.id).where(Subscriber.email_normalized == "ann@example.com"))
        ann = next(r for r in claimed if r.subscriber_id == ann_id)
        assert send_ledger.hand_over(uow.session, "dead", {ann.id: "<x@y>"}) == {ann.id}
        uow.commit()
    capture = Capture()
    worker(engine, capture, clock).run_once()
    assert capture.sent == []                   # still leased
    clock.advance(minutes=6)
    summary = worker(engine, capture, clock).run_once()
    assert capture.recipients() == ["bob@example.com"] and summary.unknown == 1
    with engine.uow() as uow:
        states = {r.email_address: r.state for r in uow.session.scalars(select(AutoResponderSend))}
    assert states == {"ann@example.com": "unknown", "bob@example.com": "sent"}


def test_a_worker_that_lost_its_lease_changes_nothing_it_no_longer_holds(api, engine, clock, shop):
    responder(api, shop)
    subscribe(api, shop, "ann@example.com")
    with engine.uow() as uow:
        claimed = send_ledger.claim(uow.session, "slow", clock(), timedelta(minutes=5), 10)
        clock.advance(minutes=6)
        send_ledger.expire_leases(uow.session, clock())
        taken = send_ledger.claim(uow.session, "fast", clock(), timedelta(minutes=5), 10)
        assert [r.id for r in taken] == [r.id for r in claimed]
        assert send_ledger.hand_over(uow.session, "slow", {claimed[0].id: "<x@y>"}) == set()
        uow.commit()
    before = stored_state(engine, AutoResponderSend)
    with engine.uow() as uow:
        send_ledger.record(uow.session, "slow", [send_ledger.Outcome(claimed[0].id, claimed[0].group_id, 0,
                                                                     "sent")], clock(), timedelta(minutes=1))
        uow.commit()
    assert stored_state(engine, AutoResponderSend) == before


# --- OnSubscriberDate --------------------------------------------------------------------------------------
@pytest.fixture
def birthday(engine, shop):
    return make_custom_field(engine, shop.user, shop.list_id, "Birthday", field_type="Date field")


def dated(engine, shop, field_id: int, address: str, value: str) -> int:
    sid = make_subscriber(engine, shop.list_id, address)
    with engine.uow() as uow:
        uow.session.add(SubscriberFieldValue(subscriber_id=sid, field_id=field_id, value_text=value,
                                             value_date=datetime.fromisoformat(value).replace(tzinfo=timezone.utc)))
        uow.commit()
    return sid


def tick_dates(engine, clock) -> int:
    with engine.uow() as uow:
        written = enqueue_date_triggers(uow.session, clock())
        uow.commit()
        return written


def test_a_yearly_birthday_is_enqueued_once_per_local_day_at_the_delay(api, engine, clock, shop, birthday):
    yearly = responder(api, shop, AutoResponderTriggerType="OnSubscriberDate", AutoResponderTriggerValue=str(birthday),
                       AutoResponderTriggerValue2="Yearly", TriggerTimeType="Hours later", TriggerTime=9)
    dated(engine, shop, birthday, "today@example.com", "1990-11-23")
    dated(engine, shop, birthday, "tomorrow@example.com", "1990-11-24")
    assert tick_dates(engine, clock) == 1
    assert tick_dates(engine, clock) == 0            # idempotent across ticks
    assert ledger(engine) == [(yearly, "today@example.com", "2026-11-23/0", datetime(2026, 11, 23, 9, 0,
                                                                                      tzinfo=timezone.utc), "pending")]
    clock.advance(days=1)
    assert tick_dates(engine, clock) == 1
    assert [row[2] for row in ledger(engine)] == ["2026-11-23/0", "2026-11-24/0"]


def test_the_local_day_follows_the_account_time_zone(api, engine, clock, shop, birthday):
    with engine.uow() as uow:
        uow.session.get(User, shop.user.id).time_zone = "Pacific/Auckland"   # UTC+13: already 24 November
        uow.commit()
    responder(api, shop, AutoResponderTriggerType="OnSubscriberDate", AutoResponderTriggerValue=str(birthday),
              AutoResponderTriggerValue2="Yearly")
    dated(engine, shop, birthday, "today@example.com", "1990-11-23")
    dated(engine, shop, birthday, "nz@example.com", "1990-11-24")
    clock.advance(hours=-10)   # 02:00 UTC: 15:00 on the 23rd in Auckland; catch-up does not reach before enabling
    tick_dates(engine, clock)
    clock.advance(hours=10)    # 12:00 UTC = 01:00 on the 24th in Auckland
    tick_dates(engine, clock)
    rows = ledger(engine)
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("nz@example.com", "2026-11-24/0", datetime(2026, 11, 23, 11, 0, tzinfo=timezone.utc))]


def test_the_29th_of_february_fires_on_the_28th_in_a_common_year(api, engine, clock, shop, birthday):
    responder(api, shop, AutoResponderTriggerType="OnSubscriberDate", AutoResponderTriggerValue=str(birthday),
              AutoResponderTriggerValue2="Yearly")
    clock.now = datetime(2027, 2, 27, 12, 0, tzinfo=timezone.utc)
    dated(engine, shop, birthday, "leap@example.com", "2000-02-29")
    assert tick_dates(engine, clock) == 0
    clock.advance(days=1)
    assert tick_dates(engine, clock) == 1
    clock.advance(days=1)
    assert tick_dates(engine, clock) == 0
    assert [row[2] for row in ledger(engine)] == ["2027-02-28/0"]


def test_days_before_a_one_off_date(api, engine, clock, shop, birthday):
    renewal = responder(api, shop, AutoResponderTriggerType="OnSubscriberDate", AutoResponderTriggerValue=str(birthday),
                        AutoResponderTriggerValue2="-3")
    dated(engine, shop, birthday, "due@example.com", "2026-11-26")
    dated(engine, shop, birthday, "lastyear@example.com", "2025-11-26")
    assert tick_dates(engine, clock) == 1
    assert [row[:3] for row in ledger(engine)] == [(renewal, "due@example.com", "2026-11-23/0")]


def test_the_tick_enqueues_date_autoresponders(api, engine, clock, shop, birthday):
    from scheduler.tick import tick

    responder(api, shop, AutoResponderTriggerType="OnSubscriberDate", AutoResponderTriggerValue=str(birthday),
              AutoResponderTriggerValue2="Yearly")
    dated(engine, shop, birthday, "today@example.com", "1990-11-23")
    summary = tick(engine, clock())
    assert summary.autoresponder_sends == 1 and "1 autoresponder sends queued" in summary.line()
    assert tick(engine, clock()).autoresponder_sends == 0


def test_subscriber_get_shows_the_subscribers_autoresponder_mail(api, engine, clock, shop):
    welcome = responder(api, shop)
    later = responder(api, shop, AutoResponderName="Later", TriggerTimeType="Days later", TriggerTime=2)
    ann = subscribe(api, shop, "ann@example.com")["SubscriberID"]
    worker(engine, Capture(), clock).run_once()
    got = api("Subscriber.Get", shop.user.session, ListID=shop.list_id, SubscriberID=ann)
    assert [(a["Type"], a["AutoResponderID"], a["AutoResponderName"], a["Status"], a["SentAt"])
            for a in got["SubscriberActivity"]] == [
        ("AutoResponder", later, "Later", "Pending", None),
        ("AutoResponder", welcome, "Welcome", "Sent", "2026-11-23 12:00:00")]


def test_a_worker_asked_to_stop_hands_the_rest_of_its_batch_back(api, engine, clock, shop):
    responder(api, shop)
    for address in ("ann@example.com", "bob@example.com", "cy@example.com"):
        subscribe(api, shop, address)
    capture = Capture()
    run = worker(engine, capture, clock, concurrency=1)
    original = capture._send

    def send_then_stop(envelope):
        run.stop()          # SIGTERM while the first message is with the relay
        return original(envelope)
    capture._send = send_then_stop
    run.run_once()
    assert capture.recipients() == ["ann@example.com"]
    with engine.uow() as uow:
        rows = {r.email_address: (r.state, r.worker) for r in uow.session.scalars(select(AutoResponderSend))}
    assert rows == {"ann@example.com": ("sent", "w1"), "bob@example.com": ("pending", ""),
                    "cy@example.com": ("pending", "")}
    capture._send = original
    worker(engine, capture, clock, worker_id="w2").run_once()
    assert sorted(capture.recipients()) == ["ann@example.com", "bob@example.com", "cy@example.com"]
