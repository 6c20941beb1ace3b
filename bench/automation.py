"""The tick's date-autoresponder enqueue vs a hand-written INSERT … SELECT of the same rows (PostgreSQL).

    .venv/bin/python bench/automation.py [--subscribers N] [--repeat R] [--database-url URL]

`--database-url` (default postgresql+psycopg://postgres@127.0.0.1:5432/test) names the server; the
benchmark creates its own scratch database there and drops it at the end. It loads N subscribers
(default 1,000,000) on one list, each with a Date custom field, 1% of them born on today's month and
day, and one Enabled OnSubscriberDate autoresponder ("Yearly") on that field. Then, R times each and
alternately, inside a transaction that is rolled back:

* the tick's pass (engine.automation.enqueue.enqueue_date_triggers, what `sendmill tick` runs);
* the same rows written by one hand-written INSERT … SELECT.

It prints the median times and their ratio (goal: tick / hand-written ≤ 1.5), and the peak resident
memory of a fresh process that imports the engine and runs the tick's pass once (goal: < 150 MB).
A benchmark, not a test: it asserts nothing.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.automation.enqueue import enqueue_date_triggers  # noqa: E402
from engine.db import Base, make_sa_engine  # noqa: E402
import engine.models  # noqa: E402,F401 - registers every table

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)

HAND_WRITTEN = """
INSERT INTO autoresponder_sends (autoresponder_id, subscriber_id, email_address, occurrence, email_id, due_at, state,
                                 worker, attempts, last_error, message_id, opens, clicks, bounce_type, created_at)
SELECT :ar, s.id, s.email_address, '2026-11-23/0', :email, '2026-11-23 00:00:00', 'pending', '', 0, '', '', 0, 0, '',
       :now
FROM subscriber_field_values v JOIN subscribers s ON s.id = v.subscriber_id
WHERE v.field_id = :field AND v.value_date IS NOT NULL
  AND EXTRACT(month FROM v.value_date) = 11 AND EXTRACT(day FROM v.value_date) = 23
  AND s.list_id = :list AND s.subscription_status = 'Subscribed'
ON CONFLICT DO NOTHING
"""


def load(url: str, count: int) -> dict:
    sa = make_sa_engine(url)
    Base.metadata.create_all(sa)
    # The ORM fills every NOT NULL default for the few fixed rows; the million rows are generated in SQL.
    from engine.accounts.auth import Actor
    from engine.models import AutoResponder, CustomField, SubscriberList
    from engine import bootstrap
    from engine.config import Settings

    eng = bootstrap(Settings(database_url=url, secret_key="bench-secret"), db=sa, clock=lambda: NOW)
    with eng.uow() as uow:
        owner = uow.accounts.create_user(username="bench", password="bench-pass-1", email="bench@example.com")
        uow.session.flush()
        actor = Actor("user", owner.id, "*")
        lst = SubscriberList(owner_user_id=owner.id, name="Everyone", created_at=NOW)
        uow.session.add(lst)
        uow.session.flush()
        field = CustomField(owner_user_id=owner.id, list_id=lst.id, name="Born", field_type="Date field")
        uow.session.add(field)
        mail = uow.emails.create(actor, "Birthday")
        mail.subject, mail.html_content = "Happy birthday", "<p>Hi</p>"
        uow.session.flush()
        ar = AutoResponder(owner_user_id=owner.id, list_id=lst.id, email_id=mail.id, name="Birthday",
                           trigger_type="OnSubscriberDate", trigger_value=str(field.id), trigger_value2="Yearly",
                           status="Enabled", enabled_at=datetime(2026, 1, 1, tzinfo=timezone.utc), created_at=NOW,
                           updated_at=NOW)
        uow.session.add(ar)
        uow.commit()
        ids = {"ar": ar.id, "email": mail.id, "field": field.id, "list": lst.id}
    with sa.begin() as conn:
        conn.execute(text(
            "INSERT INTO subscribers (list_id, email_address, email_normalized, subscription_status, bounce_type, "
            "soft_bounce_count, subscription_date, subscription_ip, unsubscription_ip, unsubscription_campaign_id, "
            "unsubscription_email_id, unsubscription_channel, source, source_ref, public_nonce, legacy_links) "
            "SELECT :list, 'p' || g || '@example.com', 'p' || g || '@example.com', 'Subscribed', 'Not Bounced', 0, "
            ":now, '', '', 0, 0, '', 'API', '', lpad(to_hex(g % 2147483647), 8, '0'), false "
            "FROM generate_series(1, :n) AS g"), {"list": ids["list"], "now": NOW.replace(tzinfo=None), "n": count})
        # 1% born on 23 November (in some year), the others on another day of the year.
        conn.execute(text(
            "INSERT INTO subscriber_field_values (subscriber_id, field_id, value_text, value_date) "
            "SELECT s.id, :field, '', CASE WHEN s.id % 100 = 0 THEN make_date(1950 + (s.id % 50)::int, 11, 23) "
            "ELSE make_date(1950 + (s.id % 50)::int, 1, 1) + ((s.id % 300)::int) END FROM subscribers s"),
            {"field": ids["field"]})
        conn.execute(text("ANALYZE"))
    sa.dispose()
    return ids


def tick_pass(url: str) -> tuple[float, int]:
    sa = make_sa_engine(url)
    with Session(sa) as s:
        s.execute(text("SELECT 1"))   # connected, as the hand-written side is, before the clock starts
        start = time.perf_counter()
        written = enqueue_date_triggers(s, NOW)
        elapsed = time.perf_counter() - start
        s.rollback()
    sa.dispose()
    return elapsed, written


def hand_pass(url: str, ids: dict) -> tuple[float, int]:
    sa = create_engine(url)
    with sa.connect() as conn:
        start = time.perf_counter()
        written = conn.execute(text(HAND_WRITTEN), {**ids, "now": NOW.replace(tzinfo=None)}).rowcount
        elapsed = time.perf_counter() - start
        conn.rollback()
    sa.dispose()
    return elapsed, written


def child(url: str) -> None:
    """A fresh process: import the engine, run the tick's pass once (rolled back), report nothing."""
    tick_pass(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    server = make_url(args.database_url)
    name = f"sendmill_bench_ar_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        started = time.perf_counter()
        ids = load(url, args.subscribers)
        print(f"loaded {args.subscribers:,} subscribers in {time.perf_counter() - started:.1f} s")
        ticks, hands = [], []
        # Each pass is rolled back; VACUUM removes the dead rows it left (as autovacuum would), so that no
        # pass pays for the previous one's.
        vacuum = create_engine(url, isolation_level="AUTOCOMMIT")
        for _ in range(args.repeat):
            seconds, written = tick_pass(url)
            ticks.append(seconds)
            with vacuum.connect() as conn:
                conn.execute(text("VACUUM ANALYZE autoresponder_sends"))
            hand_seconds, hand_written = hand_pass(url, ids)
            hands.append(hand_seconds)
            with vacuum.connect() as conn:
                conn.execute(text("VACUUM ANALYZE autoresponder_sends"))
        vacuum.dispose()
        print(f"rows due today: tick {written:,}, hand-written {hand_written:,}")
        tick_median, hand_median = statistics.median(ticks), statistics.median(hands)
        print(f"tick enqueue (median of {args.repeat}): {tick_median * 1000:.1f} ms")
        print(f"hand-written INSERT ... SELECT (median of {args.repeat}): {hand_median * 1000:.1f} ms")
        print(f"ratio tick / hand-written: {tick_median / hand_median:.2f} (goal <= 1.5)")
        subprocess.run([sys.executable, __file__, "--child", url], check=True)
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(f"peak memory of a process running the tick's pass: {peak_kb / 1024:.1f} MB (goal < 150 MB)")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
