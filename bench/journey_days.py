"""What cutting journey statistics into the account's local days costs: the per-day grouped statement of
Journey.List (engine/automation/journeys/engagement.per_journey_day: a CASE over the window's local-midnight
bounds, days.py) against the same statement grouped by the UTC date (func.date(due_at), what it did before),
over the same ledger rows, on SQLite (a scratch file) and PostgreSQL.

    .venv/bin/python bench/journey_days.py [--rows N] [--journeys J] [--days D] [--pairs P]

SENDMILL_BENCH_POSTGRES (default postgresql+psycopg://postgres@127.0.0.1:5432/test) names the server; a
scratch database is created there and dropped. N ledger rows (journey_sends) spread over J journeys and the
D days before NOW are written in one executemany. Each pair runs both statements once (the order
alternating); printed: the median seconds of each over P pairs, their ratio, the process CPU seconds per
100,000 rows of the CASE statement, and the load average (this machine is shared: read the ratio, measured
in the same pairs, rather than the seconds). Not part of the tests; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.automation.journeys import engagement as E  # noqa: E402
from engine.automation.journeys.days import local_days  # noqa: E402
from engine.db import Base, make_sa_engine  # noqa: E402
import engine.models  # noqa: E402,F401 - registers every table
from engine.models import JourneySend  # noqa: E402

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
S = JourneySend


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fill(db, rows: int, journeys: int, days: int) -> None:
    Base.metadata.create_all(db)
    span = days * 86_400
    values = [{"journey_id": 1 + n % journeys, "action_id": 1 + n % (journeys * 2), "enrollment_id": n,
               "step_seq": 1, "subscriber_id": n, "email_address": f"s{n}@example.com", "email_id": 1,
               "due_at": NOW - timedelta(seconds=(n * 7919) % span), "state": "sent", "attempts": 1,
               "last_error": "", "worker": "", "message_id": "", "created_at": NOW,
               "opens": n % 3, "clicks": n % 5 == 0, "browser_views": 0} for n in range(rows)]
    with db.begin() as conn:
        for start in range(0, rows, 20_000):
            conn.execute(insert(S), values[start:start + 20_000])


def utc_date_version(session, journey_ids, window):
    """The statement as it was: grouped by the UTC date of due_at."""
    day = func.date(S.due_at)
    query = (select(S.journey_id, day, *E.FIGURES.values())
             .where(S.state != "skipped", S.journey_id.in_(journey_ids), S.due_at >= window.since,
                    S.due_at < window.until).group_by(S.journey_id, day))
    return session.execute(query).all()


def measure(label: str, db, args) -> None:
    fill(db, args.rows, args.journeys, args.days)
    window = local_days((NOW - timedelta(days=args.days)).date(), NOW.date(), ZoneInfo("America/New_York"))
    ids = list(range(1, args.journeys + 1))
    local, utc, spent = [], [], []
    with Session(db) as session:
        for pair in range(args.pairs):
            order = ("local", "utc") if pair % 2 == 0 else ("utc", "local")
            for which in order:
                began, began_cpu = time.perf_counter(), cpu()
                if which == "local":
                    E.per_journey_day(session, ids, window)
                    local.append(time.perf_counter() - began)
                    spent.append(cpu() - began_cpu)
                else:
                    utc_date_version(session, ids, window)
                    utc.append(time.perf_counter() - began)
    a, b = statistics.median(local), statistics.median(utc)
    print(f"{label}: {args.rows} rows, {args.journeys} journeys, {len(window.names)} days: "
          f"local-day CASE {a:.3f} s, UTC date() {b:.3f} s, ratio {a / b:.2f}; "
          f"client CPU {statistics.median(spent) / args.rows * 100_000:.3f} s per 100k rows (CASE); "
          f"load average {open('/proc/loadavg').read().split()[:3]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--journeys", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        db = make_sa_engine(f"sqlite:///{scratch}/bench.db")
        try:
            measure("sqlite", db, args)
        finally:
            db.dispose()
    server = os.environ.get("SENDMILL_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    name = f"sendmill_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    db = make_sa_engine(make_url(server).set(database=name).render_as_string(hide_password=False))
    try:
        measure("postgresql", db, args)
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


if __name__ == "__main__":
    main()
