"""The journey runner killed with SIGKILL, for real: no step taken twice, none lost (issue 16).

3,000 runs go through a journey whose actions leave marks outside the enrollment: AddTag (a tag
assignment), UpdateCustomFieldValue (a field value), a Decision (the step log's outcome), Webhook (an outbox
event and its delivery row), an open Wait and a Debug (the hot path: one UPDATE per batch, a data-modifying
CTE on PostgreSQL) and SendEmail (a ledger row). Runner processes (run_pass in a child, with the test's
injected `now`) are killed with SIGKILL five times: twice at a random moment once the step log shows
progress, three times parked inside a batch's open transaction after its effect was written (a hook the
child installs, at AddTag, the hot path and SendEmail). After every kill what was committed is whole: each
enrollment's position and step count agree with its step log, and every effect exists exactly for the steps
logged. A last runner finishes; then every run completed along its branch, each step once per (enrollment,
action), each effect once. Two runner processes racing over the same due rows do the same.
On each of SQLite, PostgreSQL and MariaDB."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, insert, select, text

from engine.audience.subscriber_tags import name_digest
from engine.automation.journeys.enroll import enroll
from engine.automation.journeys.runner import run_pass
from engine.models import (
    Journey, JourneyEnrollment as E, JourneySend, JourneyStep, Subscriber, SubscriberFieldValue, SubscriberTag,
    SubscriberTagAssignment,
)
from engine.models.outbox import OutboxEvent
from engine.models.webhooks import WebhookDelivery
from tests.conftest import SENDER_DOMAINS_ENV
from tests.e2e.support import make_list, make_owner

ROOT = Path(__file__).resolve().parents[2]
RUNS = 3_000
BATCH = 250
HOOK_URL = "https://hooks.example.com/journey"

# The runner in a child process: one pass at the test's `now`, in batches of BATCH. With a PARK argument
# ("SendEmail:2": the second batch of a SendEmail action) the child writes the marker file from inside that
# batch's transaction, after its effect, and sleeps there until it is killed.
CHILD = r"""
import sys, time
from datetime import datetime
from pathlib import Path
from engine import bootstrap
from engine.config import Settings
from engine.automation.journeys.runner import run_pass

now, batch, park, marker = datetime.fromisoformat(sys.argv[1]), int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
kind, _, nth = park.partition(":")
seen = []

def hook(action):
    if action.action == kind:
        seen.append(action.id)
        if len(seen) == int(nth):
            marker.write_text(f"{action.action} {action.id}")
            time.sleep(600)

summary = run_pass(bootstrap(Settings.from_env()), now, batch=batch, fail_after_effect=hook if kind else None)
print("steps", summary.steps, "by_action", sorted(summary.by_action.items()))
"""


def child_env(database_url, tmp_path) -> dict:
    return {**os.environ, "SENDMILL_DATABASE_URL": database_url, "SENDMILL_SECRET_KEY": "test-secret",
            "SENDMILL_BASE_URL": "http://sendmill.test", "SENDMILL_DATA_DIR": str(tmp_path), **SENDER_DOMAINS_ENV}


def runner(env, now, park: str = "", marker: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, now.isoformat(), str(BATCH), park, str(marker or "-")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Journeyed:
    """The journey, its actions by role, and who takes the Decision's True branch."""

    def __init__(self, engine, clock):
        owner = make_owner(engine)
        addresses = [f"r{n:04d}@example.com" for n in range(RUNS)]
        self.list_id = make_list(engine, owner, addresses, "Runs")
        with engine.uow() as uow:
            s = uow.session
            tag = SubscriberTag(list_id=self.list_id, owner_user_id=owner.id, name="Reached",
                                name_digest=name_digest("Reached"), created_at=clock())
            s.add(tag)
            s.flush()
            self.tag_id = tag.id
            self.country = uow.custom_fields.create(owner.actor, self.list_id, {"name": "Country"}).id
            self.plan = uow.custom_fields.create(owner.actor, self.list_id, {"name": "Plan"}).id
            mail = uow.emails.create(owner.actor, "Welcome")
            mail.subject, mail.from_email, mail.html_content = "Welcome", "news@sender.example", "<p>Hi</p>"
            s.flush()
            self.email_id = mail.id
            ids = list(s.scalars(select(Subscriber.id).where(Subscriber.list_id == self.list_id)
                                 .order_by(Subscriber.id)))
            self.dutch = set(ids[::3])     # the Decision's True branch: a third of the runs
            s.execute(insert(SubscriberFieldValue), [
                {"subscriber_id": i, "field_id": self.country, "value_text": "NL"} for i in sorted(self.dutch)])
            uow.commit()
        self.subscribers = set(ids)
        with engine.uow() as uow:
            journey = uow.journeys.create(owner.actor, {"name": "Crash", "trigger": "Manual"})
            uow.journeys.replace_actions(owner.actor, journey.id, [
                {"action": "AddTag", "targettagid": self.tag_id, "published": True},
                {"action": "UpdateCustomFieldValue", "targetcustomfieldid": self.plan, "newcustomfieldvalue": "gold",
                 "published": True},
                {"action": "Decision", "published": True, "criteriaoperator": "and",
                 "criteria": [[{"type": "fields", "field_id": f"CustomField{self.country}", "operator": "is",
                                "value": "nl"}]],
                 "actions": {"true": [{"action": "Webhook", "webhookurl": HOOK_URL, "published": True}],
                             "false": [{"action": "Wait", "waitunit": "seconds", "waitamount": 0,
                                        "published": True}]}},
                {"action": "Debug", "debugmessage": "crash test", "published": True},
                {"action": "SendEmail", "emailid": self.email_id, "published": True}])
            uow.journeys.set_status(owner.actor, journey.id, True)
            uow.commit()
            self.id = journey.id
            kinds = {a.action: a.id for a in uow.journeys.actions(journey.id)}
        self.tag, self.field, self.decision = kinds["AddTag"], kinds["UpdateCustomFieldValue"], kinds["Decision"]
        self.hook, self.wait = kinds["Webhook"], kinds["Wait"]
        self.debug, self.send = kinds["Debug"], kinds["SendEmail"]
        with engine.uow() as uow:
            entered = enroll(uow.session, uow.session.get(Journey, self.id), self.list_id,
                             select(Subscriber.id).where(Subscriber.list_id == self.list_id), clock())
            uow.commit()
        assert entered == RUNS
        if engine.db.dialect.name == "postgresql":
            # Current statistics, as autovacuum keeps them within a minute of a bulk load: planned on an
            # empty table's, the Decision's criteria statement loops over every field value per subscriber.
            with engine.db.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()

    def path(self, subscriber_id: int) -> list[int]:
        branch = self.hook if subscriber_id in self.dutch else self.wait
        return [self.tag, self.field, self.decision, branch, self.debug, self.send]


class Committed:
    """What the database holds, read in one transaction."""

    def __init__(self, engine, j: Journeyed):
        with engine.uow() as uow:
            uow.read_only()
            s = uow.session
            self.runs = {row.subscriber_id: row for row in s.execute(
                select(E.subscriber_id, E.id, E.state, E.current_action_id, E.step_seq, E.claim)
                .where(E.journey_id == j.id))}
            self.steps = s.execute(select(JourneyStep.subscriber_id, JourneyStep.enrollment_id, JourneyStep.action_id,
                                          JourneyStep.step_seq, JourneyStep.outcome)).all()
            self.tagged = Counter(s.scalars(select(SubscriberTagAssignment.subscriber_id)
                                            .where(SubscriberTagAssignment.tag_id == j.tag_id)))
            self.plan = Counter(s.scalars(select(SubscriberFieldValue.subscriber_id).where(
                SubscriberFieldValue.field_id == j.plan, SubscriberFieldValue.value_text == "gold")))
            self.ledger = Counter(s.scalars(select(JourneySend.subscriber_id)))
            self.posted = Counter(int(json.loads(payload)["subscriberId"]) for payload in s.scalars(
                select(OutboxEvent.payload).where(OutboxEvent.slug == "journey")))
            self.deliveries = s.scalar(select(func.count()).select_from(WebhookDelivery))

    def logged_at(self, action_id: int) -> Counter:
        return Counter(sub for sub, _, action, _, _ in self.steps if action == action_id)


def assert_whole(now: Committed, j: Journeyed) -> None:
    """Every committed step is whole: position, step count and effects agree with the step log."""
    assert set(now.runs) == j.subscribers                                   # no run lost
    per_run = Counter((enrollment, action) for _, enrollment, action, _, _ in now.steps)
    assert not per_run or max(per_run.values()) == 1                        # no step twice
    taken: dict[int, list] = {}
    for sub, _, action, seq, _ in sorted(now.steps, key=lambda step: step[3]):
        taken.setdefault(sub, []).append((seq, action))
    for sub, run in now.runs.items():
        path, mine = j.path(sub), taken.get(sub, [])
        assert mine == list(enumerate(path[:len(mine)])), (sub, mine)       # in order, along its branch
        assert run.step_seq == len(mine)
        if len(mine) == len(path):
            assert (run.state, run.current_action_id) == ("completed", 0)
        else:
            assert (run.state, run.current_action_id) == ("active", path[len(mine)])
    # Each effect exists exactly for the steps logged at its action: committed together, or not at all.
    assert now.tagged == now.logged_at(j.tag)
    assert now.plan == now.logged_at(j.field)
    assert now.posted == now.logged_at(j.hook) and now.deliveries == len(now.logged_at(j.hook))
    assert now.ledger == now.logged_at(j.send)
    assert {sub for sub, _, action, _, outcome in now.steps if action == j.decision and outcome == "true"} \
        <= j.dutch
    assert {sub for sub, _, action, _, outcome in now.steps if action == j.decision and outcome == "false"} \
        .isdisjoint(j.dutch)


def steps_logged(engine) -> int:
    with engine.uow() as uow:
        uow.read_only()
        return uow.session.scalar(select(func.count()).select_from(JourneyStep))


def kill(child: subprocess.Popen) -> None:
    assert child.poll() is None, child.communicate()       # still running: the kill lands mid-pass
    child.send_signal(signal.SIGKILL)
    child.communicate()
    assert child.returncode == -signal.SIGKILL


def kill_after_progress(engine, env, now, more: int) -> None:
    """Start a runner and kill it once `more` steps were logged since it started (wherever it then is)."""
    target = steps_logged(engine) + more
    child = runner(env, now)
    deadline = time.monotonic() + 120     # bounded polling on a real subprocess, generous under load
    while steps_logged(engine) < target and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    kill(child)


def kill_parked(env, now, park: str, marker: Path) -> str:
    """Start a runner and kill it while it sits inside the `park` batch's open transaction."""
    child = runner(env, now, park, marker)
    deadline = time.monotonic() + 120
    while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    parked = marker.read_text() if marker.exists() else ""
    kill(child)
    marker.unlink()
    return parked


def test_runners_killed_mid_batch_take_no_step_twice_and_lose_none(engine, clock, database_url, tmp_path):
    j = Journeyed(engine, clock)
    env, now, marker = child_env(database_url, tmp_path), clock(), tmp_path / "parked"
    total = RUNS * 6

    assert kill_parked(env, now, "AddTag:3", marker) == f"AddTag {j.tag}"
    assert_whole(Committed(engine, j), j)
    kill_after_progress(engine, env, now, 4_000)
    assert_whole(Committed(engine, j), j)
    assert kill_parked(env, now, "Debug:2", marker) == f"Debug {j.debug}"      # the hot path's single UPDATE
    assert_whole(Committed(engine, j), j)
    kill_after_progress(engine, env, now, 700)
    assert_whole(Committed(engine, j), j)
    assert kill_parked(env, now, "SendEmail:4", marker) == f"SendEmail {j.send}"
    before = Committed(engine, j)
    assert_whole(before, j)
    assert len(before.steps) < total and len(before.ledger) < RUNS          # the kills left work to do

    last = run_pass(engine, now, batch=BATCH)               # the last runner, in this process
    assert last.steps == total - len(before.steps)           # it counted the steps it logged

    after = Committed(engine, j)
    assert_whole(after, j)
    assert len(after.steps) == total
    assert {(run.state, run.current_action_id, run.step_seq, run.claim) for run in after.runs.values()} == \
        {("completed", 0, 6, None)}
    everyone = Counter(j.subscribers)
    assert after.tagged == everyone and after.plan == everyone and after.ledger == everyone
    assert after.posted == Counter(j.dutch)
    assert {sub for sub, _, action, _, outcome in after.steps if action == j.decision and outcome == "true"} == j.dutch


def test_two_runner_processes_racing_take_every_step_once(engine, clock, database_url, tmp_path):
    j = Journeyed(engine, clock)
    env, now = child_env(database_url, tmp_path), clock()
    children = [runner(env, now) for _ in range(2)]
    outputs = [child.communicate(timeout=180) for child in children]
    # A deadlock or serialization failure rolls one batch back and ends that runner's pass; the next pass takes it.
    for child, (_, err) in zip(children, outputs):
        assert child.returncode == 0 or "deadlock" in err.lower() or "serializ" in err.lower(), err
    counted = sum(int(out.split()[1]) for out, _ in outputs if out.startswith("steps "))
    logged = len(Committed(engine, j).steps)
    if all(child.returncode == 0 for child in children):
        assert counted == logged                      # each runner counted exactly the steps it logged
    last = run_pass(engine, now, batch=BATCH)
    assert last.steps == RUNS * 6 - logged

    after = Committed(engine, j)
    assert_whole(after, j)
    assert len(after.steps) == RUNS * 6
    assert {(run.state, run.step_seq) for run in after.runs.values()} == {("completed", 6)}
    everyone = Counter(j.subscribers)
    assert after.tagged == everyone and after.plan == everyone and after.ledger == everyone
    assert after.posted == Counter(j.dutch)
