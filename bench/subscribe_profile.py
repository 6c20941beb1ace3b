"""Where a public Subscriber.Subscribe spends its statements and CPU, in process, against the bare INSERT.

    .venv/bin/python bench/subscribe_profile.py [--calls 300] [--pairs 5] [--database-url URL] [--statements]
                                                [--profile N] [--sort cumulative|tottime] [--gc-freeze]

One account with one list (bench/one_list.py; no custom fields, no automations, single opt-in) served by
`create_app` through Flask's test client, as bench/api.py's public case calls it over HTTP: no credentials,
a new address and, through X-Forwarded-For from a trusted proxy, a new client address per call, so the
public rate limit (60/60) counts every call. The bare side is a Flask app in the same process whose one
route runs bench/bare_app.py's single INSERT through the same SQLAlchemy engine and answers fixed bytes.

For each pair, back to back: `--calls` calls of each side; it prints the statements per call and the CPU
seconds per call (time.process_time) of both sides, their ratio, and the median. Statements are counted
by a before_cursor_execute listener and, for the prebuilt statements that run on the driver's cursor past
it (engine/hot_sql.py), where they are fetched; `--statements` prints one call's. `--profile N` also
prints cProfile's top N functions of one more run of Sendmill's side. SQLite in a scratch folder unless `--database-url` names an empty database. A benchmark, not a test:
it asserts nothing.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import itertools
import pstats
import statistics
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask, Response, request  # noqa: E402
from sqlalchemy import event, insert  # noqa: E402

from bench.one_list import one_list  # noqa: E402
from engine.accounts.ratelimits import RateLimit  # noqa: E402
from engine.hot_sql import HotStatement  # noqa: E402
from engine.models import Subscriber  # noqa: E402
from protocol.app import create_app  # noqa: E402

_addresses = itertools.count(1)


def bare_app(db, list_id: int, body: bytes) -> Flask:
    """bench/bare_app.py's /subscribe, on this process's engine."""
    app = Flask("bare")

    @app.route("/subscribe", methods=["POST"])
    def subscribe():
        email = f"bare-{next(_addresses)}@example.org"
        with db.begin() as conn:
            conn.execute(insert(Subscriber).values(
                list_id=list_id, email_address=email, email_normalized=email,
                subscription_date=datetime.now(timezone.utc), subscription_ip=request.remote_addr or ""))
        return Response(body, mimetype="application/json")

    return app


def calls(client, path: str, list_id: int, count: int, tag: str) -> None:
    for _ in range(count):
        n = next(_addresses)
        client.post(path, data={"Command": "Subscriber.Subscribe", "ResponseFormat": "JSON", "ListID": list_id,
                                "IPAddress": "127.0.0.1", "EmailAddress": f"{tag}{n}@example.org"},
                    headers={"X-Forwarded-For": f"10.{n // 62500 % 250}.{n // 250 % 250}.{n % 250 + 1}"},
                    environ_base={"REMOTE_ADDR": "127.0.0.1"})


def side(client, path, list_id, count, tag, counter) -> tuple[float, float]:
    """(CPU seconds per call, statements per call)."""
    before, started = counter[0], time.process_time()
    calls(client, path, list_id, count, tag)
    return (time.process_time() - started) / count, (counter[0] - before) / count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--database-url")
    parser.add_argument("--profile", type=int, default=0, help="print cProfile's top N of one more run")
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after the warm-up calls")
    parser.add_argument("--sort", default="cumulative", help="cProfile order (cumulative, tottime)")
    parser.add_argument("--statements", action="store_true", help="print one call's statements")
    args = parser.parse_args()
    setup = one_list(args.database_url, public_rate_limit=RateLimit(60, 60), trusted_proxies=("127.0.0.1/32",))
    ours = create_app(setup.engine).test_client()
    answer = ours.post("/api.php", data={"Command": "Subscriber.Subscribe", "ResponseFormat": "JSON",
                                         "ListID": setup.list_id, "IPAddress": "127.0.0.1",
                                         "EmailAddress": "sample@example.org"})
    if not answer.get_json().get("Success"):
        sys.exit(f"the sample subscription failed: {answer.get_json()}")
    bare = bare_app(setup.db, setup.list_id, answer.data).test_client()
    counter, seen = [0], Counter()

    def count(conn, cursor, statement, parameters, context, executemany):
        counter[0] += 1
        if args.statements:
            seen[statement.split("\n")[0][:140]] += 1

    event.listen(setup.db, "before_cursor_execute", count)
    # Prebuilt statements run on the driver's cursor, past SQLAlchemy's cursor events: count them here.
    fetch = HotStatement._fetch

    def counted_fetch(self, conn, params):
        count(conn, None, self.bound(conn.dialect, params)[0], None, None, False)
        return fetch(self, conn, params)

    HotStatement._fetch = counted_fetch
    calls(ours, "/api.php", setup.list_id, 20, "warm")   # compile caches, pool, first window purge
    calls(bare, "/subscribe", setup.list_id, 20, "warm")
    if args.gc_freeze:
        gc.collect()
        gc.freeze()
    if args.statements:
        seen.clear()
        calls(ours, "/api.php", setup.list_id, 1, "shown")
        for statement, times in seen.items():
            print(f"  {times} × {statement}")
    ratios = []
    for pair in range(args.pairs):
        our_cpu, our_statements = side(ours, "/api.php", setup.list_id, args.calls, f"p{pair}-", counter)
        bare_cpu, bare_statements = side(bare, "/subscribe", setup.list_id, args.calls, f"b{pair}-", counter)
        ratios.append(bare_cpu / our_cpu)
        print(f"pair {pair + 1}: sendmill {our_cpu * 1e6:7.0f} µs CPU/call ({our_statements:.1f} statements), "
              f"bare {bare_cpu * 1e6:6.0f} µs CPU/call ({bare_statements:.1f} statements), "
              f"bare/sendmill {bare_cpu / our_cpu:.2f}")
    print(f"median CPU ratio (bare / sendmill) over {args.pairs} pairs of {args.calls} calls: "
          f"{statistics.median(ratios):.2f}")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        calls(ours, "/api.php", setup.list_id, args.calls, "prof")
        profiler.disable()
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.profile)
    setup.db.dispose()


if __name__ == "__main__":
    main()
