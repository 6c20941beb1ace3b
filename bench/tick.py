"""The tick that starts a big campaign, and its audience count, against the same work written by hand (PostgreSQL).

    .venv/bin/python bench/tick.py [--recipients 1000000] [--pairs 5] [--keep] [--reuse DATABASE]

SENDMILL_BENCH_POSTGRES (default postgresql+psycopg://postgres@127.0.0.1:5432/test) names the server; the
benchmark creates its own scratch database there and drops it at the end (`--keep` keeps it, `--reuse`
measures again on a kept one). One list is loaded with COPY: N subscribers to mail and, shuffled among
them, 10% more unsubscribed, 0.9% hard-bounced, 0.2% complained and 0.5% suppressed; and a campaign to the
whole list. Then, `--pairs` times, side by side:

1. ledger: `tick()` starts the campaign (lease, compare-and-set start, the audience → ledger INSERT … SELECT,
   the count, the quota), timed as a whole and given as ledger rows per second; then the same rows written
   by one hand-written `INSERT INTO deliveries … SELECT … FROM subscribers` with the filters spelled out
   (what a person would write for exactly this audience), committed; and that INSERT again with the ledger's
   foreign key to its instance put back as it was before 0017_tick_scale (the before of that revision).
   Each run starts from an empty ledger after a CHECKPOINT, so none pays for another's dirty pages.
2. count: the campaign's audience count as `Campaign.Recipients` (preview) asks it, against a hand-written
   count of the same people.

It prints both sides of every pair, their ratio, and the medians (targets: tick ≥ 200,000 ledger rows/s,
count ≤ 1 s). Durable settings only: the server's synchronous_commit and WAL are left as they are.

Next to every ledger time it prints the CPU seconds the database spent on it, per 1,000,000 rows: the
statement's own backend (from /proc/PID/stat, like bench/journeys.py; the server must run on this machine,
else 0) and, in brackets, the server's WAL writer, background writer and checkpointer over the same
interval (shared with anything else the server does meanwhile). On a machine shared by other jobs the
wall time is inflated by waiting for a core; the CPU seconds are not, so "1,000,000 rows in ≤ 5 CPU-s" is
the figure that says whether 200,000 rows/s holds on a quiet machine.
"""
from __future__ import annotations

import argparse
import os
import random
import secrets
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import bootstrap  # noqa: E402
from engine.accounts.auth import Actor  # noqa: E402
from engine.campaigns.service import RecipientRef  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Base, make_sa_engine  # noqa: E402
from engine.errors import AudienceQueryTimeout  # noqa: E402
from engine.models import Subscriber, SubscriberList  # noqa: E402
from scheduler.tick import tick  # noqa: E402

SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)

# What a person would write for this campaign's audience: the list's Subscribed rows that never
# hard-bounced or complained (on any of the owner's lists) and are not suppressed. One list: an address
# appears once in it (UNIQUE(list_id, email_normalized)), so no grouping is needed.
AUDIENCE = """
    FROM subscribers s
    WHERE s.list_id = %(list)s AND s.subscription_status = 'Subscribed'
      AND s.bounce_type <> 'Hard' AND s.complained_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM suppressions p WHERE p.owner_user_id = %(owner)s
                      AND p.email_normalized = s.email_normalized
                      AND (p.list_id IS NULL OR p.list_id = s.list_id))"""
BARE_LEDGER = ("INSERT INTO deliveries (instance_id, subscriber_id, email_normalized, state, worker, attempts, "
               "last_error, message_id) SELECT %(instance)s, s.id, s.email_normalized, 'pending', '', 0, '', ''"
               + AUDIENCE)
BARE_COUNT = "SELECT count(*)" + AUDIENCE


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of one server process so far (0 when it is not readable here)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def background_pids(dsn: str) -> list[int]:
    with psycopg.connect(dsn) as conn:
        return [pid for pid, in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE backend_type IN "
            "('walwriter', 'background writer', 'checkpointer')")]


class ServerCpu:
    """The CPU the server spends on one timed piece of work: its backends' and, apart, the shared
    background processes' (WAL writer, background writer, checkpointer)."""

    def __init__(self, dsn: str):
        self.background = background_pids(dsn)
        self.backend = 0.0
        self.shared = 0.0

    def __enter__(self):
        self._shared_before = sum(cpu_seconds(pid) for pid in self.background)
        return self

    def __exit__(self, *exc):
        self.shared = sum(cpu_seconds(pid) for pid in self.background) - self._shared_before

    def per_million(self, rows: int) -> str:
        scale = 1_000_000 / rows if rows else 0.0
        return f"{self.backend * scale:.2f} CPU-s/1M rows (+{self.shared * scale:.2f} background)"


def database_backends(dsn: str) -> list[int]:
    """The backends connected to the bench database, but the one asking."""
    with psycopg.connect(dsn) as conn:
        return [pid for pid, in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]


def make_engine(url: str):
    return bootstrap(Settings(database_url=url, secret_key=SECRET, base_url="https://mail.example.com",
                              bounce_domain="bounces.example.com"), db=make_sa_engine(url))


def load(url: str, dsn: str, recipients: int) -> dict:
    """A user, one list of subscribers (`recipients` of them to mail), some suppressions, and a campaign to
    the whole list (Ready)."""
    engine = make_engine(url)
    Base.metadata.create_all(engine.db)
    with engine.uow() as uow:
        group = uow.accounts.ensure_default_group()
        uow.accounts.allow_sender_domains(group.id, ["shop.example.com"])
        user = uow.accounts.create_user(username="bench", password="bench-pass-1", email="bench@example.com")
        uow.commit()
        owner = Actor("user", user.id, "*")
        row = SubscriberList(owner_user_id=user.id, name="Bench", created_at=NOW)
        uow.session.add(row)
        uow.commit()
        ids = {"owner": user.id, "list": row.id}
    with engine.db.begin() as conn:   # secondary indexes are built after the load: far faster
        for index in Subscriber.__table__.indexes:
            conn.execute(DropIndex(index))
    # Exactly `recipients` people to mail, shuffled among the rows that must not be: 10% unsubscribed, 0.9%
    # hard-bounced, 0.2% complained, 0.5% suppressed (counted against the recipients).
    kinds = ["ok"] * recipients + ["unsubscribed"] * (recipients // 10) + ["hard"] * (recipients * 9 // 1000) \
        + ["complained"] * (recipients // 500) + ["suppressed"] * (recipients // 200)
    random.Random(20261207).shuffle(kinds)
    started = time.perf_counter()
    columns = ("id", "list_id", "email_address", "email_normalized", "subscription_status", "bounce_type",
               "soft_bounce_count", "subscription_date", "subscription_ip", "unsubscription_ip",
               "complained_at", "unsubscription_campaign_id", "unsubscription_email_id", "unsubscription_channel",
               "source", "source_ref", "public_nonce", "legacy_links")
    suppressed = []
    with psycopg.connect(dsn) as conn:
        with conn.cursor().copy(f"COPY subscribers ({', '.join(columns)}) FROM STDIN") as copy:
            for n, kind in enumerate(kinds, 1):
                address = f"reader{n}@example.org"
                if kind == "suppressed":
                    suppressed.append(address)
                copy.write_row((n, ids["list"], address, address,
                                "Unsubscribed" if kind == "unsubscribed" else "Subscribed",
                                "Hard" if kind == "hard" else "Not Bounced", 0, NOW, "", "",
                                NOW if kind == "complained" else None, 0, 0, "", "API", "",
                                secrets.token_hex(4), False))
        with conn.cursor().copy("COPY suppressions (owner_user_id, list_id, list_scope, email_address, "
                                "email_normalized, source, reason, created_at) FROM STDIN") as copy:
            for address in suppressed:
                copy.write_row((ids["owner"], None, 0, address, address, "User", "", NOW))
        conn.execute("SELECT setval(pg_get_serial_sequence('subscribers', 'id'), %s)", (len(kinds),))
        conn.commit()
    with engine.db.begin() as conn:
        for index in Subscriber.__table__.indexes:
            conn.execute(CreateIndex(index))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"loaded {len(kinds):,} subscribers, {recipients:,} of them to mail, in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    with engine.uow() as uow:
        email = uow.emails.create(owner, "Weekly")
        email.subject = "Your weekly news"
        email.from_email, email.from_name = "news@shop.example.com", "Example Shop"
        email.html_content = "<p>Hello %Subscriber:EmailAddress%</p>"
        campaign = uow.campaigns.create(owner, "Bench")
        uow.campaigns.update(owner, campaign.id, {"email_id": email.id, "recipients": [RecipientRef(ids["list"])],
                                                  "status": "Ready", "schedule_type": "Immediate"})
        uow.commit()
        ids["campaign"] = campaign.id
    engine.db.dispose()
    return ids


def reuse(dsn: str) -> dict:
    with psycopg.connect(dsn) as conn:
        owner, campaign = conn.execute("SELECT owner_user_id, id FROM campaigns").fetchone()
        list_id = conn.execute("SELECT id FROM subscriber_lists").fetchone()[0]
    return {"owner": owner, "list": list_id, "campaign": campaign}


def fresh_ledger(dsn: str, ids: dict, *, instances: bool) -> None:
    """An empty ledger (and the campaign Ready and due again when `instances`), checkpointed."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE deliveries, send_instances CASCADE" if instances else "TRUNCATE deliveries")
        if instances:
            conn.execute("UPDATE campaigns SET status = 'Ready', next_send_at = %s, total_recipients = 0 "
                         "WHERE id = %s", (NOW - timedelta(minutes=1), ids["campaign"]))
            conn.execute("DELETE FROM scheduler_leases")
        conn.execute("CHECKPOINT")


def time_tick(url: str, dsn: str, ids: dict, cpu: ServerCpu) -> tuple[float, int]:
    engine = make_engine(url)   # no connection yet: every backend it opens starts at 0 CPU seconds
    try:
        with cpu:
            started = time.perf_counter()
            summary = tick(engine, NOW)
            elapsed = time.perf_counter() - started
        cpu.backend = sum(cpu_seconds(pid) for pid in database_backends(dsn))   # before the pool closes them
    finally:
        engine.db.dispose()
    if summary.started != 1:
        sys.exit(f"the tick did not start the campaign: {summary.line()}")
    return elapsed, summary.recipients


# The ledger's key to its instance as it was before 0017_tick_scale (checked row by row on every insert;
# NOT VALID only skips checking the rows already there, of which there are none).
OLD_KEY = "bench_old_instance_key"


def time_bare_ledger(dsn: str, ids: dict, cpu: ServerCpu, *, old_key: bool = False) -> tuple[float, int]:
    with psycopg.connect(dsn) as conn:
        instance = conn.execute("SELECT id FROM send_instances WHERE campaign_id = %s",
                                (ids["campaign"],)).fetchone()[0]
        if old_key:
            conn.execute(f"ALTER TABLE deliveries ADD CONSTRAINT {OLD_KEY} FOREIGN KEY (instance_id) "
                         "REFERENCES send_instances (id) ON DELETE CASCADE NOT VALID")
            conn.commit()
        try:
            pid = conn.info.backend_pid
            with cpu:
                before = cpu_seconds(pid)
                started = time.perf_counter()
                rows = conn.execute(BARE_LEDGER, {**ids, "instance": instance}).rowcount
                conn.commit()
                elapsed = time.perf_counter() - started
                cpu.backend = cpu_seconds(pid) - before
            return elapsed, rows
        finally:
            if old_key:
                conn.execute(f"ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS {OLD_KEY}")
                conn.commit()


def time_count(url: str, ids: dict) -> tuple[float, int | None]:
    """The preview's count and its time; None when it hit the request time limit (AudienceQueryTimeout)."""
    engine = make_engine(url)
    try:
        with engine.uow() as uow:
            campaign = uow.campaigns.get(Actor("user", ids["owner"], "*"), ids["campaign"])
            started = time.perf_counter()
            try:
                total = uow.audience.preview_campaign(campaign, sample=0).total
            except AudienceQueryTimeout:
                total = None
            return time.perf_counter() - started, total
    finally:
        engine.db.dispose()


def time_bare_count(dsn: str, ids: dict) -> tuple[float, int]:
    with psycopg.connect(dsn) as conn:
        started = time.perf_counter()
        total = conn.execute(BARE_COUNT, ids).fetchone()[0]
        return time.perf_counter() - started, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (its name is printed)")
    parser.add_argument("--reuse", default="", help="a database kept by an earlier --keep run (not loaded again)")
    args = parser.parse_args()
    server = os.environ.get("SENDMILL_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    name = args.reuse or f"sendmill_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        ids = reuse(dsn) if args.reuse else load(url, dsn, args.recipients)
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        ledger, cpus, counts = [], [], []
        for pair in range(1, args.pairs + 1):
            fresh_ledger(dsn, ids, instances=True)
            cpu_ours, cpu_bare, cpu_keyed = ServerCpu(dsn), ServerCpu(dsn), ServerCpu(dsn)
            ours, rows = time_tick(url, dsn, ids, cpu_ours)
            fresh_ledger(dsn, ids, instances=False)
            bare, bare_rows = time_bare_ledger(dsn, ids, cpu_bare)
            fresh_ledger(dsn, ids, instances=False)
            keyed, keyed_rows = time_bare_ledger(dsn, ids, cpu_keyed, old_key=True)
            if not rows == bare_rows == keyed_rows:
                sys.exit(f"the tick wrote {rows:,} ledger rows, the hand-written INSERT {bare_rows:,} "
                         f"({keyed_rows:,} with the old key)")
            ledger.append((rows / ours, rows / bare, rows / keyed))
            cpus.append((cpu_ours.backend * 1e6 / rows, cpu_bare.backend * 1e6 / rows, cpu_keyed.backend * 1e6 / rows))
            print(f"[{pair}] ledger of {rows:,} rows: tick {ours:.2f} s = {rows / ours:,.0f} rows/s, "
                  f"{cpu_ours.per_million(rows)}; hand-written INSERT … SELECT {bare:.2f} s = {rows / bare:,.0f} "
                  f"rows/s (ratio {bare / ours:.2f}), {cpu_bare.per_million(rows)}; the same with the old key "
                  f"(before 0017) {keyed:.2f} s = {rows / keyed:,.0f} rows/s (ratio {keyed / ours:.2f}), "
                  f"{cpu_keyed.per_million(rows)}", flush=True)
            ours, total = time_count(url, ids)
            bare, bare_total = time_bare_count(dsn, ids)
            if total is None:
                print(f"[{pair}] audience count: Sendmill stopped by the request time limit after "
                      f"{ours * 1000:,.0f} ms; hand-written {bare * 1000:,.0f} ms", flush=True)
                counts.append((ours, bare))
                continue
            if total != bare_total:
                sys.exit(f"the audience count is {total:,}, the hand-written count {bare_total:,}")
            counts.append((ours, bare))
            print(f"[{pair}] audience count of {total:,}: Sendmill {ours * 1000:,.0f} ms; hand-written "
                  f"{bare * 1000:,.0f} ms; ratio {bare / ours:.2f}", flush=True)
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"ledger rows/s: tick median {statistics.median(r for r, _, _ in ledger):,.0f} (target ≥ 200,000), "
              f"hand-written median {statistics.median(b for _, b, _ in ledger):,.0f}, hand-written with the "
              f"old key (before 0017) median {statistics.median(k for _, _, k in ledger):,.0f}; median ratios tick / "
              f"hand-written {statistics.median(r / b for r, b, _ in ledger):.2f}, tick / with the old key "
              f"{statistics.median(r / k for r, _, k in ledger):.2f}")
        print(f"database backend CPU per 1,000,000 ledger rows: tick median "
              f"{statistics.median(t for t, _, _ in cpus):.2f} s (≤ 5 s: 200,000 rows/s on a quiet machine), "
              f"hand-written median {statistics.median(b for _, b, _ in cpus):.2f} s, with the old key median "
              f"{statistics.median(k for _, _, k in cpus):.2f} s; median ratio tick / hand-written "
              f"{statistics.median(t / b for t, b, _ in cpus if b):.2f}")
        print(f"audience count: Sendmill median {statistics.median(o for o, _ in counts) * 1000:,.0f} ms "
              f"(target ≤ 1,000 ms), hand-written median {statistics.median(b for _, b in counts) * 1000:,.0f} ms; "
              f"median ratio hand-written / Sendmill {statistics.median(b / o for o, b in counts):.2f}")
    finally:
        if args.keep or args.reuse:
            print(f"kept database {name}")
        else:
            with admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


if __name__ == "__main__":
    main()
