"""Autoresponders over real SMTP (the loopback aiosmtpd server): a welcome arrives once, a drip arrives in
order, racing ticks and workers mail every occurrence exactly once, and a killed worker loses at most its
round (unknown), never sends twice."""
from __future__ import annotations

import email
import email.policy
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.automation import list_triggers
from engine.automation.enqueue import enqueue_date_triggers, on_subscribed
from engine.delivery.relays import parse_relays
from engine.delivery.runner import DeliveryRunner, retrying
from engine.delivery.transport import SmtpPool
from engine.models import AutoResponder, AutoResponderSend, CustomField, Subscriber, SubscriberFieldValue
from scheduler.tick import tick
from tests.e2e.support import make_list, make_owner

WELCOME_HTML = '<p>Welcome %Subscriber:EmailAddress%</p><a href="https://shop.example/start">Start</a>'


@pytest.fixture
def pool(smtp):
    transport = SmtpPool(parse_relays(smtp.url + "?max_connections=4"))
    yield transport
    transport.close()


def runner(engine, transport, clock, **kwargs) -> DeliveryRunner:
    kwargs.setdefault("worker_id", "ar-worker")
    return DeliveryRunner(engine, transport, clock=clock, **kwargs)


def autoresponder(engine, owner, list_id: int, name: str, subject: str, **columns) -> int:
    with engine.uow() as uow:
        mail = uow.emails.create(owner.actor, name)
        mail.subject, mail.from_email, mail.html_content = subject, "news@sender.example", WELCOME_HTML
        row = AutoResponder(owner_user_id=owner.id, list_id=list_id, email_id=mail.id, name=name,
                            trigger_type=columns.pop("trigger_type", "OnSubscription"), status="Enabled",
                            enabled_at=uow.clock(), created_at=uow.clock(), updated_at=uow.clock(), **columns)
        uow.session.add(row)
        list_triggers.refresh(uow.session, [owner.id])   # written past the service: keep the account's flag
        uow.commit()
        return row.id


def subjects(smtp) -> list[tuple[str, str]]:
    out = []
    for _, rcpts, data in smtp.messages:
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        out.append((rcpts[0], str(parsed["Subject"])))
    return out


def test_a_public_subscription_gets_its_welcome_over_smtp_once(api, engine, clock, smtp, pool):
    owner = make_owner(engine)
    list_id = make_list(engine, owner, [], "Shop")
    autoresponder(engine, owner, list_id, "Welcome", "Welcome %Subscriber:EmailAddress%")
    answer = api("Subscriber.Subscribe", None, ListID=list_id, EmailAddress="ann@example.com", IPAddress="1.2.3.4")
    assert answer["Success"] is True, answer
    assert runner(engine, pool, clock).run_once(30).sent == 1
    assert runner(engine, pool, clock).run_once(30).sent == 0
    assert subjects(smtp) == [("ann@example.com", "Welcome ann@example.com")]
    mail_from, _, data = smtp.messages[0]
    assert mail_from.startswith("bounce+")
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and "/t/u/" in parsed["List-Unsubscribe"]
    assert "/t/c/" in parsed.get_body(("html",)).get_content()


def test_a_two_step_sequence_with_second_delays_arrives_in_order(api, engine, clock, smtp, pool):
    owner = make_owner(engine)
    list_id = make_list(engine, owner, [], "Course")
    autoresponder(engine, owner, list_id, "Lesson 1", "Lesson 1", trigger_time_type="Seconds later", trigger_time=10)
    autoresponder(engine, owner, list_id, "Lesson 2", "Lesson 2", trigger_time_type="Seconds later", trigger_time=40)
    api("Subscriber.Subscribe", None, ListID=list_id, EmailAddress="ann@example.com", IPAddress="1.2.3.4")
    runner(engine, pool, clock).run_once(30)
    assert smtp.messages == []                      # nothing is due yet
    for _ in range(5):
        clock.advance(seconds=10)
        runner(engine, pool, clock).run_once(30)
    assert subjects(smtp) == [("ann@example.com", "Lesson 1"), ("ann@example.com", "Lesson 2")]


def test_four_racing_ticks_and_workers_mail_every_occurrence_exactly_once(engine, clock, smtp):
    owner = make_owner(engine)
    addresses = [f"r{i:03d}@example.com" for i in range(80)]
    list_id = make_list(engine, owner, addresses, "Race")
    with engine.uow() as uow:
        born = CustomField(owner_user_id=owner.id, list_id=list_id, name="Born", field_type="Date field")
        uow.session.add(born)
        uow.session.flush()
        born_id = born.id
        ids = list(uow.session.scalars(select(Subscriber.id).where(Subscriber.list_id == list_id)))
        today = datetime(2000, clock().month, clock().day, tzinfo=timezone.utc)
        uow.session.add_all(SubscriberFieldValue(subscriber_id=i, field_id=born_id, value_text="2000",
                                                 value_date=today) for i in ids[::2])
        uow.commit()
    welcome = autoresponder(engine, owner, list_id, "Welcome", "Welcome")
    birthday = autoresponder(engine, owner, list_id, "Birthday", "Birthday", trigger_type="OnSubscriberDate",
                             trigger_value=str(born_id), trigger_value2="Yearly")
    clock.advance(seconds=1)
    with engine.uow() as uow:
        on_subscribed(uow.session, list_id, ids, clock())
        uow.commit()
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def race(n: int) -> None:
        transport = SmtpPool(parse_relays(smtp.url + "?max_connections=2"))
        try:
            start.wait(30)
            with engine.uow() as uow:                      # the date pass without the lease: only the keys guard it
                # (MariaDB may answer racing INSERT … SELECTs on one unique key with a deadlock: the tick
                # logs it and the next tick writes the day; here the pass is run again, as a worker would.)
                retrying(uow.session, lambda: (enqueue_date_triggers(uow.session, clock()), uow.commit()))
            tick(engine, clock(), holder=f"tick-{n}")       # and with it
            runner(engine, transport, clock, worker_id=f"w{n}", batch_size=9, concurrency=3).run_once(60)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            transport.close()

    threads = [threading.Thread(target=race, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    runner(engine, SmtpPool(parse_relays(smtp.url)), clock, worker_id="sweeper").run_once(60)
    got = Counter((rcpt, subject) for rcpt, subject in subjects(smtp))
    expected = Counter({**{(a, "Welcome"): 1 for a in addresses}, **{(a, "Birthday"): 1 for a in addresses[::2]}})
    assert got == expected
    with engine.uow() as uow:
        states = Counter(uow.session.execute(select(AutoResponderSend.autoresponder_id, AutoResponderSend.state)).all())
        totals = dict(uow.session.execute(select(AutoResponder.id, AutoResponder.total_sent)).all())
    assert states == Counter({(welcome, "sent"): 80, (birthday, "sent"): 40})
    assert totals == {welcome: 80, birthday: 40}


class WorkerKilled(BaseException):
    """kill -9: nothing after this point runs, nothing uncommitted is kept."""


class KilledWhileItsFirstRoundIsOut:
    def __init__(self, pool: SmtpPool):
        self.pool = pool

    def start_many(self, envelopes):
        sending = self.pool.start_many(envelopes)

        def killed(*_args, **_kwargs):
            raise WorkerKilled()
        sending.wait = killed
        return sending


def test_a_killed_worker_leaves_its_round_unknown_and_the_rest_is_sent_once(engine, clock, smtp, pool):
    owner = make_owner(engine)
    addresses = [f"k{i:02d}@example.com" for i in range(10)]
    list_id = make_list(engine, owner, addresses, "Killed")
    autoresponder(engine, owner, list_id, "Welcome", "Welcome")
    clock.advance(seconds=1)
    with engine.uow() as uow:
        on_subscribed(uow.session, list_id, select(Subscriber.id).where(Subscriber.list_id == list_id), clock())
        uow.commit()
    with pytest.raises(WorkerKilled):
        runner(engine, KilledWhileItsFirstRoundIsOut(pool), clock, worker_id="dying", concurrency=3).run_once(30)
    runner(engine, pool, clock, worker_id="next").run_once(30)
    assert smtp.messages == []                                        # the dead round never reached DATA
    clock.advance(minutes=6)                                          # the dead worker's lease expires
    summary = runner(engine, pool, clock, worker_id="next").run_once(30)
    assert summary.unknown == 3 and summary.sent == 7
    with engine.uow() as uow:
        states = Counter(uow.session.scalars(select(AutoResponderSend.state)))
    assert states == Counter({"sent": 7, "unknown": 3})
    assert all(count == 1 for count in Counter(smtp.recipients()).values())
