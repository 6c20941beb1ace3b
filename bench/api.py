"""Sendmill's /api.php throughput against a bare Flask endpoint under the same gunicorn settings.

    .venv/bin/python bench/api.py [--pairs 5] [--seconds 5] [--connections 16] [--database-url URL]
                                  [--only NAME]

Prepares a database (SQLite in a scratch folder unless `--database-url` names a PostgreSQL or MariaDB
database, which is wiped) with `sendmill init-db`, an administrator, a user with a list of 25
subscribers, a campaign and an API key; then starts `python -m scheduler serve` (the engine's default
serving settings: scheduler/serving.py) and bench/bare_app.py under gunicorn with exactly the same
arguments, each on a free loopback port. For each case, `--pairs` times back to back, `wrk` drives
each side for `--seconds` with `--connections` keep-alive connections, and the script prints both
rates, their ratio for every pair, and the median ratio:

* Campaign.Get with a SessionID, and with an APIKey, against `/read` answering the same bytes;
* Subscribers.Get (25 rows, SessionID) against `/read` answering the same bytes;
* public Subscriber.Subscribe (no credentials, a new address per call) against `/subscribe`, which
  runs one INSERT of a subscriber row through the same driver and answers the same bytes. The public
  rate limit stays on at its default; so that it counts rather than refuses, every call comes from a
  different client address: SENDMILL_TRUSTED_PROXIES=127.0.0.1 and a new X-Forwarded-For per call, as
  behind a reverse proxy serving a public form.

A benchmark, not a test: it asserts nothing. wrk comes from `apt-get install -y wrk`. Nothing leaves
127.0.0.1.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scheduler.serving import DEFAULT_THREADS, DEFAULT_WORKERS, gunicorn_args  # noqa: E402

ADMIN_PASSWORD = "bench-admin-pass-1"
USER_PASSWORD = "bench-user-pass-1"
SUBSCRIBERS = 25

READ_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = %s
"""
# Every call a new address and a new client: run id, wrk thread and a per-thread counter.
SUBSCRIBE_SCRIPT = """
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) run = tonumber(args[1]); n = 0 end
function request()
  n = n + 1
  local ip = string.format("10.%%d.%%d.%%d", run %% 250, (tid * 64 + math.floor(n / 250)) %% 250, n %% 250 + 1)
  local body = string.format(%s, run, tid, n)
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded",
                                  ["X-Forwarded-For"] = ip}, body)
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(port: int, **params) -> tuple[dict, bytes]:
    data = urllib.parse.urlencode({**params, "ResponseFormat": "JSON"}).encode()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api.php", data=data, timeout=30) as answer:
        raw = answer.read()
    payload = json.loads(raw)
    if not payload.get("Success"):
        sys.exit(f"setup call {params.get('Command')} failed: {payload}")
    return payload, raw


def wait_for(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server on port {port} exited with {process.returncode}")
        try:
            # An HTTP answer, not just a connection: gunicorn listens before its workers have imported
            # the app, and a wrk run started then measured the import.
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"server on port {port} did not start")


def serve(env: dict, app: str, pythonpath: Path | None = None) -> tuple[int, subprocess.Popen]:
    """gunicorn with the arguments `sendmill serve` uses; only the WSGI app differs."""
    port = free_port()
    args = gunicorn_args(f"127.0.0.1:{port}", workers=DEFAULT_WORKERS, threads=DEFAULT_THREADS,
                         project_root=ROOT, data_dir=Path(env["SENDMILL_DATA_DIR"]))
    if app == "wsgi:app":
        # The real side is started exactly as an operator starts it.
        command = [sys.executable, "-m", "scheduler", "serve", "--bind", f"127.0.0.1:{port}"]
    else:
        command = [sys.executable, *args[:-1], "--pythonpath", str(pythonpath), app]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(port, process)
    return port, process


def prepare(env: dict) -> dict:
    for argv in (["init-db"], ["create-admin", "--username", "admin", "--password", ADMIN_PASSWORD]):
        subprocess.run([sys.executable, "-m", "scheduler", *argv], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    return env


def populate(port: int) -> dict:
    admin = call(port, Command="Admin.Login", Username="admin", Password=ADMIN_PASSWORD)[0]["SessionID"]
    group = call(port, Command="UserGroups.Get", SessionID=admin)[0]["UserGroups"][0]["UserGroupID"]
    call(port, Command="User.Create", SessionID=admin, RelUserGroupID=group, Username="bench",
         Password=USER_PASSWORD, EmailAddress="bench@example.com", FirstName="Bench", LastName="Mark",
         TimeZone="Europe/Berlin", Language="en")
    session = call(port, Command="User.Login", Username="bench", Password=USER_PASSWORD)[0]["SessionID"]
    list_id = call(port, Command="List.Create", SessionID=session, SubscriberListName="Bench")[0]["ListID"]
    form_list = call(port, Command="List.Create", SessionID=session, SubscriberListName="Form")[0]["ListID"]
    for i in range(SUBSCRIBERS):
        call(port, Command="Subscriber.Subscribe", SessionID=session, ListID=list_id,
             EmailAddress=f"reader{i}@example.org", IPAddress="127.0.0.1")
    campaign = call(port, Command="Campaign.Create", SessionID=session, CampaignName="Bench")[0]["CampaignID"]
    key = call(port, Command="User.APIKey.Create", SessionID=session, Note="bench")[0]
    api_key = key["APIKey"]["APIKey"]
    return {"session": session, "api_key": api_key, "list": list_id, "form_list": form_list,
            "campaign": campaign}


def cases(data: dict) -> list[tuple[str, dict]]:
    return [
        ("Campaign.Get (session)", {"Command": "Campaign.Get", "SessionID": data["session"],
                                    "CampaignID": data["campaign"]}),
        ("Campaign.Get (API key)", {"Command": "Campaign.Get", "APIKey": data["api_key"],
                                    "CampaignID": data["campaign"]}),
        ("Subscribers.Get (25 rows)", {"Command": "Subscribers.Get", "SessionID": data["session"],
                                       "SubscriberListID": data["list"], "SubscriberSegment": "Active",
                                       "RecordsPerRequest": SUBSCRIBERS}),
        ("Subscriber.Subscribe (public)", {"Command": "Subscriber.Subscribe", "ListID": data["form_list"],
                                           "IPAddress": "127.0.0.1"}),
    ]


def wrk(url: str, script: str, seconds: int, connections: int, run: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
                              "-s", handle.name, url, "--", str(run)],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(handle.name)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors or "Socket errors" in out:
        print(f"    wrk reported errors: {out.strip().splitlines()[-3:]}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def lua(value: str) -> str:
    return json.dumps(value)  # a JSON string of ASCII is a valid Lua string literal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database-url", help="PostgreSQL or MariaDB database to use (it is wiped)")
    parser.add_argument("--only", help="run only the cases whose name contains this text")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install -y wrk")

    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "SENDMILL_DATA_DIR": scratch, "SENDMILL_TRUSTED_PROXIES": "127.0.0.1",
               "SENDMILL_DATABASE_URL": args.database_url or f"sqlite:///{scratch}/sendmill.db"}
        if args.database_url:
            wipe(args.database_url)
        prepare(env)
        port, server = serve(env, "wsgi:app")
        bare = None
        try:
            data = populate(port)
            print(f"database: {env['SENDMILL_DATABASE_URL'].split('://')[0]}; gunicorn --workers "
                  f"{DEFAULT_WORKERS} --threads {DEFAULT_THREADS} (gthread) both sides; wrk -t2 "
                  f"-c{args.connections} -d{args.seconds}s; {os.cpu_count()} CPUs")
            run = 0
            for name, params in cases(data):
                if args.only and args.only.lower() not in name.lower():
                    continue
                subscribe = params["Command"] == "Subscriber.Subscribe"
                sample = dict(params, EmailAddress="sample@example.org") if subscribe else params
                body = call(port, **sample)[1]
                body_file = Path(scratch) / "bare-body.json"
                body_file.write_bytes(body)
                bare_env = {**env, "BENCH_BARE_BODY": str(body_file),
                            "BENCH_BARE_LIST_ID": str(data["form_list"] if subscribe else 0)}
                if bare is not None:
                    bare[1].terminate()
                    bare[1].wait()
                bare = serve(bare_env, "bare_app:app", ROOT / "bench")
                form = urllib.parse.urlencode({**params, "ResponseFormat": "JSON"})
                if subscribe:
                    script = SUBSCRIBE_SCRIPT % lua(form + "&EmailAddress=r%d-t%d-n%d%%40example.org")
                else:
                    script = READ_SCRIPT % lua(form)
                bare_path = "/subscribe" if subscribe else "/read"
                print(f"{name}: answer {len(body)} bytes")
                ratios = []
                for _ in range(args.pairs):
                    run += 1
                    ours = wrk(f"http://127.0.0.1:{port}/api.php", script, args.seconds, args.connections, run)
                    run += 1
                    theirs = wrk(f"http://127.0.0.1:{bare[0]}{bare_path}", script, args.seconds,
                                 args.connections, run)
                    ratios.append(ours / theirs)
                    print(f"  sendmill {ours:8.0f} req/s   bare flask {theirs:8.0f} req/s   ratio {ours / theirs:.2f}")
                print(f"  median ratio {statistics.median(ratios):.2f}")
        finally:
            for process in (server, bare[1] if bare else None):
                if process is not None:
                    process.terminate()
                    process.wait()


def wipe(url: str) -> None:
    from engine.db import Base, make_sa_engine
    import engine.models  # noqa: F401 - registers every table
    from sqlalchemy import text

    db = make_sa_engine(url)
    with db.begin() as conn:
        if db.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.dispose()


if __name__ == "__main__":
    main()
