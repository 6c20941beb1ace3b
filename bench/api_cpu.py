"""CPU time and database round trips of one /api.php call, in process, against the bare endpoint.

    .venv/bin/python bench/api_cpu.py [--calls 2000] [--pairs 3] [--database-url URL] [--only NAME]
                                      [--profile NAME]

The companion of bench/api.py for a shared machine: wrk's requests/s move with the other jobs' load, the
CPU seconds a call costs its own thread much less. It prepares a database as bench/api.py does (SQLite in a
scratch folder unless `--database-url` names a PostgreSQL or MariaDB database, which is wiped), builds the
real app and bench/bare_app.py's in this process, and for each read case runs `--calls` calls through
Flask's test client on each side, `--pairs` times alternating, timing `time.process_time` (this process's
CPU, the driver's included; the database server's not) and the wall clock. It prints both sides of every
pair, the ratio of the CPU per call, and the medians; then the statements one call sends to the driver
(each a round trip on a server database: BEGIN, COMMIT and ROLLBACK included, and the pool's pre-ping).
`--profile NAME` prints a cProfile of the first case whose name contains NAME instead.

A benchmark, not a test: it asserts nothing.
"""
from __future__ import annotations

import argparse
import cProfile
import importlib.util
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))
from api import ADMIN_PASSWORD, SUBSCRIBERS, USER_PASSWORD, cases, wipe  # noqa: E402


class Statements:
    """Every statement the driver is asked to send (the SQL's first words), on SQLite through its trace
    callback, on PostgreSQL by wrapping psycopg's cursor execution and its transaction commands."""

    def __init__(self, db):
        self.seen: list[str] = []
        self.active = False   # off while timing: only the counted call pays for the counting
        self._sqlite: list = []
        if db.dialect.name == "sqlite":
            from sqlalchemy import event

            event.listen(db, "connect", lambda dbapi_conn, _rec: self._sqlite.append(dbapi_conn))
        elif db.dialect.name == "postgresql":
            self._wrap_psycopg()

    def count(self, action) -> list[str]:
        self.seen.clear()
        self.active = True
        for conn in self._sqlite:
            conn.set_trace_callback(self._note)
        try:
            action()
        finally:
            self.active = False
            for conn in self._sqlite:
                conn.set_trace_callback(None)
        return list(self.seen)

    def _note(self, sql) -> None:
        if self.active:
            self.seen.append(" ".join(str(sql).split())[:60])

    def _wrap_psycopg(self) -> None:
        import psycopg
        from psycopg.connection import BaseConnection

        note = self._note
        execute = psycopg.Cursor.execute
        exec_command = BaseConnection._exec_command

        def counted_execute(cursor, query, params=None, **kwargs):
            note(query if isinstance(query, (str, bytes)) else query.as_string(cursor))
            return execute(cursor, query, params, **kwargs)

        def counted_command(conn, command, *args, **kwargs):
            note(command.decode() if isinstance(command, bytes) else command)
            return (yield from exec_command(conn, command, *args, **kwargs))

        psycopg.Cursor.execute = counted_execute
        BaseConnection._exec_command = counted_command


def call(client, **params):
    answer = client.post("/api.php", data={**params, "ResponseFormat": "JSON"}).get_json()
    if not answer.get("Success"):
        sys.exit(f"setup call {params.get('Command')} failed: {answer}")
    return answer


def populate(client) -> dict:
    admin = call(client, Command="Admin.Login", Username="admin", Password=ADMIN_PASSWORD)["SessionID"]
    group = call(client, Command="UserGroups.Get", SessionID=admin)["UserGroups"][0]["UserGroupID"]
    call(client, Command="User.Create", SessionID=admin, RelUserGroupID=group, Username="bench",
         Password=USER_PASSWORD, EmailAddress="bench@example.com", FirstName="Bench", LastName="Mark",
         TimeZone="Europe/Berlin", Language="en")
    session = call(client, Command="User.Login", Username="bench", Password=USER_PASSWORD)["SessionID"]
    list_id = call(client, Command="List.Create", SessionID=session, SubscriberListName="Bench")["ListID"]
    form_list = call(client, Command="List.Create", SessionID=session, SubscriberListName="Form")["ListID"]
    for i in range(SUBSCRIBERS):
        call(client, Command="Subscriber.Subscribe", SessionID=session, ListID=list_id,
             EmailAddress=f"reader{i}@example.org", IPAddress="127.0.0.1")
    campaign = call(client, Command="Campaign.Create", SessionID=session, CampaignName="Bench")["CampaignID"]
    key = call(client, Command="User.APIKey.Create", SessionID=session, Note="bench")["APIKey"]["APIKey"]
    return {"session": session, "api_key": key, "list": list_id, "form_list": form_list, "campaign": campaign}


def bare_client(body_file: Path):
    os.environ["BENCH_BARE_BODY"] = str(body_file)
    os.environ["BENCH_BARE_LIST_ID"] = "0"
    spec = importlib.util.spec_from_file_location(f"bare_app_{body_file.stem}", ROOT / "bench" / "bare_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app.test_client()


def timed(client, path: str, form: dict, calls: int) -> tuple[float, float]:
    """CPU and wall seconds per call."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        client.post(path, data=form)
    return (time.process_time() - cpu) / calls, (time.perf_counter() - wall) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--database-url", help="PostgreSQL or MariaDB database to use (it is wiped)")
    parser.add_argument("--only", help="run only the cases whose name contains this text")
    parser.add_argument("--profile", help="profile the first case whose name contains this text")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{scratch}/sendmill.db"
        os.environ.update(SENDMILL_DATA_DIR=scratch, SENDMILL_TRUSTED_PROXIES="127.0.0.1", SENDMILL_DATABASE_URL=url)
        if args.database_url:
            wipe(args.database_url)
        for argv in (["init-db"], ["create-admin", "--username", "admin", "--password", ADMIN_PASSWORD]):
            subprocess.run([sys.executable, "-m", "scheduler", *argv], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        from protocol.app import create_app

        app = create_app()
        db = app.extensions["sendmill.engine"].db
        statements = Statements(db)
        db.dispose()   # new connections, so that the statement counter sees them
        client = app.test_client()
        data = populate(client)
        print(f"database: {url.split('://')[0]}; {args.calls} calls per side and pair, Flask test client, "
              f"load average {open('/proc/loadavg').read().split()[:3]}")
        for name, params in cases(data):
            if params["Command"] == "Subscriber.Subscribe":
                continue   # bench/api.py measures it; its bare side writes, so CPU per call compares less
            wanted = args.profile or args.only
            if wanted and wanted.lower() not in name.lower():
                continue
            form = {**params, "ResponseFormat": "JSON"}
            body = client.post("/api.php", data=form).get_data()
            body_file = Path(scratch) / f"body{len(body)}.json"
            body_file.write_bytes(body)
            bare = bare_client(body_file)
            for _ in range(50):   # warm both sides: statement caches, schemas, pool
                client.post("/api.php", data=form)
                bare.post("/read", data=form)
            if args.profile:
                profile = cProfile.Profile()
                profile.enable()
                timed(client, "/api.php", form, args.calls)
                profile.disable()
                pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
                pstats.Stats(profile).sort_stats("tottime").print_stats(30)
                return
            ratios = []
            print(f"{name}: answer {len(body)} bytes")
            for _ in range(args.pairs):
                ours, ours_wall = timed(client, "/api.php", form, args.calls)
                theirs, theirs_wall = timed(bare, "/read", form, args.calls)
                ratios.append(theirs / ours)
                print(f"  sendmill {ours * 1e6:7.0f} µs CPU ({ours_wall * 1e6:7.0f} µs wall)   bare flask "
                      f"{theirs * 1e6:5.0f} µs CPU ({theirs_wall * 1e6:5.0f} µs wall)   bare/sendmill {theirs / ours:.2f}")
            print(f"  median bare/sendmill CPU per call {statistics.median(ratios):.2f}")
            seen = statements.count(lambda: client.post("/api.php", data=form))
            print(f"  statements of one call ({len(seen)}): " + " | ".join(seen))
        print(f"load average after: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
