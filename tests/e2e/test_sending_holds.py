"""Nothing is sent for an account that is not ACTIVE, nor under a From the account may not use, even
when that changes after the campaign started: the worker's own checks, the tick's hold, and the double
opt-in confirmations, through a real SMTP server on loopback."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select, update

from engine.audience.confirmations import send_due_confirmations
from engine.delivery.relays import parse_relays
from engine.delivery.runner import DeliveryRunner
from engine.delivery.flight import OneByOne
from engine.delivery.transport import SmtpPool
from engine.models import Campaign, Delivery, Email, SendInstance, Subscriber, SubscriberList
from scheduler.tick import tick
from tests.e2e.support import make_campaign, make_list, make_owner

PEOPLE = [f"p{i:02d}@example.com" for i in range(40)]


@pytest.fixture
def pool(smtp):
    transport = SmtpPool(parse_relays(smtp.url + "?max_connections=2"))
    yield transport
    transport.close()


def started(engine, clock) -> tuple[int, object]:
    """A campaign to PEOPLE that the tick started: Sending, its ledger written, nothing sent yet."""
    owner = make_owner(engine)
    campaign_id = make_campaign(engine, owner, [make_list(engine, owner, PEOPLE, "All")])
    assert tick(engine, clock()).started == 1
    return campaign_id, owner


def set_status(engine, owner, status: str) -> None:
    with engine.uow() as uow:
        uow.email_account.update(owner.id, {"status": status})
        uow.commit()


def states(engine, campaign_id: int) -> Counter:
    with engine.uow() as uow:
        return Counter(uow.session.scalars(
            select(Delivery.state).join(SendInstance, SendInstance.id == Delivery.instance_id)
            .where(SendInstance.campaign_id == campaign_id)))


def campaign(engine, campaign_id: int) -> Campaign:
    with engine.uow() as uow:
        row = uow.session.get(Campaign, campaign_id)
        uow.session.expunge(row)
        return row


def runner(engine, transport, clock, **kwargs) -> DeliveryRunner:
    return DeliveryRunner(engine, transport, worker_id="test-worker", clock=clock, **kwargs)


def test_a_worker_sends_nothing_once_the_account_is_suspended_and_the_tick_pauses_it(engine, clock, smtp, pool):
    campaign_id, owner = started(engine, clock)
    set_status(engine, owner, "SUSPENDED")
    summary = runner(engine, pool, clock).run_once(30)
    assert (summary.sent, summary.batches) == (0, 0) and smtp.messages == []
    assert states(engine, campaign_id) == {"pending": len(PEOPLE)}
    held = tick(engine, clock())
    assert held.paused == 1
    row = campaign(engine, campaign_id)
    assert (row.status, row.status_reason) == ("Paused", "Account not active")
    # ACTIVE again and resumed: the rest goes out, each person once.
    set_status(engine, owner, "ACTIVE")
    with engine.uow() as uow:
        uow.campaigns.resume(owner.actor, campaign_id)
        uow.commit()
    assert (campaign(engine, campaign_id).status, campaign(engine, campaign_id).status_reason) == ("Sending", "")
    assert runner(engine, pool, clock).run_once(30).sent == len(PEOPLE)
    assert Counter(smtp.recipients()) == Counter(PEOPLE)


def test_a_campaign_sent_in_full_before_the_suspension_is_finished_not_held(engine, clock, smtp, pool):
    campaign_id, owner = started(engine, clock)
    assert runner(engine, pool, clock).run_once(30).sent == len(PEOPLE)
    set_status(engine, owner, "SUSPENDED")
    summary = tick(engine, clock())
    assert (summary.finished, summary.paused) == (1, 0)
    assert campaign(engine, campaign_id).status == "Sent"


def test_a_suspension_during_a_batch_stops_sending_at_the_next_hand_over(engine, clock, smtp, pool):
    campaign_id, owner = started(engine, clock)

    class SuspendingTransport:
        """The administrator suspends the account once 12 messages went out."""
        count = 0

        def start_many(self, envelopes):
            return OneByOne(self.send, envelopes)

        def send(self, envelope):
            result = pool.send_many([envelope])[0]
            self.count += 1
            if self.count == 12:
                set_status(engine, owner, "BANNED")
            return result

    summary = runner(engine, SuspendingTransport(), clock, batch_size=40).run_once(30)
    assert summary.sent == 12 == len(smtp.recipients())   # the next hand-over is refused, inside the batch
    assert states(engine, campaign_id) == {"sent": summary.sent, "pending": len(PEOPLE) - summary.sent}
    assert runner(engine, pool, clock).run_once(30).sent == 0


def test_a_from_changed_after_the_start_is_never_sent(engine, clock, smtp, pool):
    campaign_id, _owner = started(engine, clock)
    with engine.uow() as uow:
        email_id = uow.session.get(Campaign, campaign_id).email_id
        uow.session.execute(update(Email).where(Email.id == email_id).values(from_email="security@bank.example"))
        uow.commit()
    summary = runner(engine, pool, clock).run_once(30)
    assert (summary.sent, summary.failed) == (0, len(PEOPLE)) and smtp.messages == []
    with engine.uow() as uow:
        errors = set(uow.session.scalars(select(Delivery.last_error)))
    assert len(errors) == 1 and "security@bank.example is not a verified sender email" in errors.pop()


# --- double opt-in confirmations --------------------------------------------------------------------------------
def pending_subscription(engine, owner, sender: str) -> int:
    with engine.uow() as uow:
        row = SubscriberList(owner_user_id=owner.id, name="Club", opt_in_mode="Double", created_at=uow.clock(),
                             sender_email_address=sender, sender_name="Club")
        uow.session.add(row)
        uow.session.flush()
        result = uow.subscribers.subscribe([row.id], "ann@example.com", "192.0.2.1")
        uow.commit()
        return result.subscriber.id


def due_at(engine, subscriber_id: int):
    with engine.uow() as uow:
        return uow.session.get(Subscriber, subscriber_id).confirmation_due_at


def test_confirmations_wait_while_the_account_is_not_active(engine, clock, smtp, pool):
    owner = make_owner(engine)
    ann = pending_subscription(engine, owner, "club@example.com")
    set_status(engine, owner, "SUSPENDED")
    summary = send_due_confirmations(engine, pool)
    assert (summary.sent, summary.retried) == (0, 1) and smtp.messages == []
    assert due_at(engine, ann) is not None            # still due: sent once the account is ACTIVE
    set_status(engine, owner, "ACTIVE")
    clock.advance(minutes=6)
    assert send_due_confirmations(engine, pool).sent == 1 and smtp.recipients() == ["ann@example.com"]


def test_a_confirmation_from_someone_elses_address_is_never_sent(engine, clock, smtp, pool):
    owner = make_owner(engine)
    ann = pending_subscription(engine, owner, "security@bank.example")
    summary = send_due_confirmations(engine, pool)
    assert (summary.sent, summary.failed) == (0, 1) and smtp.messages == []
    assert due_at(engine, ann) is None                 # given up: not retried under that From
