"""A delivery round's ledger writes on PostgreSQL: step by step against pipelined, in one run.

    .venv/bin/python bench/ledger_round.py --database-url postgresql+psycopg://… [--round 100] [--rounds 20]
                                           [--pairs 5]

What a worker writes per round of `--round` messages (engine/delivery/runner.py): the hand-over marks of
the round, then, with the next round's marks, the round's outcomes (all sent here), each in one committed
transaction. Timed through engine/delivery/ledger.settle (BEGIN, each statement and COMMIT one after the
other: five round trips) and engine/delivery/ledger_pipeline.settle (one round trip), `--rounds` rounds per
sample, the two alternating, `--pairs` samples each; prints both per pair, their ratio and the median. The
rows are claimed untimed beforehand, as the worker claims them. The database is wiped (bench/send.py's
campaign: a ~5 KB personalised message to `--round × --rounds × 2 × --pairs` subscribers).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.orm import Session  # noqa: E402

from engine.db import make_sa_engine  # noqa: E402
from engine.delivery import ledger, ledger_pipeline  # noqa: E402
from engine.delivery.claims import Claims  # noqa: E402
from send import prepare_campaign  # noqa: E402

BACKOFF = timedelta(minutes=1)


def timed_rounds(db, write, size: int, rounds: int) -> float:
    """Seconds spent in `write` for `rounds` rounds: each round's marks with the previous round's sends."""
    now = lambda: datetime.now(timezone.utc)  # noqa: E731
    claims = Claims("bench", size, timedelta(minutes=5), now)
    with db.connect() as conn, Session(bind=conn, expire_on_commit=False) as s:
        batches = [[row for row, _ in claims.next_batch(s)] for _ in range(rounds + 1)]
        spent, previous = 0.0, []
        for batch in batches:
            round_ = ledger.HandOver({row.id: row.subscriber_id for row in batch}, "<bench.", "@example.com>")
            sent = [ledger.Outcome(row.id, campaign, row.attempts, ledger.SENT) for row in previous]
            started = time.perf_counter()
            write(s, "bench", round_, sent, [], now(), BACKOFF)
            spent += time.perf_counter() - started
            previous = batch
    return spent


def main() -> None:
    global campaign
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--round", type=int, default=100, help="messages per round (a worker's concurrency)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql+psycopg"):
        parser.error("the pipelined writes are PostgreSQL's through psycopg 3: postgresql+psycopg://…")
    campaign = prepare_campaign(args.database_url, args.round * (args.rounds + 1) * 2 * args.pairs)
    db = make_sa_engine(args.database_url)
    ratios = []
    for pair in range(1, args.pairs + 1):
        steps = timed_rounds(db, ledger.settle, args.round, args.rounds)
        pipelined = timed_rounds(db, ledger_pipeline.settle, args.round, args.rounds)
        ratios.append(steps / pipelined)
        print(f"[{pair}] per round of {args.round}: step by step {steps / args.rounds * 1000:.2f} ms, "
              f"pipelined {pipelined / args.rounds * 1000:.2f} ms: {steps / pipelined:.2f}× faster", flush=True)
    print(f"pipelined vs step by step: median {statistics.median(ratios):.2f}× faster "
          f"({', '.join(f'{r:.2f}' for r in ratios)})")


campaign = 0
if __name__ == "__main__":
    main()
