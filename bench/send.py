"""Sendmill's delivery rate against Postfix's smtp-source, to the same smtp-sink, in one run.

    .venv/bin/python bench/send.py [--messages 100000] [--workers 2] [--concurrency 100] [--repeat 3]
                                   [--database-url URL] [--memory] [--memory-budget 60]

Starts `smtp-sink` on a free loopback port, then `--repeat` times, back to back:
1. `smtp-source -d -s 10 -m N -l 5000` against it: the loopback limit for 5 KB messages;
2. a campaign of N personalised, tracked messages (about 5 KB each: HTML + plain text, three tracked
   links, an open pixel, unsubscribe headers, VERP) built through the engine and ledgered by the tick,
   then sent by `--workers` `sendmill worker` processes to the same sink;
and prints both rates and their ratio for each pair, then the median ratio (target: ≥ 0.4). On a shared
machine either rate can swing by 15% from one minute to the next; pairs measured right after each other
and their median say more than one pair. `--memory` also measures the peak resident
memory of one worker process sending a 10,000- and a 1,000,000-recipient campaign (the latter within
`--memory-budget` seconds: the runner's memory must not grow with the campaign, so a budgeted run over
the full 1,000,000-row ledger shows the same peak as a complete run would; `--memory-budget 0` sends
all of it). Targets: peak(1M) ≤ 1.2 × peak(10k), and under 150 MB.

The database is SQLite in a scratch folder unless `--database-url` names a PostgreSQL or MariaDB
database (it is wiped). smtp-sink and smtp-source come with Postfix
(`DEBIAN_FRONTEND=noninteractive apt-get install -y postfix`). Nothing leaves 127.0.0.1.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from engine import bootstrap  # noqa: E402
from engine.accounts.auth import Actor  # noqa: E402
from engine.campaigns.service import RecipientRef  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Base, make_sa_engine  # noqa: E402
from engine.models import Subscriber, SubscriberList  # noqa: E402
from scheduler.tick import tick  # noqa: E402

SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"
PARAGRAPH = ("<p style=\"font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:22px\">This week we "
             "looked at what changed in the shop, which products came back in stock and what our readers asked "
             "most. Prices from 19.99 &mdash; read on for the details and the usual tips.</p>\n")
HTML = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Weekly</title></head><body>"
        "<p><a href=\"%Link:WebBrowser%\">View in your browser</a></p>"
        "<h1>Hello %Subscriber:EmailAddress%!</h1>" + PARAGRAPH * 3
        + "<p><a href=\"https://shop.example.com/new?ref=mail\">New arrivals</a> · "
          "<a href=\"https://shop.example.com/sale\">Sale</a> · "
          "<a href=\"https://blog.example.com/tips\">Tips</a></p>" + PARAGRAPH * 3
        + "<p>Sent to %Subscriber:EmailAddress%. <a href=\"%Link:Unsubscribe%\">Unsubscribe</a></p></body></html>")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def need(program: str) -> str:
    path = shutil.which(program) or (f"/usr/sbin/{program}" if os.path.exists(f"/usr/sbin/{program}") else None)
    if not path:
        sys.exit(f"{program} not found: install Postfix (DEBIAN_FRONTEND=noninteractive apt-get install -y postfix)")
    return path


class Sink:
    """smtp-sink on loopback: accepts and discards everything, as fast as it can."""

    def __init__(self):
        self.port = free_port()
        command = [need("smtp-sink")]
        if os.geteuid() == 0:
            command += ["-u", "nobody"]
        self.process = subprocess.Popen(command + [f"127.0.0.1:{self.port}", "1000"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        sys.exit(f"smtp-sink did not start: {self.process.stderr.read().decode(errors='replace')}")

    def close(self):
        self.process.terminate()
        self.process.wait(5)


def smtp_source_rate(port: int, messages: int) -> float:
    started = time.perf_counter()
    subprocess.run([need("smtp-source"), "-d", "-s", "10", "-m", str(messages), "-l", "5000",
                    f"127.0.0.1:{port}"], check=True, stdout=subprocess.DEVNULL)
    return messages / (time.perf_counter() - started)


def prepare_campaign(database_url: str, recipients: int) -> int:
    """A user, a list of `recipients` subscribers with a first name, a ~5 KB campaign; ledgered by the tick."""
    # db= given: bootstrap would otherwise refuse a database that has no schema yet (it is made just below).
    engine = bootstrap(Settings(database_url=database_url, secret_key=SECRET, base_url="https://mail.example.com",
                                bounce_domain="bounces.example.com"), db=make_sa_engine(database_url))
    Base.metadata.drop_all(engine.db)
    Base.metadata.create_all(engine.db)
    now = datetime.now(timezone.utc)
    with engine.uow() as uow:
        group = uow.accounts.ensure_default_group()
        uow.accounts.allow_sender_domains(group.id, ["shop.example.com"])   # the From policy: the campaign's From
        user = uow.accounts.create_user(username="bench", password="bench-pass-1", email="bench@example.com")
        uow.commit()
        owner = Actor("user", user.id, "*")
        row = SubscriberList(owner_user_id=user.id, name="Bench", created_at=now)
        uow.session.add(row)
        uow.commit()
        list_id = row.id
    print(f"loading {recipients:,} subscribers …", flush=True)
    chunk = 20_000
    with engine.db.begin() as conn:
        for start in range(0, recipients, chunk):
            conn.execute(insert(Subscriber), [
                {"list_id": list_id, "email_address": f"reader{i}@example.org",
                 "email_normalized": f"reader{i}@example.org", "subscription_date": now}
                for i in range(start, min(recipients, start + chunk))])
    with engine.uow() as uow:
        email = uow.emails.create(owner, "Weekly")
        email.subject = "Your weekly news, %Subscriber:EmailAddress%"
        email.from_email, email.from_name = "news@shop.example.com", "Example Shop"
        email.html_content = HTML
        campaign = uow.campaigns.create(owner, "Bench")
        uow.campaigns.update(owner, campaign.id, {"email_id": email.id, "recipients": [RecipientRef(list_id)],
                                                  "status": "Ready", "schedule_type": "Immediate"})
        uow.commit()
        campaign_id = campaign.id
    started = time.perf_counter()
    summary = tick(engine, datetime.now(timezone.utc))
    print(f"tick: {summary.line()} ({time.perf_counter() - started:.1f} s to write the ledger)", flush=True)
    engine.db.dispose()
    return campaign_id


def run_workers(database_url: str, port: int, workers: int, concurrency: int, budget: float,
                data_dir: str) -> tuple[float, int, list[int], float]:
    """Wall time, messages sent, each worker's peak RSS in KiB and the workers' CPU seconds."""
    env = {**os.environ, "SENDMILL_DATABASE_URL": database_url, "SENDMILL_SECRET_KEY": SECRET,
           "SENDMILL_SMTP_URL": f"smtp://127.0.0.1:{port}?max_connections={concurrency}",
           "SENDMILL_BASE_URL": "https://mail.example.com", "SENDMILL_BOUNCE_DOMAIN": "bounces.example.com",
           "SENDMILL_SEND_CONCURRENCY": str(concurrency), "SENDMILL_DATA_DIR": data_dir}
    command = [sys.executable, "-m", "scheduler", "worker", "--once", "--batch", "500", "--budget", str(budget or 86400)]
    started = time.perf_counter()
    processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(workers)]
    peaks, sent, cpu = [], 0, 0.0
    for process in processes:
        _pid, status, usage = os.wait4(process.pid, 0)
        out, err = process.stdout.read(), process.stderr.read()
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            sys.exit(f"worker failed: {err[-2000:]}")
        found = re.search(r"worker done \([^)]*\): (\d+) sent", out)
        sent += int(found.group(1)) if found else 0
        # The worker's own account: ru_maxrss of a child starts from the peak of this (larger) process.
        peak = re.search(r"peak memory ([\d.]+) MB", out)
        peaks.append(float(peak.group(1)) * 1024 if peak else usage.ru_maxrss)
        cpu += usage.ru_utime + usage.ru_stime
    return time.perf_counter() - started, sent, peaks, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="sendmill worker processes")
    parser.add_argument("--concurrency", type=int, default=100, help="messages in flight per worker (its relay connections)")
    parser.add_argument("--repeat", type=int, default=3, help="smtp-source / sendmill pairs measured")
    parser.add_argument("--database-url", default="", help="default: SQLite in a scratch folder")
    parser.add_argument("--memory", action="store_true", help="also measure peak memory at 10k and 1M recipients")
    parser.add_argument("--memory-budget", type=float, default=60.0,
                        help="seconds the 1M-recipient memory run may send for (0: all of it)")
    args = parser.parse_args()
    if args.repeat < 1 or args.messages < 1:
        parser.error("--repeat and --messages must be at least 1")

    scratch = tempfile.mkdtemp(prefix="sendmill-bench-")

    def fresh_database() -> str:
        # SQLite: a new file per campaign, so no run inherits the previous one's free pages or WAL;
        # a server database is wiped by prepare_campaign.
        if args.database_url:
            return args.database_url
        for old in Path(scratch).glob("bench.db*"):
            old.unlink()
        return f"sqlite:///{scratch}/bench.db"

    sink = Sink()
    try:
        print(f"smtp-sink on 127.0.0.1:{sink.port}", flush=True)
        ratios = []
        for attempt in range(1, args.repeat + 1):
            source = smtp_source_rate(sink.port, args.messages)
            print(f"[{attempt}] smtp-source: {args.messages:,} messages of 5 KB, 10 sessions: {source:,.0f} msg/s",
                  flush=True)
            database_url = fresh_database()
            prepare_campaign(database_url, args.messages)
            elapsed, sent, peaks, cpu = run_workers(database_url, sink.port, args.workers, args.concurrency, 0,
                                                    scratch)
            ours = sent / elapsed
            ratios.append(ours / source)
            print(f"[{attempt}] sendmill: {sent:,} personalised, tracked messages, {args.workers} workers × "
                  f"{args.concurrency} connections: {ours:,.0f} msg/s; worker CPU {cpu / max(sent, 1) * 1e6:,.0f} "
                  f"µs per message (peak RSS per worker {max(peaks) / 1024:.0f} MB)")
            print(f"[{attempt}] ratio sendmill / smtp-source: {ours / source:.2f}", flush=True)
        print(f"ratio sendmill / smtp-source: median {statistics.median(ratios):.2f} of "
              f"{', '.join(f'{r:.2f}' for r in ratios)} (target ≥ 0.4)", flush=True)
        if args.memory:
            results = {}
            for recipients, budget in ((10_000, 0.0), (1_000_000, args.memory_budget)):
                database_url = fresh_database()
                prepare_campaign(database_url, recipients)
                elapsed, sent, peaks, _cpu = run_workers(database_url, sink.port, 1, args.concurrency, budget,
                                                         scratch)
                results[recipients] = peaks[0] / 1024
                print(f"memory: {recipients:,} recipients, {sent:,} sent in {elapsed:.0f} s by one worker: "
                      f"peak RSS {results[recipients]:.1f} MB", flush=True)
            growth = results[1_000_000] / results[10_000]
            print(f"memory ratio 1M / 10k: {growth:.2f} (target ≤ 1.2); peak at 1M {results[1_000_000]:.1f} MB "
                  f"(target < 150 MB)")
    finally:
        sink.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
