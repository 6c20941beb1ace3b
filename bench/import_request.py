"""Subscribers.Import of a large file: the request's time against the background import's.

    .venv/bin/python bench/import_request.py [--rows 50000] [--database-url URL]

Builds a scratch SQLite database (unless `--database-url` names an empty PostgreSQL or MariaDB database),
a user and a list, then times one Subscribers.Import call through the Flask app with a CSV of `--rows`
rows (it stores the upload and answers an ImportID; nothing is imported yet) and then the worker's pass
that imports it (engine/audience/import_runner.py), and prints both and their ratio. The request's time
should stay well under a second whatever `--rows`: only the upload is written. A benchmark, not a test:
it asserts nothing.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.one_list import one_list  # noqa: E402
from engine.audience.import_runner import run_import_jobs  # noqa: E402
from protocol.app import create_app  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    setup = one_list(args.database_url, base_url="http://bench.test")
    engine, list_id = setup.engine, setup.list_id
    client = create_app(engine).test_client()
    session = client.post("/api.php", data={"Command": "User.Login", "Username": "bench",
                                            "Password": "bench-pass-1"}).get_json()["SessionID"]
    data = "EmailAddress,City\n" + "".join(f"user{i}@example.com,Town {i % 97}\n" for i in range(args.rows))

    started = time.perf_counter()
    answer = client.post("/api.php", data={"Command": "Subscribers.Import", "SessionID": session,
                                           "ListID": str(list_id), "ImportData": data}).get_json()
    request_seconds = time.perf_counter() - started
    started = time.perf_counter()
    summary = run_import_jobs(engine, budget_seconds=3600)
    import_seconds = time.perf_counter() - started

    print(f"{args.rows} rows, {len(data) / 1e6:.1f} MB; answer: ImportID {answer.get('ImportID')}, "
          f"status {answer.get('ImportStatus', 'imported in the request')}")
    print(f"request (upload stored):      {request_seconds:8.3f} s")
    print(f"worker pass (rows imported):  {import_seconds:8.3f} s  ({summary.rows} rows, {summary.finished} job)")
    print(f"request / import:             {request_seconds / import_seconds:8.3f}")


if __name__ == "__main__":
    main()
