"""What an account without automations saves on every subscription: users.list_triggers.

    .venv/bin/python bench/list_triggers.py [--pairs 5] [--subscribers 300] [--database-url URL]

One account with one list and no autoresponder or journey. For each pair, back to back, the script
subscribes `--subscribers` new addresses through the engine's subscription (one transaction each, as
Subscriber.Subscribe does) twice: with the account's flag as Sendmill keeps it (false: the automation
lookups are skipped) and with the flag forced true (the lookups run and find nothing, which is what
every subscription did before the flag). It prints the statements per subscription and the time of
both sides, their ratio per pair and the median ratio. SQLite in a scratch folder unless
`--database-url` names an empty database. A benchmark, not a test: it asserts nothing.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, update  # noqa: E402

from bench.one_list import one_list  # noqa: E402
from engine.models import User  # noqa: E402


def side(engine, list_id: int, prefix: str, count: int, counter: list) -> tuple[float, float]:
    """(seconds, statements per subscription) for `count` subscriptions."""
    before = counter[0]
    started = time.perf_counter()
    for n in range(count):
        with engine.uow() as uow:
            uow.subscribers.subscribe([list_id], f"{prefix}{n}@example.com", "192.0.2.1")
            uow.commit()
    return time.perf_counter() - started, (counter[0] - before) / count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--subscribers", type=int, default=300)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    setup = one_list(args.database_url)
    db, engine, owner_id, list_id = setup.db, setup.engine, setup.owner_id, setup.list_id
    counter = [0]
    event.listen(db, "before_cursor_execute", lambda *a: counter.__setitem__(0, counter[0] + 1))

    def flag(value: bool) -> None:
        with engine.uow() as uow:
            uow.session.execute(update(User).where(User.id == owner_id).values(list_triggers=value))
            uow.commit()

    ratios = []
    for pair in range(args.pairs):
        flag(True)
        looked, looked_statements = side(engine, list_id, f"old{pair}-", args.subscribers, counter)
        flag(False)
        skipped, skipped_statements = side(engine, list_id, f"new{pair}-", args.subscribers, counter)
        ratios.append(looked / skipped)
        print(f"pair {pair + 1}: lookups {looked:.3f} s ({looked_statements:.1f} statements/subscription), "
              f"skipped {skipped:.3f} s ({skipped_statements:.1f} statements/subscription), "
              f"ratio {looked / skipped:.3f}")
    print(f"median ratio (lookups / skipped) over {args.pairs} pairs of {args.subscribers} subscriptions: "
          f"{statistics.median(ratios):.3f}")
    db.dispose()


if __name__ == "__main__":
    main()
