"""Subscribers.Export (Download=1) against PostgreSQL's own COPY of the same columns.

    .venv/bin/python bench/export.py [--subscribers N] [--database-url URL] [--keep]

`--database-url` (default $SENDMILL_BENCH_POSTGRES, else postgresql+psycopg://postgres@127.0.0.1:5432/test)
names the server; the benchmark creates a scratch database there and drops it at the end. It loads N
subscribers (default 1,000,000) with three custom fields (City, Plan, Age) by COPY, then times, each
in a fresh child process so that its peak memory is its own:

* Sendmill: after User.Login, Subscribers.Export.Post through /api.php (the WSGI app in-process), then
  Subscribers.Export.Get with Download=1, reading the streamed CSV to the end;
* PostgreSQL: `COPY (SELECT … the same seven columns …) TO STDOUT WITH CSV HEADER` through psycopg,
  reading every byte.

It prints both times, the ratio (goal: Sendmill / COPY ≤ 2), the bytes of each file and the peak
resident memory of each child while it works (sampled; goal for Sendmill: < 150 MB) beside what the
process held before it started (interpreter, libraries, the app). A benchmark, not a test: it asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from audience import NOW, Rows, _drop, copy_rows  # noqa: E402 - bench/audience.py's loaders
from engine.db import Base, make_sa_engine  # noqa: E402
import engine.models  # noqa: E402,F401 - registers every table
from engine.models import CustomField, Subscriber, SubscriberFieldValue, SubscriberList, User, UserGroup  # noqa: E402

PASSWORD = "bench-user-pass-1"
CITIES = ["Oslo", "Rome", "Lisbon, PT", "Berlin", "Paris", 'Quote "City"']
PLANS = ["free", "pro", "team"]
FIELDS = ("City", "Plan", "Age")


def load(url: str, count: int) -> dict:
    from engine.accounts.passwords import hash_password

    setup = make_sa_engine(url)
    Base.metadata.create_all(setup)
    with setup.begin() as conn:
        group_id = conn.execute(UserGroup.__table__.insert().values(
            name="bench", permissions="*", created_at=NOW).returning(UserGroup.id)).scalar_one()
        user_id = conn.execute(User.__table__.insert().values(
            group_id=group_id, username="bench", email_address="bench@example.com",
            email_normalized="bench@example.com", password_hash=hash_password(PASSWORD),
            created_at=NOW).returning(User.id)).scalar_one()
        list_id = conn.execute(SubscriberList.__table__.insert().values(
            owner_user_id=user_id, name="Everyone", created_at=NOW).returning(SubscriberList.id)).scalar_one()
        field_ids = [conn.execute(CustomField.__table__.insert().values(
            owner_user_id=user_id, list_id=list_id, name=name, created_at=NOW).returning(CustomField.id)).scalar_one()
            for name in FIELDS]
    rng = random.Random(20261207)
    started = time.perf_counter()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        def subscribers():
            for n in range(1, count + 1):
                address = f"user{n}@example.com"
                yield {"id": n, "list_id": list_id, "email_address": address, "email_normalized": address,
                       "subscription_status": "Subscribed" if rng.random() < 0.9 else "Unsubscribed",
                       "subscription_date": NOW - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60)),
                       "public_nonce": f"{n:08x}"[-8:]}
        copy_rows(conn, Subscriber.__table__, Rows(
            ("id", "list_id", "email_address", "email_normalized", "subscription_status", "subscription_date",
             "public_nonce"),
            subscribers), {})

        def values():
            for n in range(1, count + 1):
                for field_id, value in zip(field_ids, (rng.choice(CITIES), rng.choice(PLANS), rng.randrange(18, 90))):
                    if rng.random() < 0.9:
                        yield {"subscriber_id": n, "field_id": field_id, "value_text": str(value)}
        copy_rows(conn, SubscriberFieldValue.__table__, Rows(("subscriber_id", "field_id", "value_text"), values), {})
        conn.execute("SELECT setval(pg_get_serial_sequence('subscribers', 'id'), %s)", (count,))
        conn.commit()
    setup.dispose()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE subscribers")
        conn.execute("VACUUM ANALYZE subscriber_field_values")
    print(f"loaded {count:,} subscribers with {len(FIELDS)} custom fields in {time.perf_counter() - started:.1f} s")
    return {"list_id": list_id, "field_ids": field_ids}


def copy_sql(list_id: int, field_ids: list[int]) -> str:
    joins = "".join(f" LEFT JOIN subscriber_field_values v{i} ON v{i}.subscriber_id = s.id AND v{i}.field_id = {f}"
                    for i, f in enumerate(field_ids))
    values = ", ".join(f"coalesce(v{i}.value_text, '')" for i in range(len(field_ids)))
    return (f"COPY (SELECT s.id, s.email_address, s.subscription_status, "
            f"to_char(s.subscription_date, 'YYYY-MM-DD HH24:MI:SS'), {values} "
            f"FROM subscribers s{joins} WHERE s.list_id = {int(list_id)} ORDER BY s.id) TO STDOUT WITH CSV HEADER")


def resident_mb() -> float:
    """This process's resident memory now (the peak comes from getrusage)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakSampler:
    """The highest resident memory seen while the work runs, sampled every 5 ms by a thread."""

    def __init__(self):
        self.peak = resident_mb()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, resident_mb())
            time.sleep(0.005)

    def stop(self) -> float:
        self.running = False
        self.thread.join()
        return max(self.peak, resident_mb())


def child_copy(url: str, list_id: int, field_ids: list[int]) -> dict:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    at_rest, sampler = resident_mb(), PeakSampler()
    size = 0
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor().copy(copy_sql(list_id, field_ids)) as copy:
        for block in copy:
            size += len(block)
    return {"seconds": time.perf_counter() - started, "bytes": size, "at_rest_mb": at_rest, "peak_mb": sampler.stop()}


def child_sendmill(url: str, list_id: int, field_ids: list[int]) -> dict:
    from engine import bootstrap
    from engine.config import Settings
    from protocol.app import create_app

    app = create_app(bootstrap(Settings(database_url=url, secret_key="bench-secret", base_url="http://bench.test")))
    client = app.test_client()

    def call(**params):
        return client.post("/api.php", data={"ResponseFormat": "JSON", **params}, buffered=False)

    # Logged in first: the password check (argon2) alone takes 19 MiB, which is not the export's.
    session = call(Command="User.Login", Username="bench", Password=PASSWORD).get_json()["SessionID"]
    at_rest, sampler = resident_mb(), PeakSampler()
    started = time.perf_counter()
    fields = ",".join(["SubscriberID", "EmailAddress", "SubscriptionStatus", "SubscriptionDate",
                       *(f"CustomField{f}" for f in field_ids)])
    posted = call(Command="Subscribers.Export.Post", SessionID=session, ListID=list_id, RulesJSON="[]",
                  RulesOperator="and", ExportFormat="csv", FieldsToExport=fields).get_json()
    response = call(Command="Subscribers.Export.Get", SessionID=session, ListID=list_id,
                    ExportID=posted["ExportID"], Download="1")
    size = sum(len(chunk) for chunk in response.response)
    return {"seconds": time.perf_counter() - started, "bytes": size, "at_rest_mb": at_rest, "peak_mb": sampler.stop()}


def run_child(kind: str, url: str, ids: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--database-url", url, "--ids", json.dumps(ids)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get(
        "SENDMILL_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (its name is printed)")
    parser.add_argument("--child", choices=("sendmill", "copy"), help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        ids = json.loads(args.ids)
        measure = child_sendmill if args.child == "sendmill" else child_copy
        result = measure(args.database_url, ids["list_id"], ids["field_ids"])
        print(json.dumps(result))
        return
    name = f"sendmill_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    try:
        ids = load(url, args.subscribers)
        copy = run_child("copy", url, ids)
        sendmill = run_child("sendmill", url, ids)
        print(f"PostgreSQL COPY ... TO STDOUT: {copy['seconds']:.2f} s, {copy['bytes']:,} bytes, "
              f"peak {copy['peak_mb']:.0f} MB (process at rest {copy['at_rest_mb']:.0f} MB)")
        print(f"Sendmill export (Post + Download): {sendmill['seconds']:.2f} s, {sendmill['bytes']:,} bytes, "
              f"peak {sendmill['peak_mb']:.0f} MB (goal < 150 MB; process at rest {sendmill['at_rest_mb']:.0f} MB)")
        print(f"ratio Sendmill / COPY: {sendmill['seconds'] / copy['seconds']:.2f} (goal <= 2) "
              f"for {args.subscribers:,} subscribers")
    finally:
        if args.keep:
            print(f"kept database {name}")
        else:
            _drop(admin, name)
        admin.dispose()


if __name__ == "__main__":
    main()
