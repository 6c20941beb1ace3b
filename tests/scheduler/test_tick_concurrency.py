"""Never twice: four schedulers started at the same moment in separate processes.

Test data is committed first (the engine fixture's tables are real), then the processes race on
the scratch database of the backend under test. The first test goes through the real command
line (`python -m scheduler tick`: lease + compare-and-set); the second bypasses the lease so that
only the compare-and-set and the UNIQUE keys stand between four processes and a double start.
"""
from __future__ import annotations

import multiprocessing
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from engine.models import Delivery, SendInstance
from tests.conftest import SENDER_DOMAINS_ENV, TEST_SENDER_DOMAINS

ROOT = Path(__file__).resolve().parents[2]
RACERS = 4


def _seed(world) -> dict[int, int]:
    """Four due campaigns over overlapping lists; returns campaign id → expected ledger size."""
    owner = world.owner()
    a = world.list_with(owner, *(f"a{i}@example.com" for i in range(30)), "shared@example.com")
    b = world.list_with(owner, *(f"b{i}@example.com" for i in range(20)), "SHARED@example.com")
    return {
        world.campaign(owner, [a, b]): 51,
        world.campaign(owner, [a]): 31,
        world.campaign(owner, [b]): 21,
        # A Future campaign whose time has passed is due on the next tick, whoever runs it.
        world.future(owner, [a, b], date(2026, 1, 1), "08:00:00"): 51,
    }


def _assert_started_once(engine, expected: dict[int, int]) -> None:
    with engine.uow() as uow:
        s = uow.session
        per_campaign = dict(s.execute(select(SendInstance.campaign_id, func.count())
                                      .group_by(SendInstance.campaign_id)).all())
        assert per_campaign == {cid: 1 for cid in expected}
        ledger = dict(s.execute(select(SendInstance.campaign_id, func.count(Delivery.id))
                                .join(Delivery, Delivery.instance_id == SendInstance.id)
                                .group_by(SendInstance.campaign_id)).all())
        assert ledger == expected
        totals = dict(s.execute(select(SendInstance.campaign_id, SendInstance.total_recipients)).all())
        assert totals == expected


def test_four_command_line_ticks_at_once_start_each_campaign_once(world, engine, database_url, tmp_path):
    expected = _seed(world)
    env = {**os.environ, "SENDMILL_DATABASE_URL": database_url, "SENDMILL_SECRET_KEY": "test-secret",
           "SENDMILL_DATA_DIR": str(tmp_path), **SENDER_DOMAINS_ENV}
    processes = [subprocess.Popen([sys.executable, "-m", "scheduler", "tick", "--send-budget", "0"], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(RACERS)]
    outputs = [p.communicate(timeout=120) for p in processes]
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, err
        assert re.fullmatch(r"tick \d{4}-\d\d-\d\dT\d\d:\d\dZ: (\d+ started, \d+ finished, \d+ waiting approval"
                            r"|skipped, the lease is held by .+)\n", out), out
    started = sum(int(m.group(1)) for out, _ in outputs for m in re.finditer(r"(\d+) started", out))
    assert started == len(expected)
    _assert_started_once(engine, expected)


def _race_without_lease(url: str, now_iso: str, barrier, results) -> None:
    from datetime import datetime

    from engine import bootstrap
    from engine.config import Settings
    from scheduler.tick import TickSummary, run_steps

    now = datetime.fromisoformat(now_iso)
    engine = bootstrap(Settings(database_url=url, secret_key="test-secret", allowed_sender_domains=TEST_SENDER_DOMAINS),
                       clock=lambda: now)
    summary = TickSummary(now=now, holder=f"racer-{os.getpid()}")
    barrier.wait()
    with engine.uow() as uow:
        run_steps(uow, now, summary, commit=uow.commit)
    results.put((summary.started, summary.errors))
    engine.db.dispose()


def test_four_processes_without_the_lease_still_start_each_campaign_once(world, engine, database_url, clock):
    expected = _seed(world)
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(RACERS), spawn.Queue()
    racers = [spawn.Process(target=_race_without_lease, args=(database_url, clock.now.isoformat(), barrier, results))
              for _ in range(RACERS)]
    for racer in racers:
        racer.start()
    outcomes = [results.get(timeout=120) for _ in racers]
    for racer in racers:
        racer.join(timeout=60)
        assert racer.exitcode == 0
    assert sum(started for started, _ in outcomes) == len(expected)
    assert all(errors == 0 for _, errors in outcomes)
    _assert_started_once(engine, expected)
