"""Peak memory of a delivery worker at 1,000,000 recipients and of a web worker after 10,000 mixed requests.

    .venv/bin/python bench/memory.py [--recipients 1000000] [--budget 60] [--requests 10000]
                                     [--database-url URL] [--only worker|web|logins]

Delivery worker (as bench/send.py --memory): a 10,000-recipient campaign and a `--recipients` one (the tick
writes each ledger), each sent by one `sendmill worker --once` process to Postfix's smtp-sink with 100
connections; the big one for `--budget` seconds (the runner's memory does not grow with the campaign, so a
budgeted run over the whole ledger peaks where a complete run would; 0 sends all of it). The worker reports
its own peak resident memory (Linux VmHWM). Target: under 80 MB at 1,000,000.

Web worker: `sendmill serve` (gunicorn, the default 2 gthread workers × 8 threads), a user with a 25-row
list, a campaign and an API key; each gunicorn worker's resident memory is read from /proc after every
kind of request was answered once (warm), and again after `--requests` more, 8 keep-alive connections
at once, cycling through Campaign.Get (session and API key), Subscribers.Get, Lists.Get, List.Get,
Campaigns.Get, Subscriber.Subscribe (authenticated and public, a new address each) and a Campaign.Get of
a campaign that does not exist (an error answer), with a login with a wrong password every 100th request.
Target: every worker's peak under 120 MB. Logins: eight threads of one process checking a password at once, through the engine (one argon2
computation at a time) and straight through the hasher (all at once).

It prints both sides (10,000 against 1,000,000 recipients; warm against after the requests) and their
ratios. The database is SQLite in a scratch folder unless `--database-url` names a PostgreSQL or MariaDB
database (it is wiped). Nothing leaves 127.0.0.1; a benchmark, not a test: it asserts nothing.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api  # noqa: E402 - bench/api.py: preparing a database and serving it as `sendmill serve` does
import send  # noqa: E402 - bench/send.py: the sink, the campaign and the worker processes


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB."""
    found = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(line.split()[1]) / 1024
    return found


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def requests_mix(data: dict) -> list[tuple[dict, dict]]:
    """(form, headers) templates; {n} is replaced by the request's number."""
    session, key = data["session"], data["api_key"]
    return [
        ({"Command": "Campaign.Get", "SessionID": session, "CampaignID": data["campaign"]}, {}),
        ({"Command": "Campaign.Get", "APIKey": key, "CampaignID": data["campaign"]}, {}),
        ({"Command": "Subscribers.Get", "SessionID": session, "SubscriberListID": data["list"],
          "SubscriberSegment": "Active", "RecordsPerRequest": api.SUBSCRIBERS}, {}),
        ({"Command": "Lists.Get", "SessionID": session}, {}),
        ({"Command": "List.Get", "APIKey": key, "ListID": data["list"]}, {}),
        ({"Command": "Campaigns.Get", "SessionID": session}, {}),
        ({"Command": "Subscriber.Subscribe", "SessionID": session, "ListID": data["list"],
          "EmailAddress": "member{n}@example.org", "IPAddress": "127.0.0.1"}, {}),
        ({"Command": "Subscriber.Subscribe", "ListID": data["form_list"], "EmailAddress": "form{n}@example.org",
          "IPAddress": "127.0.0.1"}, {"X-Forwarded-For": "10.{a}.{b}.{c}"}),
        ({"Command": "Campaign.Get", "SessionID": session, "CampaignID": 999_999}, {}),
    ]


# Every LOGIN_EVERY-th request is a login with a wrong password (an argon2 verification, 19 MiB while it runs).
LOGIN_EVERY = 100
LOGIN = ({"Command": "User.Login", "Username": "bench", "Password": "not-the-password"},
         {"X-Forwarded-For": "10.{a}.{b}.{c}"})


def drive(port: int, mix: list[tuple[dict, dict]], first: int, count: int, connections: int = 8) -> dict:
    """`count` requests over `connections` keep-alive connections, cycling through `mix`; outcome counts."""
    outcomes: dict[str, int] = {}
    lock = threading.Lock()
    numbers = iter(range(first, first + count))

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                break
            form, headers = LOGIN if n % LOGIN_EVERY == LOGIN_EVERY - 1 else mix[n % len(mix)]
            values = {"n": n, "a": n // 62_500 % 250, "b": n // 250 % 250, "c": n % 250 + 1}
            body = urllib.parse.urlencode({k: str(v).format(**values) for k, v in form.items()}
                                          | {"ResponseFormat": "JSON"})
            conn.request("POST", "/api.php", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                     **{k: v.format(**values) for k, v in headers.items()}})
            answer = conn.getresponse()
            raw = answer.read()
            try:
                outcome = "success" if json.loads(raw).get("Success") else "error answer"
            except ValueError:
                outcome = f"HTTP {answer.status}"
            with lock:
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def wait_for_workers(port: int, seconds: float = 600) -> None:
    """Until a request is answered: on a busy machine the first one waits for a worker to boot, which can
    outlast bench/api.py's 30 s per call."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=seconds)
    conn.request("POST", "/api.php", "Command=Nothing.Here&ResponseFormat=JSON",
                 {"Content-Type": "application/x-www-form-urlencoded"})
    conn.getresponse().read()
    conn.close()


def web(args, scratch: str) -> None:
    env = {**os.environ, "SENDMILL_DATA_DIR": scratch, "SENDMILL_TRUSTED_PROXIES": "127.0.0.1",
           "SENDMILL_DATABASE_URL": args.database_url or f"sqlite:///{scratch}/web.db"}
    if args.database_url:
        api.wipe(args.database_url)
    api.prepare(env)
    port, server = api.serve(env, "wsgi:app")
    try:
        wait_for_workers(port)
        data = api.populate(port)
        mix = requests_mix(data)
        workers = children(server.pid)
        drive(port, mix, 0, len(mix) * 4 * len(workers))   # every kind answered by every worker, likely
        warm = {pid: proc_status(pid) for pid in workers}
        outcomes = drive(port, mix, 10_000, args.requests)
        after = {pid: proc_status(pid) for pid in workers}
        print(f"web: {args.requests:,} mixed requests over 8 connections: "
              f"{', '.join(f'{n:,} {what}' for what, n in sorted(outcomes.items()))}")
        for pid in workers:
            print(f"web worker {pid}: resident {warm[pid]['VmRSS']:.1f} MB warm, {after[pid]['VmRSS']:.1f} MB after "
                  f"(ratio {after[pid]['VmRSS'] / warm[pid]['VmRSS']:.2f}); peak {warm[pid]['VmHWM']:.1f} MB warm, "
                  f"{after[pid]['VmHWM']:.1f} MB after (target < 120 MB)")
    finally:
        server.terminate()
        server.wait()


# Run in a fresh interpreter: eight threads check a wrong password at once, through check_password
# (one argon2 computation at a time) or straight through the hasher (all at once); prints VmHWM in MB
# before (after one hash was made) and after.
LOGINS_AT_ONCE = """
import sys, threading
from argon2.exceptions import VerificationError
from engine.accounts import passwords

def hwm():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024

stored = passwords.hash_password("the-password")

def bypassing_the_lock():
    try:
        passwords._hasher.verify(stored, "wrong")
    except VerificationError:
        pass

check = (lambda: passwords.check_password(stored, "wrong")) if sys.argv[1] == "serialized" else bypassing_the_lock
before = hwm()
threads = [threading.Thread(target=check) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(before, hwm())
"""


def logins_at_once() -> None:
    peaks = {}
    for mode in ("all at once", "serialized"):
        out = subprocess.run([sys.executable, "-c", LOGINS_AT_ONCE, mode.split()[0]], cwd=api.ROOT, check=True,
                             capture_output=True, text=True).stdout.split()
        peaks[mode] = (float(out[0]), float(out[1]))
    print("eight password checks at once in one process: peak " + "; ".join(
        f"{mode} {before:.1f} → {after:.1f} MB" for mode, (before, after) in peaks.items()))


def delivery(args, scratch: str) -> None:
    sink = send.Sink()
    try:
        results = {}
        for recipients, budget in ((10_000, 0.0), (args.recipients, args.budget)):
            for old in Path(scratch).glob("send.db*"):
                old.unlink()
            database_url = args.database_url or f"sqlite:///{scratch}/send.db"
            send.prepare_campaign(database_url, recipients)
            elapsed, sent, peaks, _cpu = send.run_workers(database_url, sink.port, 1, 100, budget, scratch)
            results[recipients] = peaks[0] / 1024
            print(f"delivery worker: {recipients:,} recipients, {sent:,} sent in {elapsed:.0f} s: peak resident "
                  f"{results[recipients]:.1f} MB", flush=True)
        big = results[args.recipients]
        print(f"delivery worker peak at {args.recipients:,} / at 10,000 recipients: {big:.1f} / "
              f"{results[10_000]:.1f} MB = {big / results[10_000]:.2f} (target < 80 MB at 1,000,000)")
    finally:
        sink.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds the big campaign is sent for (0: all)")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--database-url", default="", help="default: SQLite in a scratch folder")
    parser.add_argument("--only", choices=("worker", "web", "logins"))
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="sendmill-memory-")
    try:
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs", flush=True)
        if args.only in (None, "logins"):
            logins_at_once()
        if args.only in (None, "web"):
            web(args, scratch)
        if args.only in (None, "worker"):
            delivery(args, scratch)
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
