"""A split test from the API to the SMTP server's mailbox: the test group split evenly, opens through the
tracking endpoint, the winner by opens to everyone else, each address exactly once."""
from __future__ import annotations

import email
import email.policy
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from engine.campaigns.service import RecipientRef
from engine.campaigns.variations import VariationSpec
from engine.delivery.relays import parse_relays
from engine.delivery.runner import DeliveryRunner
from engine.delivery.transport import SmtpPool
from scheduler.tick import tick
from tests.e2e.support import make_list, make_owner

ROOT = Path(__file__).resolve().parents[2]
SITE = re.escape("http://sendmill.test")
PEOPLE = [f"p{i:02d}@example.com" for i in range(40)]


@pytest.fixture
def pool(smtp):
    transport = SmtpPool(parse_relays(smtp.url + "?max_connections=2"))
    yield transport
    transport.close()


def variation(engine, owner, letter: str) -> int:
    with engine.uow() as uow:
        row = uow.emails.create(owner.actor, f"Variation {letter}")
        row.subject = f"Subject {letter}"
        row.from_email, row.from_name = "news@sender.example", "Sendmill News"
        row.html_content = (f'<html><body><p>Offer {letter}</p><p><a href="https://example.com/{letter}">Offer</a>'
                            '</p><p><a href="%Link:Unsubscribe%">Unsubscribe</a></p></body></html>')
        uow.commit()
        return row.id


def mailbox(smtp, link: str = "open") -> list[tuple[str, str, str]]:
    """(recipient, subject, open pixel or click path) of every message the server accepted."""
    pattern = rf'src="{SITE}(/t/o/[^"]+)"' if link == "open" else rf'href="{SITE}(/t/c/[^"]+)"[^>]*>Offer<'
    out = []
    for _, rcpts, data in smtp.messages:
        message = email.message_from_bytes(data, policy=email.policy.default)
        html = message.get_body(("html",)).get_content()
        out.append((rcpts[0], str(message["Subject"]), re.search(pattern, html).group(1)))
    return out


def test_the_winner_by_opens_goes_to_the_rest_and_everyone_gets_one_message(engine, clock, smtp, pool, client, api):
    owner = make_owner(engine, "ann")
    session = api("User.Login", Username="ann", Password="pass-word-1")["SessionID"]
    list_id = make_list(engine, owner, PEOPLE, "Everyone")
    a, b = variation(engine, owner, "A"), variation(engine, owner, "B")
    campaign = api("Campaign.Create", session, CampaignName="Which subject?")["CampaignID"]
    assert api("SplitTest.Create", session, CampaignID=campaign, TestSize=50, TestDuration=7200,
               Winner="Highest Open Rate")["Success"]
    assert api("Campaign.Update", session, CampaignID=campaign, RecipientListsAndSegments=f"{list_id}:0",
               ScheduleType="Immediate", CampaignStatus="Ready",
               **{"ABTesting[Variations][0][emailid]": a, "ABTesting[Variations][0][weight]": 1,
                  "ABTesting[Variations][1][emailid]": b, "ABTesting[Variations][1][weight]": 1})["Success"]

    # The test phase: half of the audience, split evenly; the rest waits however often workers run.
    assert tick(engine, clock()).started == 1
    runner = DeliveryRunner(engine, pool, clock=clock, worker_id="test-worker")
    assert runner.run_once(30).sent == 20
    assert runner.run_once(30).sent == 0
    test_phase = mailbox(smtp)
    assert Counter(subject for _, subject, _ in test_phase) == {"Subject A": 10, "Subject B": 10}

    # Each variation's links lead where that variation's content points.
    clicks = {subject: path for _, subject, path in mailbox(smtp, "click")}
    assert client.get(clicks["Subject A"]).headers["Location"] == "https://example.com/A"
    assert client.get(clicks["Subject B"]).headers["Location"] == "https://example.com/B"

    # Opens through the tracking endpoint: 2 of A's recipients, 6 of B's (one of them twice); the clicks
    # above were opens too, of the last A and B recipients (not among these).
    opened = [p for _, s, p in test_phase if s == "Subject A"][:2] + [p for _, s, p in test_phase if s == "Subject B"][:6]
    for path in opened + opened[-1:]:
        assert client.get(path).status_code == 200
    clock.advance(seconds=7199)
    assert tick(engine, clock()).winners == 0
    assert runner.run_once(30).sent == 0
    clock.advance(seconds=1)
    assert tick(engine, clock()).winners == 1

    # The winner phase: everyone else gets B, nobody gets anything twice.
    assert runner.run_once(30).sent == 20
    everything = mailbox(smtp)
    assert Counter(rcpt for rcpt, _, _ in everything) == Counter(PEOPLE)
    assert {subject for _, subject, _ in everything[20:]} == {"Subject B"}
    tick(engine, clock())

    report = api("Campaign.ABTest.Get", session, CampaignID=campaign)["ABTest"]
    assert report["Winner"] == {"EmailID": b, "EmailName": "Variation B"}
    assert [(v["EmailID"], v["TotalRecipients"], v["TotalSent"], v["UniqueOpens"], v["OpenRate"])
            for v in report["Variations"]] == [(a, 10, 10, 3, 30), (b, 30, 30, 7, 23.3)]
    got = api("Campaign.Get", session, CampaignID=campaign)["Campaign"]
    assert (got["CampaignStatus"], got["TotalSent"], got["UniqueOpens"], got["TotalOpens"]) == ("Sent", 40, 10, 11)


def test_workers_killed_in_both_phases_never_send_anyone_two_messages(engine, clock, smtp, database_url, tmp_path):
    from tests.e2e.test_send import WORKER, expire_leases_of_the_dead, states, worker_env

    everyone = [f"k{i:03d}@example.com" for i in range(160)]
    owner = make_owner(engine, "bea")
    list_id = make_list(engine, owner, everyone, "Everyone")
    a, b = variation(engine, owner, "A"), variation(engine, owner, "B")
    with engine.uow() as uow:
        campaign = uow.campaigns.create(owner.actor, "Killed twice")
        uow.campaigns.update(owner.actor, campaign.id, {
            "variations": [VariationSpec(a, 1), VariationSpec(b, 1)], "recipients": [RecipientRef(list_id)],
            "schedule_type": "Immediate"})
        uow.split_tests.create(owner.actor, campaign.id, test_size=50, test_duration=600,
                               criterion="Most Unique Clicks")
        uow.campaigns.update(owner.actor, campaign.id, {"status": "Ready"})
        uow.commit()
        campaign_id = campaign.id
    assert tick(engine, clock()).started == 1
    smtp.delay = 0.005
    env = worker_env(database_url, smtp, tmp_path)

    def kill_at(target: int) -> None:
        worker = subprocess.Popen(WORKER, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120   # bounded polling on the real subprocess, generous under load
        while len(smtp.recipients()) < target and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.01)
        assert worker.poll() is None, worker.communicate()
        worker.send_signal(signal.SIGKILL)
        worker.communicate()
        expire_leases_of_the_dead(engine)

    def finish() -> None:
        done = subprocess.run(WORKER, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    kill_at(30)                      # in the test phase
    finish()
    assert len(smtp.recipients()) <= 80
    clock.advance(seconds=600)
    assert tick(engine, clock()).winners == 1
    kill_at(110)                     # in the winner phase
    finish()

    received = Counter(smtp.recipients())
    assert max(received.values()) == 1
    ledger = states(engine, campaign_id)
    unknown = {address for address, state in ledger.items() if state == "unknown"}
    assert {address for address, state in ledger.items() if state == "sent"} | unknown == set(everyone)
    assert set(received) <= set(everyone) and set(everyone) - set(received) <= unknown
