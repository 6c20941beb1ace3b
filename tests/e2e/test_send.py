"""A campaign from the tick to the SMTP server's mailbox: exactly once per person, on every backend."""
from __future__ import annotations

import email
import email.policy
import gc
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from engine.accounts.auth import Actor

from engine.delivery.runner import DeliveryRunner
from engine.delivery.relays import parse_relays
from engine.delivery.flight import OneByOne
from engine.delivery.transport import SmtpPool
from engine.models import Campaign, CustomField, Delivery, Email, SendInstance, Subscriber, SubscriberFieldValue
from scheduler.cli import main
from scheduler.tick import tick
from tests.conftest import SENDER_DOMAINS_ENV
from tests.e2e.support import make_campaign, make_list, make_owner

ROOT = Path(__file__).resolve().parents[2]

def people(total: int) -> tuple[list[str], list[str]]:
    """Two lists over `total` addresses; the middle third is on both."""
    addresses = [f"p{i:03d}@example.com" for i in range(total)]
    return addresses[:total * 2 // 3], addresses[total // 3:]


TOTAL = 1000
EVERYONE = sorted(set().union(*people(TOTAL)))  # the main test's 1,000 people
SMALL = sorted(set().union(*people(120)))      # the other tests need fewer to show their point


@pytest.fixture
def pool(smtp):
    transport = SmtpPool(parse_relays(smtp.url + "?max_connections=4"))
    yield transport
    transport.close()


def runner(engine, transport, clock, **kwargs) -> DeliveryRunner:
    kwargs.setdefault("worker_id", "test-worker")
    return DeliveryRunner(engine, transport, clock=clock, **kwargs)


def states(engine, campaign_id: int) -> dict[str, str]:
    with engine.uow() as uow:
        rows = uow.session.execute(
            select(Delivery.email_normalized, Delivery.state).join(SendInstance, SendInstance.id == Delivery.instance_id)
            .where(SendInstance.campaign_id == campaign_id)).all()
        return {address: state for address, state in rows}


def campaign_row(engine, campaign_id: int) -> Campaign:
    with engine.uow() as uow:
        row = uow.session.get(Campaign, campaign_id)
        uow.session.expunge(row)
        return row


def unsubscribe(engine, address: str) -> None:
    with engine.uow() as uow:
        uow.session.execute(update(Subscriber).where(Subscriber.email_normalized == address)
                            .values(subscription_status="Unsubscribed"))
        uow.commit()


LATE = {"p005@example.com", "p010@example.com", "p011@example.com", "p013@example.com", "p400@example.com"}


def late_refusals(engine, campaign_id: int) -> None:
    """People who may no longer be mailed, each for another reason, once the ledger is written."""
    unsubscribe(engine, "p005@example.com")
    with engine.uow() as uow:
        s = uow.session
        owner_id = s.get(Campaign, campaign_id).owner_user_id
        row = lambda address: s.scalars(select(Subscriber).where(  # noqa: E731
            Subscriber.email_normalized == address).order_by(Subscriber.id)).all()
        row("p010@example.com")[0].bounce_type = "Hard"
        uow.suppression.add(owner_id, "p011@example.com")                                  # account-wide
        uow.suppression.add(owner_id, "p013@example.com", list_id=row("p013@example.com")[0].list_id)
        # On both lists; the ledger row is the list A one, the complaint came through list B.
        row("p400@example.com")[1].complained_at = uow.clock()
        uow.commit()


def started(engine, clock, total: int = TOTAL) -> int:
    """Two overlapping lists plus people who must never be mailed; the tick starts the campaign."""
    owner = make_owner(engine)
    list_a, list_b = people(total)
    excluded = {"unsub@example.com": {"subscription_status": "Unsubscribed"},
                "hard@example.com": {"bounce_type": "Hard"}}
    a = make_list(engine, owner, list_a + ["unsub@example.com", "suppressed@example.com"], "A", **excluded)
    b = make_list(engine, owner, list_b + ["hard@example.com"], "B", **excluded)
    with engine.uow() as uow:
        uow.suppression.add(owner.id, "suppressed@example.com")
        uow.commit()
    campaign_id = make_campaign(engine, owner, [a, b])
    summary = tick(engine, clock())
    assert summary.started == 1
    assert campaign_row(engine, campaign_id).status == "Sending"
    return campaign_id


def test_every_person_gets_exactly_one_wellformed_message(engine, clock, smtp, pool):
    campaign_id = started(engine, clock)
    assert sorted(states(engine, campaign_id)) == EVERYONE   # the ledger: one row per unique address
    late_refusals(engine, campaign_id)                       # after the ledger, before the send
    smtp.reject["p007@example.com"] = "550 5.1.1 No such user"
    # A temporary refusal that is not throttling (a 421/451 would also halve the relay's rate, which
    # the transport's own tests cover); the runner treats every 4xx the same way.
    smtp.defer_once["p008@example.com"] = "450 4.2.1 Mailbox busy, try again later"

    first = runner(engine, pool, clock, concurrency=4).run_once(120)
    assert (first.sent, first.failed, first.skipped, first.retried) == (TOTAL - 7, 1, 5, 1)
    assert first.waiting == 1
    assert "p008@example.com" not in smtp.recipients()
    clock.advance(minutes=2)                                  # past the retry's backoff
    second = runner(engine, pool, clock).run_once(60)
    assert (second.sent, second.waiting) == (1, 0)

    received = Counter(smtp.recipients())
    assert max(received.values()) == 1
    assert set(received) == set(EVERYONE) - LATE - {"p007@example.com"}
    for mail_from, rcpts, data in smtp.messages:
        message = email.message_from_bytes(data, policy=email.policy.strict)
        assert message["To"] == rcpts[0]
        assert message["Subject"] == f"News for {rcpts[0]}"
        assert message["List-Unsubscribe"].startswith("<mailto:unsubscribe+")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert mail_from.startswith("bounce+") and mail_from.endswith("@sendmill.test")
        assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    assert len({mail_from for mail_from, _, _ in smtp.messages}) == len(smtp.messages)   # VERP: one per person
    # The ledger names each message by the Message-ID the recipient got (all unique).
    received_ids = {rcpts[0]: email.message_from_bytes(data, policy=email.policy.strict)["Message-ID"].strip("<>")
                    for _, rcpts, data in smtp.messages}
    assert len(set(received_ids.values())) == len(received_ids)
    with engine.uow() as uow:
        stored_ids = dict(uow.session.execute(
            select(Delivery.email_normalized, Delivery.message_id).join(SendInstance, SendInstance.id == Delivery.instance_id)
            .where(SendInstance.campaign_id == campaign_id, Delivery.state == "sent")).all())
    assert stored_ids == received_ids

    ledger = states(engine, campaign_id)
    assert {a for a, s in ledger.items() if s == "skipped"} == LATE
    assert ledger["p007@example.com"] == "failed"
    assert ledger["p008@example.com"] == "sent"
    assert Counter(ledger.values()) == {"sent": TOTAL - 6, "failed": 1, "skipped": 5}
    with engine.uow() as uow:
        row = uow.session.scalar(select(Delivery).where(Delivery.email_normalized == "p008@example.com"))
        assert row.attempts == 2 and row.sent_at is not None and row.message_id.endswith("@sendmill.test")
        failed = uow.session.scalar(select(Delivery).where(Delivery.email_normalized == "p007@example.com"))
        assert failed.last_error.startswith("550")

    tick(engine, clock())
    campaign = campaign_row(engine, campaign_id)
    assert (campaign.status, campaign.total_sent, campaign.total_failed) == ("Sent", TOTAL - 6, 1)


def test_a_claim_takes_at_most_its_batch_in_keyset_order(engine, clock):
    """On PostgreSQL `IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` may be rescanned per outer row, and a
    claim of 30 once took all 120 rows of the instance: the candidates are a MATERIALIZED CTE now."""
    from datetime import timedelta

    from engine.delivery.claims import Claims

    started(engine, clock, 120)
    claims = Claims("claimer", 30, timedelta(minutes=5), clock)
    with engine.uow() as uow:
        first, second = claims.next_batch(uow.session), claims.next_batch(uow.session)
        claimed = uow.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.state == "claimed"))
    assert (len(first), len(second), claimed) == (30, 30, 60)
    assert max(row.id for row, _ in first) < min(row.id for row, _ in second)


def test_pause_stops_within_a_batch_and_resume_sends_the_rest_once(engine, clock, smtp, pool):
    campaign_id = started(engine, clock, 120)
    with engine.uow() as uow:
        owner_actor = Actor("user", uow.session.get(Campaign, campaign_id).owner_user_id, "*")

    class PausingTransport:
        """Pauses the campaign (as Campaign.Pause would) once 70 messages went out."""

        def __init__(self):
            self.count = 0

        def start_many(self, envelopes):
            return OneByOne(self.send, envelopes)

        def send(self, envelope):
            result = pool.send_many([envelope])[0]
            self.count += 1
            if self.count == 70:
                with engine.uow() as uow:
                    uow.campaigns.pause(owner_actor, campaign_id)
                    uow.commit()
            return result

    paused = runner(engine, PausingTransport(), clock, batch_size=50).run_once(60)
    assert paused.sent == 70                # stopped at the next hand-over, inside the second batch
    assert paused.sent == len(smtp.recipients())
    assert campaign_row(engine, campaign_id).status == "Paused"
    assert runner(engine, pool, clock).run_once(60).sent == 0      # a paused campaign sends nothing
    assert Counter(states(engine, campaign_id).values())["claimed"] == 0

    with engine.uow() as uow:
        uow.campaigns.resume(owner_actor, campaign_id)
        uow.commit()
    resumed = runner(engine, pool, clock).run_once(60)
    assert paused.sent + resumed.sent == len(SMALL)
    assert Counter(smtp.recipients()) == Counter(SMALL)
    tick(engine, clock())
    assert (campaign_row(engine, campaign_id).status, campaign_row(engine, campaign_id).total_sent) == \
        ("Sent", len(SMALL))


def test_cancel_mid_batch_stops_sending_and_the_rest_is_skipped(engine, clock, smtp, pool):
    campaign_id = started(engine, clock, 120)
    with engine.uow() as uow:
        owner = Actor("user", uow.session.get(Campaign, campaign_id).owner_user_id, "*")

    class CancelingTransport:
        count = 0

        def start_many(self, envelopes):
            return OneByOne(self.send, envelopes)

        def send(self, envelope):
            result = pool.send_many([envelope])[0]
            self.count += 1
            if self.count == 25:
                with engine.uow() as uow:
                    uow.campaigns.cancel(owner, campaign_id)
                    uow.commit()
            return result

    summary = runner(engine, CancelingTransport(), clock, batch_size=100).run_once(60)
    assert summary.sent == 25 and len(smtp.recipients()) == 25     # the next hand-over is refused
    tick(engine, clock())
    campaign = campaign_row(engine, campaign_id)
    assert (campaign.status, campaign.status_reason, campaign.total_sent) == ("Sent", "Canceled", 25)
    assert Counter(states(engine, campaign_id).values()) == {"sent": 25, "skipped": len(SMALL) - 25}


def test_a_pause_between_a_rounds_start_and_its_hand_over_stops_that_round(engine, clock, smtp, pool):
    """The hand-over itself checks the campaign: a pause committed after the round was rendered and its
    envelopes written (the relay offers PIPELINING), before its hand-over, sends nothing of that round,
    neither the messages holding a connection nor those still waiting for one (8 messages, 4 connections)."""
    owner = make_owner(engine)
    addresses = [f"r{i:02d}@example.com" for i in range(40)]
    campaign_id = make_campaign(engine, owner, [make_list(engine, owner, addresses, "Rounds")])
    tick(engine, clock())
    actor = Actor("user", owner.id, "*")

    class PausingOnTheThirdRound:
        rounds = 0

        def start_many(self, envelopes):
            started_round = pool.start_many(envelopes)
            self.rounds += 1
            if self.rounds == 3:
                with engine.uow() as uow:
                    uow.campaigns.pause(actor, campaign_id)
                    uow.commit()
            return started_round

    paused = runner(engine, PausingOnTheThirdRound(), clock, batch_size=40, concurrency=8).run_once(60)
    assert (paused.sent, paused.released, paused.unknown) == (16, 24, 0)      # rounds 1 and 2
    assert len(smtp.recipients()) == 16
    assert Counter(states(engine, campaign_id).values()) == {"sent": 16, "pending": 24}
    with engine.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.message_id != "",
                                                                                Delivery.state == "pending")) == 0
        uow.campaigns.resume(actor, campaign_id)
        uow.commit()
    assert runner(engine, pool, clock, concurrency=8).run_once(60).sent == 24
    assert Counter(smtp.recipients()) == Counter(addresses)


def test_expired_claims_become_unknown_only_when_handed_to_the_relay(engine, clock, smtp, pool):
    campaign_id = started(engine, clock, 120)
    with engine.uow() as uow:
        ids = list(uow.session.scalars(select(Delivery.id).order_by(Delivery.id).limit(3)))
        # A crashed worker: three rows claimed, the first one already handed to the relay.
        uow.session.execute(update(Delivery).where(Delivery.id.in_(ids))
                            .values(state="claimed", worker="dead", lease_until=clock()))
        uow.session.execute(update(Delivery).where(Delivery.id == ids[0]).values(message_id="x@y"))
        uow.commit()
    clock.advance(seconds=1)
    summary = runner(engine, pool, clock).run_once(60)
    assert summary.unknown == 1 and summary.sent == len(SMALL) - 1
    ledger = Counter(states(engine, campaign_id).values())
    assert ledger == {"sent": len(SMALL) - 1, "unknown": 1}
    assert max(Counter(smtp.recipients()).values()) == 1
    tick(engine, clock())
    assert campaign_row(engine, campaign_id).status == "Sent"


# Messages a worker process keeps in flight, and the relay connections it may open: fewer, so that half of
# every round waits for a connection (those must not be handed over: they are not lost when killed).
CONCURRENCY, CONNECTIONS = 8, 4


def worker_env(database_url, smtp, tmp_path) -> dict:
    return {**os.environ, "SENDMILL_DATABASE_URL": database_url,
            "SENDMILL_SMTP_URL": f"{smtp.url}?max_connections={CONNECTIONS}",
            "SENDMILL_SECRET_KEY": "test-secret", "SENDMILL_BASE_URL": "http://sendmill.test",
            "SENDMILL_DATA_DIR": str(tmp_path), **SENDER_DOMAINS_ENV, "SENDMILL_SEND_CONCURRENCY": str(CONCURRENCY)}


# A lease no run outlasts, even on a loaded machine: a killed worker's lease is expired by the test itself.
WORKER = [sys.executable, "-m", "scheduler", "worker", "--once", "--batch", "10", "--lease", "600", "--budget", "90"]


def expire_leases_of_the_dead(engine) -> None:
    """What time does to a killed worker's claims, done at once: its leases end in the past."""
    with engine.uow() as uow:
        uow.session.execute(update(Delivery).where(Delivery.state == "claimed")
                            .values(lease_until=datetime(2000, 1, 1, tzinfo=timezone.utc)))
        uow.commit()


def test_workers_killed_mid_campaign_never_cause_a_duplicate(engine, clock, smtp, database_url, tmp_path):
    campaign_id = started(engine, clock, 240)
    everyone = sorted(set().union(*people(240)))
    smtp.delay = 0.005
    env = worker_env(database_url, smtp, tmp_path)
    kills = 0
    for target in (40, 90, 140):          # kill -9 three times, each time mid-campaign
        worker = subprocess.Popen(WORKER, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120   # bounded polling on the real subprocess, generous under load
        while len(smtp.recipients()) < target and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.01)
        assert worker.poll() is None, worker.communicate()
        worker.send_signal(signal.SIGKILL)
        worker.communicate()
        kills += 1
        assert len(smtp.recipients()) < len(everyone)
        expire_leases_of_the_dead(engine)   # nobody else runs: every claimed row is the dead worker's

    done = subprocess.run(WORKER, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "worker done (nothing left to send)" in done.stdout
    peak = re.search(r"; peak memory (\d+\.\d) MB$", done.stdout.strip())   # the worker's own, not its parent's
    assert peak and 10 < float(peak.group(1)) < 1000

    received = Counter(smtp.recipients())
    assert max(received.values()) == 1                       # the server never saw anyone twice
    ledger = states(engine, campaign_id)
    unknown = {address for address, state in ledger.items() if state == "unknown"}
    assert len(unknown) <= kills * CONNECTIONS                # at most one per killed connection
    assert {a for a, s in ledger.items() if s == "sent"} | unknown == set(everyone)   # nothing lost
    assert set(received) - unknown == {a for a, s in ledger.items() if s == "sent"}
    tick(engine, clock())
    campaign = campaign_row(engine, campaign_id)
    assert campaign.status == "Sent"
    assert campaign.total_sent == len(everyone) - len(unknown)


@pytest.mark.parametrize("processes", [2, 4])
def test_several_worker_processes_send_each_recipient_exactly_once(engine, clock, smtp, database_url, tmp_path,
                                                                  processes):
    campaign_id = started(engine, clock, 600)
    everyone = sorted(set().union(*people(600)))
    smtp.delay = 0.02   # long enough that every process is up before the first one could finish alone
    env = worker_env(database_url, smtp, tmp_path)
    workers = [subprocess.Popen(WORKER, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(processes)]
    outputs = [worker.communicate(timeout=150) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs
    assert Counter(smtp.recipients()) == Counter(everyone)
    assert Counter(states(engine, campaign_id).values()) == {"sent": len(everyone)}
    with engine.uow() as uow:
        shared = set(uow.session.scalars(select(Delivery.worker).where(Delivery.state == "sent")))
    assert len(shared) >= 2                                   # the processes really shared the work
    tick(engine, clock())
    assert (campaign_row(engine, campaign_id).status, campaign_row(engine, campaign_id).total_sent) == \
        ("Sent", len(everyone))


def test_two_workers_racing_on_one_campaign_send_each_message_once(engine, clock, smtp):
    import threading

    campaign_id = started(engine, clock, 120)
    results, errors = [], []

    def work(name: str):
        transport = SmtpPool(parse_relays(smtp.url))
        try:
            results.append(runner(engine, transport, clock, worker_id=name, batch_size=7).run_once(60))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            transport.close()

    threads = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert errors == []
    assert sum(r.sent for r in results) == len(SMALL)
    assert Counter(smtp.recipients()) == Counter(SMALL)
    with engine.uow() as uow:
        workers = set(uow.session.scalars(select(Delivery.worker).where(Delivery.state == "sent")))
    assert len(workers) >= 2   # the work was shared, not serialised into one worker
    assert campaign_row(engine, campaign_id).total_sent == len(SMALL)


def test_sendmill_tick_schedules_then_sends_within_its_budget(engine, smtp, database_url, tmp_path):
    owner = make_owner(engine)
    addresses = [f"t{i}@example.com" for i in range(30)]
    campaign_id = make_campaign(engine, owner, [make_list(engine, owner, addresses, "Tick")])
    env = {**os.environ, "SENDMILL_DATABASE_URL": database_url, "SENDMILL_SMTP_URL": smtp.url,
           "SENDMILL_SECRET_KEY": "test-secret", "SENDMILL_BASE_URL": "http://sendmill.test",
           "SENDMILL_DATA_DIR": str(tmp_path), **SENDER_DOMAINS_ENV}
    first = subprocess.run([sys.executable, "-m", "scheduler", "tick", "--send-budget", "30"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert ": 1 started," in first.stdout
    assert "send: 30 sent, 0 failed" in first.stdout
    assert sorted(smtp.recipients()) == sorted(addresses)
    # The last message went out in this tick: the campaign is Sent now, not on the next tick.
    assert first.stdout.splitlines()[-1] == "after sending: 1 finished", first.stdout
    campaign = campaign_row(engine, campaign_id)
    assert (campaign.status, campaign.total_sent) == ("Sent", 30) and campaign.send_process_finished_on
    second = subprocess.run([sys.executable, "-m", "scheduler", "tick", "--send-budget", "0"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert ": 0 started, 0 finished," in second.stdout, second.stdout + second.stderr


def test_a_tick_run_inside_another_program_leaves_its_garbage_collector_as_it_was(engine, smtp, database_url,
                                                                                  tmp_path):
    """Sending tunes Python's cycle collector for the send loop (scheduler/cli/delivery.py); a program that runs the
    tick in-process (a test runner, an embedding scheduler) gets its own settings back."""
    owner = make_owner(engine)
    make_campaign(engine, owner, [make_list(engine, owner, ["gc@example.com"], "In process")])
    env = {"SENDMILL_DATABASE_URL": database_url, "SENDMILL_SMTP_URL": smtp.url, "SENDMILL_SECRET_KEY": "test-secret",
           "SENDMILL_BASE_URL": "http://sendmill.test", "SENDMILL_DATA_DIR": str(tmp_path), **SENDER_DOMAINS_ENV}
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    result = CliRunner().invoke(main, ["tick", "--send-budget", "10"], env=env, catch_exceptions=False)
    assert "send: 1 sent, 0 failed" in result.output, result.output
    assert smtp.recipients() == ["gc@example.com"]
    assert (gc.get_threshold(), gc.get_freeze_count()) == (threshold, frozen)
    gc.freeze()                                        # a host that freezes its own objects keeps them frozen
    try:
        held = gc.get_freeze_count()
        CliRunner().invoke(main, ["tick", "--send-budget", "10"], env=env, catch_exceptions=False)
        assert gc.get_threshold() == threshold
        assert 0 < gc.get_freeze_count() <= held       # still frozen (less what died meanwhile), none added
    finally:
        gc.unfreeze()


def test_stop_lets_the_messages_in_flight_go_and_hands_back_the_rest(engine, clock, smtp, pool):
    owner = make_owner(engine)
    addresses = [f"f{i:02d}@example.com" for i in range(40)]
    campaign_id = make_campaign(engine, owner, [make_list(engine, owner, addresses, "Forever")])
    tick(engine, clock())
    loop = runner(engine, None, clock, batch_size=25)

    class StoppingTransport:
        count = 0

        def start_many(self, envelopes):
            return OneByOne(self.send, envelopes)

        def send(self, envelope):
            self.count += 1
            if self.count == 10:
                loop.stop()            # what SIGTERM does: the messages in flight still go out
            return pool.send_many([envelope])[0]

    loop.transport = StoppingTransport()
    total = loop.run_once(60)
    assert (total.sent, total.released) == (10, 15)
    assert Counter(states(engine, campaign_id).values()) == {"sent": 10, "pending": 30}
    rest = runner(engine, pool, clock, worker_id="next").run_once(30)
    assert rest.sent == 30 and Counter(smtp.recipients()) == Counter(addresses)


def test_opens_clicks_and_unsubscribes_through_the_http_endpoints_move_the_statistics(engine, clock, smtp, pool,
                                                                                     client, api):
    owner = make_owner(engine, "stats")
    addresses = [f"s{i}@example.com" for i in range(5)]
    campaign_id = make_campaign(engine, owner, [make_list(engine, owner, addresses, "Stats")])
    tick(engine, clock())
    assert runner(engine, pool, clock).run_once(30).sent == 5
    message = email.message_from_bytes(smtp.messages[0][2], policy=email.policy.default)
    html = message.get_body(("html",)).get_content()
    pixel = re.search(r'src="http://sendmill\.test(/t/o/[^"]+)"', html).group(1)
    offer = re.search(r'href="http://sendmill\.test(/t/c/[^"]+)"[^>]*>Offer<', html).group(1)
    one_click = re.search(r"<http://sendmill\.test(/t/u/[^>]+)>", message["List-Unsubscribe"]).group(1)

    for _ in range(2):
        assert client.get(pixel).status_code == 200
    click = client.get(offer)
    assert click.status_code == 302 and click.headers["Location"] == "https://example.com/offer"
    assert client.post(one_click, data={"List-Unsubscribe": "One-Click"}).status_code == 200

    session = api("User.Login", Username="stats", Password="pass-word-1")["SessionID"]
    answer = api("Campaign.Get", session, CampaignID=campaign_id, RetrieveStatistics="true")
    stats = answer["Campaign"]["Statistics"]
    assert (stats["OpenStatistics"]["TotalOpens"], stats["OpenStatistics"]["UniqueOpens"]) == (2, 1)
    assert (stats["ClickStatistics"]["TotalClicks"], stats["ClickStatistics"]["UniqueClicks"]) == (1, 1)
    assert stats["UnsubscriptionStatistics"]["TotalUnsubscriptions"] == 1
    recipient = smtp.messages[0][1][0]
    with engine.uow() as uow:
        row = uow.session.scalar(select(Subscriber).where(Subscriber.email_normalized == recipient))
        assert row.subscription_status == "Unsubscribed"


def test_with_a_dkim_key_configured_every_message_is_signed_and_verifies(engine, clock, smtp, pool, tmp_path):
    import base64
    import dataclasses
    import shutil

    import dkim

    from engine import bootstrap

    key = tmp_path / "dkim.pem"
    subprocess.run([shutil.which("openssl"), "genrsa", "-out", str(key), "1024"], check=True, capture_output=True)
    public = subprocess.run([shutil.which("openssl"), "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
                            check=True, capture_output=True).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    settings = dataclasses.replace(engine.settings, dkim_selector="s1", dkim_domain="sender.example",
                                   dkim_key_file=str(key))
    signing = bootstrap(settings, db=engine.db, clock=clock)
    owner = make_owner(signing, "dkim")
    campaign_id = make_campaign(signing, owner, [make_list(signing, owner, ["d1@example.com", "d2@example.com"], "D")])
    tick(signing, clock())
    assert runner(signing, pool, clock).run_once(30).sent == 2

    def lookup(name, timeout=5):
        return record if name == b"s1._domainkey.sender.example." else None

    for _mail_from, _rcpts, data in smtp.messages:
        assert data.startswith(b"DKIM-Signature:")
        assert dkim.verify(data, dnsfunc=lookup)
        assert not dkim.verify(data.replace(b"News for", b"News FOR"), dnsfunc=lookup)
    assert campaign_row(signing, campaign_id).total_sent == 2


def test_custom_fields_and_merge_tag_aliases_personalise_each_message(engine, clock, smtp, pool):
    owner = make_owner(engine)
    addresses = [f"cf{i}@example.com" for i in range(12)]
    list_id = make_list(engine, owner, addresses, "Fields")
    with engine.uow() as uow:
        s = uow.session
        city = CustomField(owner_user_id=owner.id, name="City")
        nickname = CustomField(owner_user_id=owner.id, name="Nickname", merge_tag_alias="Nick")
        s.add_all([city, nickname])
        s.flush()
        for subscriber in s.scalars(select(Subscriber).where(Subscriber.list_id == list_id)):
            number = subscriber.email_address[2:].split("@")[0]
            s.add(SubscriberFieldValue(subscriber_id=subscriber.id, field_id=city.id, value_text=f"Town {number}"))
            if int(number) % 2:    # the others fall back
                s.add(SubscriberFieldValue(subscriber_id=subscriber.id, field_id=nickname.id,
                                           value_text=f"Nick {number}"))
        uow.commit()
        city_id = city.id
    campaign_id = make_campaign(engine, owner, [list_id])
    with engine.uow() as uow:
        content = uow.session.get(Email, uow.session.get(Campaign, campaign_id).email_id)
        content.subject = f"Hello %Subscriber:Nick|there% from %Subscriber:CustomField{city_id}%"
        uow.commit()
    tick(engine, clock())
    assert runner(engine, pool, clock, concurrency=5).run_once(60).sent == len(addresses)
    subjects = {rcpts[0]: email.message_from_bytes(data, policy=email.policy.strict)["Subject"]
                for _, rcpts, data in smtp.messages}
    assert subjects == {f"cf{i}@example.com": f"Hello {f'Nick {i}' if i % 2 else 'there'} from Town {i}"
                        for i in range(12)}


def test_subscriber_and_list_values_personalise_each_message(engine, clock, smtp, pool):
    """The runner reads the dates, the IP and the list name only for content that uses them."""
    owner = make_owner(engine)
    addresses = [f"sv{i}@example.com" for i in range(6)]
    ips = {a: {"subscription_ip": f"192.0.2.{i}"} for i, a in enumerate(addresses) if i % 2}
    list_id = make_list(engine, owner, addresses, "Weekly Digest", **ips)
    campaign_id = make_campaign(engine, owner, [list_id])
    with engine.uow() as uow:
        content = uow.session.get(Email, uow.session.get(Campaign, campaign_id).email_id)
        content.subject = ("%List:Name% since %Subscriber:SubscriptionDate% from %Subscriber:SubscriptionIP|nowhere%"
                           " [%Subscriber:OptInDate|never%]")
        uow.commit()
    since = clock().strftime("%Y-%m-%d %H:%M:%S")
    tick(engine, clock())
    assert runner(engine, pool, clock, concurrency=4).run_once(60).sent == len(addresses)
    subjects = {rcpts[0]: email.message_from_bytes(data, policy=email.policy.strict)["Subject"]
                for _, rcpts, data in smtp.messages}
    assert subjects == {a: f"Weekly Digest since {since} from {f'192.0.2.{i}' if i % 2 else 'nowhere'} [never]"
                        for i, a in enumerate(addresses)}
