"""Journey progression on PostgreSQL: 1,000,000 enrollments waiting at one Wait that falls due, advanced to
the next action by the runner.

    .venv/bin/python bench/journeys.py [--enrollments N] [--batch B] [--workers W] [--explain] [--no-vacuum]

SENDMILL_BENCH_POSTGRES (default postgresql+psycopg://postgres@127.0.0.1:5432/test) names the server; the
benchmark creates its own scratch database there and drops it at the end. Subscribers and enrollments are
written by INSERT … SELECT generate_series (no Python per row), then vacuumed (as autovacuum does to a
cohort that waits). The clock then moves past the Wait and one runner pass
(engine/automation/journeys/runner.py, batches of B in their own transactions, the step log written, the rows
split between W worker threads — SENDMILL_JOURNEY_WORKERS) moves everybody to the second Wait.
Printed: the time, the rate against the goal (≥ 50,000 enrollments/s) and the process's peak resident memory
against its goal (< 150 MB), measured as the growth over the peak before the pass and as the whole process,
the CPU seconds the pass cost (the database server's backends, read from /proc — the server must run on this
machine — and the runner's own) with the rate per CPU-second, and the load average: on a loaded machine the
wall-clock rate is the share of two cores the pass got, the CPU figure what one core does. Not part of the
tests; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import bootstrap  # noqa: E402
from engine.accounts.auth import Actor  # noqa: E402
from engine.automation.journeys import passthrough  # noqa: E402
from engine.automation.journeys.runner import run_pass  # noqa: E402
from engine.automation.journeys.waits import arrival_due  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Base, make_sa_engine  # noqa: E402
import engine.models  # noqa: E402,F401 - registers every table
from engine.models import JourneyAction, JourneyEnrollment, SubscriberList, User, UserGroup  # noqa: E402

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
RATE_GOAL = 50_000
MEMORY_GOAL_MB = 150


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def runner_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_cpu(db) -> dict[int, float]:
    """CPU seconds so far of each server backend connected to the bench database (0 when not readable)."""
    with db.connect() as conn:
        pids = conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).all()
    tick = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return seconds


def one_batch_work(engine, action_id: int, now: datetime, batch: int, workers: int) -> str:
    """What one batch of the hot path writes and reads per enrollment, from EXPLAIN (ANALYZE, BUFFERS, WAL) of
    its statement in a transaction rolled back: WAL records, bytes and buffer pages touched do not depend on
    the machine's load, unlike its time."""
    with engine.uow() as uow:
        action = uow.session.get(JourneyAction, action_id)
        target = uow.session.get(JourneyAction, action.next_action_id)
        statement = passthrough._POSTGRES.element  # the runner's own statement, its typed parameters
        explain = text("EXPLAIN (ANALYZE, BUFFERS, WAL, FORMAT JSON) " + statement.text)
        plan = uow.session.execute(explain.bindparams(*statement._bindparams.values()), {
            "action": action.id, "target": target.id, "arrives": arrival_due(target, now), "now": now,
            "after_due": passthrough.START[0], "after_id": 0, "batch": batch, "outcome": "done",
            "worker": 0, "workers": workers, "block": passthrough.SHARE_BLOCK}).scalar()[0]["Plan"]
        uow.session.rollback()
    n = batch
    return (f"one batch of {n:,} under EXPLAIN (rolled back), per enrollment: {plan['WAL Records'] / n:.2f} WAL "
            f"records, {plan['WAL Bytes'] / n:.0f} WAL bytes ({plan['WAL FPI'] / n:.3f} full pages), "
            f"{(plan['Shared Hit Blocks'] + plan['Shared Read Blocks']) / n:.1f} buffer pages touched, "
            f"{plan['Shared Dirtied Blocks'] / n:.3f} dirtied")


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enrollments", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-vacuum", action="store_true",
                        help="advance a freshly loaded cohort (not vacuumed yet: the walk visits the heap too)")
    parser.add_argument("--explain", action="store_true",
                        help="first print what one batch writes and reads per enrollment (load-independent)")
    args = parser.parse_args()
    server = os.environ.get("SENDMILL_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    name = f"sendmill_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    db = make_sa_engine(url)
    try:
        run(db, url, args)
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


def run(db, url: str, args) -> None:
    Base.metadata.create_all(db)
    clock = Clock()
    engine = bootstrap(Settings(database_url=url, secret_key="bench"), db=db, clock=clock)
    with engine.uow() as uow:
        group = UserGroup(name="Bench", permissions="*")
        uow.session.add(group)
        uow.session.flush()
        user = User(username="bench", email_address="bench@example.com", email_normalized="bench@example.com",
                    password_hash="x", group_id=group.id)
        uow.session.add(user)
        uow.session.flush()
        listed = SubscriberList(owner_user_id=user.id, name="Bench", created_at=NOW)
        uow.session.add(listed)
        uow.session.flush()
        actor = Actor("user", user.id, "*")
        journey = uow.journeys.create(actor, {"name": "Bench"})
        uow.journeys.replace_actions(actor, journey.id, [
            {"action": "Wait", "waitunit": "days", "waitamount": 1, "published": True},
            {"action": "Wait", "waitunit": "days", "waitamount": 1, "published": True}])
        uow.journeys.set_status(actor, journey.id, True)
        first, second = sorted(a.id for a in uow.journeys.actions(journey.id))
        uow.commit()
        list_id, journey_id = listed.id, journey.id
    n = args.enrollments
    started = time.perf_counter()
    with db.begin() as conn:
        conn.execute(text(
            "INSERT INTO subscribers (list_id, email_address, email_normalized, subscription_status, bounce_type,"
            " soft_bounce_count, subscription_date, subscription_ip, unsubscription_ip, unsubscription_campaign_id,"
            " unsubscription_email_id, unsubscription_channel, source, source_ref, public_nonce, legacy_links)"
            " SELECT :list, 'p' || g || '@example.com', 'p' || g || '@example.com', 'Subscribed', 'Not Bounced',"
            " 0, :now, '', '', 0, 0, '', 'API', '', substr(md5(g::text), 1, 8), false"
            " FROM generate_series(1, :n) g"), {"list": list_id, "now": NOW.replace(tzinfo=None), "n": n})
        conn.execute(text(
            "INSERT INTO journey_enrollments (journey_id, subscriber_id, list_id, run_no, state, current_action_id,"
            " due_at, step_seq, created_at) SELECT :j, id, list_id, 1, 'active', :a, :due, 0, :now FROM subscribers"),
            {"j": journey_id, "a": first, "due": (NOW + timedelta(days=1)).replace(tzinfo=None),
             "now": NOW.replace(tzinfo=None)})
    # A cohort that waited a day has been vacuumed by autovacuum (PostgreSQL vacuums after many inserts):
    # its pages are all-visible, so the batches' walk reads the index alone, as in production.
    # --no-vacuum: the worst case, a cohort that falls due before autovacuum reached it (as this bench
    # measured before 0020_journey_hot_moves).
    if not args.no_vacuum:
        with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    print(f"loaded {n:,} subscribers and enrollments in {time.perf_counter() - started:.1f} s")
    clock.now = NOW + timedelta(days=1, seconds=1)
    warm = [db.connect() for _ in range(args.workers + 1)]  # the runner's pooled connections, so their
    for conn in warm:                                       # backends are counted below
        conn.close()
    if args.explain:  # before the pass, which then also meets the rolled-back batch's dead row versions
        print(one_batch_work(engine, first, clock.now, args.batch, args.workers))
    print(f"before the pass: {load()}")
    before, cpu_before, server_before = peak_mb(), runner_cpu(), server_cpu(db)
    started = time.perf_counter()
    summary = run_pass(engine, clock.now, batch=args.batch, workers=args.workers)
    seconds = time.perf_counter() - started
    after, cpu = peak_mb(), runner_cpu() - cpu_before
    server_after = server_cpu(db)
    server = sum(t - server_before.get(pid, 0.0) for pid, t in server_after.items())
    with engine.uow() as uow:
        at_second = uow.session.scalar(select(func.count()).select_from(JourneyEnrollment).where(
            JourneyEnrollment.current_action_id == second))
    rate = summary.steps / seconds if seconds else 0.0
    print(f"advanced {summary.steps:,} enrollments ({at_second:,} now at the second Wait) in {seconds:.1f} s, "
          f"{summary.batches} batches of {args.batch:,}, {args.workers} worker(s)")
    print(f"rate: {rate:,.0f} enrollments/s   goal: >= {RATE_GOAL:,}/s   ratio rate/goal: {rate / RATE_GOAL:.2f}")
    print(f"peak memory: {after - before:.1f} MB over the {before:.1f} MB before the pass "
          f"({after:.1f} MB whole process)   goal: < {MEMORY_GOAL_MB} MB   ratio: {after / MEMORY_GOAL_MB:.2f}")
    busy = server + cpu
    print(f"cpu: {server:.1f} s database server + {cpu:.1f} s runner = {busy:.1f} s over {seconds:.1f} s wall; "
          f"{summary.steps / busy if busy else 0:,.0f} enrollments per CPU-second   after the pass: {load()}")


if __name__ == "__main__":
    main()
