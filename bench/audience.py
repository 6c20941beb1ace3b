"""Audience compiler vs hand-written SQL on 1,000,000 subscribers (PostgreSQL).

    .venv/bin/python bench/audience.py [--subscribers N] [--repeat R]

SENDMILL_BENCH_POSTGRES (default postgresql+psycopg://postgres@127.0.0.1:5432/test) names the
server; the benchmark creates its own scratch database there and drops it at the end. Rows are
loaded with COPY through psycopg. It then times, R times each and alternately, the SQL the
compiler produces for a three-rule segment and the equivalent query written by hand, and prints
the median times and their ratio (target: compiled / hand-written ≤ 1.2). Not part of the tests.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateIndex, DropIndex

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.audience import rules  # noqa: E402
from engine.audience.compiler import (  # noqa: E402
    CompileContext, Source, audience_rows, count_query, criteria_query, render_sql,
)
from engine.db import Base, make_sa_engine  # noqa: E402
import engine.models  # noqa: E402,F401 - registers every table
from engine.models import CustomField, Subscriber, SubscriberFieldValue, SubscriberList, User, UserGroup  # noqa: E402

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
DOMAINS = ["gmail.com", "Gmail.com", "yahoo.com", "hotmail.com", "example.org", "mail.ru", "outlook.com"]
COUNTRIES = ["UK", "uk", "IE", "US", "DE", "FR", "ES", "IT", "NL", "SE"]


class StaticLookup:
    def __init__(self, kinds):
        self.kinds = kinds

    def custom_field_kind(self, field_id, list_id):
        return self.kinds.get(field_id)

    def segment(self, segment_id):
        return None

    def missing_campaigns(self, ids):
        return list(ids)


def copy_rows(conn, table, rows, fixed: dict) -> None:
    """COPY `rows` (dicts) into `table`, filling every other NOT NULL column with its model default."""
    columns, per_row = [], {}
    for column in table.columns:
        if column.name in fixed or column.name in rows.columns:
            columns.append(column.name)
        elif not column.nullable:
            if column.default is None:
                raise SystemExit(f"{table.name}.{column.name} needs a value")
            if column.default.is_callable:   # e.g. a link nonce: a new value for every row
                per_row[column.name] = column.default.arg
            else:
                fixed[column.name] = column.default.arg
            columns.append(column.name)
    with conn.cursor().copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] if c in rows.columns else per_row[c](None) if c in per_row else fixed[c]
                            for c in columns])


class Rows:
    def __init__(self, columns, generator):
        self.columns = set(columns)
        self.generator = generator

    def __iter__(self):
        return self.generator()


def load(url: str, count: int) -> dict:
    setup = make_sa_engine(url)
    Base.metadata.create_all(setup)
    with setup.begin() as conn:
        group_id = conn.execute(UserGroup.__table__.insert().values(
            name="bench", permissions="*", created_at=NOW).returning(UserGroup.id)).scalar_one()
        user_id = conn.execute(User.__table__.insert().values(
            group_id=group_id, username="bench", email_address="bench@example.com",
            email_normalized="bench@example.com", password_hash="x", created_at=NOW).returning(User.id)).scalar_one()
        list_id = conn.execute(SubscriberList.__table__.insert().values(
            owner_user_id=user_id, name="Everyone", created_at=NOW).returning(SubscriberList.id)).scalar_one()
        ids = {}
        for name, validation in (("Country", "Disabled"), ("Age", "Numbers")):
            ids[name] = conn.execute(CustomField.__table__.insert().values(
                owner_user_id=user_id, list_id=list_id, name=name, validation_method=validation,
                created_at=NOW).returning(CustomField.id)).scalar_one()
        # Secondary indexes are built once after the load: far faster than maintaining them per row.
        for table in (Subscriber.__table__, SubscriberFieldValue.__table__):
            for index in table.indexes:
                conn.execute(DropIndex(index))

    rng = random.Random(20261123)
    started = time.perf_counter()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        def subscribers():
            for n in range(1, count + 1):
                address = f"User{n}@{rng.choice(DOMAINS)}"
                yield {"id": n, "list_id": list_id, "email_address": address, "email_normalized": address.lower(),
                       "subscription_status": "Subscribed" if rng.random() < 0.9 else "Unsubscribed",
                       "subscription_date": NOW - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))}
        copy_rows(conn, Subscriber.__table__, Rows(
            ("id", "list_id", "email_address", "email_normalized", "subscription_status", "subscription_date"),
            subscribers), {})

        def values():
            for n in range(1, count + 1):
                if rng.random() < 0.85:
                    yield {"subscriber_id": n, "field_id": ids["Country"], "value_text": rng.choice(COUNTRIES),
                           "value_number": None}
                if rng.random() < 0.7:
                    age = rng.randrange(18, 90)
                    yield {"subscriber_id": n, "field_id": ids["Age"], "value_text": str(age), "value_number": age}
        copy_rows(conn, SubscriberFieldValue.__table__, Rows(
            ("subscriber_id", "field_id", "value_text", "value_number"), values), {})
        conn.execute("SELECT setval(pg_get_serial_sequence('subscribers', 'id'), %s)", (count,))
        conn.commit()
    with setup.begin() as sa_conn:
        for table in (Subscriber.__table__, SubscriberFieldValue.__table__):
            for index in table.indexes:
                sa_conn.execute(CreateIndex(index))
    setup.dispose()
    with psycopg.connect(dsn) as conn:
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE subscribers")
        conn.execute("VACUUM ANALYZE subscriber_field_values")
    print(f"loaded {count:,} subscribers and their custom fields in {time.perf_counter() - started:.1f} s")
    return {"user": user_id, "list": list_id, **ids}


def criteria(ids: dict, list_id: int):
    doc = [[{"type": "fields", "field_id": "EmailAddress", "operator": "ends with", "value": "@gmail.com"},
            {"type": "fields", "field_id": str(ids["Country"]), "operator": "is", "value": "UK"},
            {"type": "fields", "field_id": f"CustomField{ids['Age']}", "operator": "is greater than", "value": "40"}]]
    lookup = StaticLookup({ids["Country"]: "text", ids["Age"]: "number"})
    return rules.parse_criteria(doc, "or", lookup, list_id=list_id)


def hand_written(ids: dict, list_id: int) -> str:
    # What a person would write for "gmail, in the UK, older than 40" (case-insensitive, as Sendmill is).
    return f"""
        SELECT s.* FROM subscribers s
        JOIN subscriber_field_values c ON c.subscriber_id = s.id AND c.field_id = {ids['Country']}
        JOIN subscriber_field_values a ON a.subscriber_id = s.id AND a.field_id = {ids['Age']}
        WHERE s.list_id = {list_id}
          AND lower(s.email_address) LIKE '%%@gmail.com'  -- %% : psycopg placeholder escaping
          AND lower(c.value_text) = 'uk'
          AND a.value_number > 40
        ORDER BY s.id"""


def measure(url: str, ids: dict, repeat: int, explain: bool = False) -> None:
    db = make_sa_engine(url)
    query = criteria_query(criteria(ids, ids["list"]), ids["list"], CompileContext(ids["user"], NOW))
    manual = hand_written(ids, ids["list"])
    print("compiled SQL:\n" + render_sql(query, db.dialect) + "\n")
    timings = {"compiled": [], "hand-written": []}
    # Both go through the driver as SQL text plus parameters, so the only difference measured is the
    # SQL itself (not SQLAlchemy's result processing, which the hand-written text would skip).
    compiled_sql, compiled_params = _explainable(query, db)
    queries = {"compiled": (compiled_sql, compiled_params), "hand-written": (manual, {})}
    with db.connect() as conn:
        compiled_ids = [r.id for r in conn.execute(query)]
        manual_ids = [r.id for r in conn.exec_driver_sql(manual)]
        assert compiled_ids == manual_ids, "the two queries disagree"
        print(f"both select {len(compiled_ids):,} subscribers\n")
        for name, (sql, params) in queries.items():  # warm the cache once each
            conn.exec_driver_sql(sql, params).all()
        for _ in range(repeat):
            for name, (sql, params) in queries.items():
                started = time.perf_counter()
                conn.exec_driver_sql(sql, params).all()
                timings[name].append(time.perf_counter() - started)
        server = {name: [] for name in queries}
        for _ in range(repeat):  # interleaved, like the timings above, so load on the server hits both
            for name, (sql, params) in queries.items():
                plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params).scalar_one()
                server[name].append(plan[0]["Execution Time"] / 1000)
        server = {name: statistics.median(runs) for name, runs in server.items()}
        for name, (sql, params) in queries.items() if explain else ():
            lines = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params).scalars()
            print(f"--- {name} plan ---\n" + "\n".join(lines) + "\n")
        # For scale, not compared: the whole campaign audience (deliverability filters, one row per address).
        for label, source in (("whole list", Source(ids["list"], whole_list=True)),
                              ("the segment", Source(ids["list"], criteria(ids, ids["list"])))):
            started = time.perf_counter()
            # Counted as Campaign.Recipients counts it (engine/audience/service.preview_campaign).
            total = conn.execute(count_query(audience_rows([source], [], CompileContext(ids["user"], NOW)))).scalar()
            print(f"campaign audience of {label}: {total:,} recipients counted in "
                  f"{(time.perf_counter() - started) * 1000:.0f} ms")
    db.dispose()
    compiled, manual_time = statistics.median(timings["compiled"]), statistics.median(timings["hand-written"])
    print(f"median of {repeat} runs (execute + fetch):  compiled {compiled * 1000:.1f} ms   "
          f"hand-written {manual_time * 1000:.1f} ms   ratio {compiled / manual_time:.2f}")
    print(f"median server time (EXPLAIN ANALYZE):      compiled {server['compiled'] * 1000:.1f} ms   "
          f"hand-written {server['hand-written'] * 1000:.1f} ms   ratio "
          f"{server['compiled'] / server['hand-written']:.2f}")


def _explainable(query, db):
    compiled = query.compile(dialect=db.dialect)
    return str(compiled), compiled.params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--explain", action="store_true", help="also print both query plans")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (its name is printed)")
    args = parser.parse_args()
    server = os.environ.get("SENDMILL_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    name = f"sendmill_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        ids = load(url, args.subscribers)
        measure(url, ids, args.repeat, args.explain)
    finally:
        if args.keep:
            print(f"kept database {name}")
        else:
            _drop(admin, name)
        admin.dispose()


def _drop(admin, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))


if __name__ == "__main__":
    main()
