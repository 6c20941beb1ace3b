"""CPU seconds per message of one delivery worker and of its database server backends, for code trees side by side.

    .venv/bin/python bench/send_cpu.py [--messages 30000] [--pairs 3] [--database-url URL] [--tree DIR …]

On a shared machine the wall-clock rate of bench/send.py swings with the other jobs; the CPU one worker
spends per message, and the CPU its PostgreSQL backends spend (read from /proc while the worker runs: the
server must be on this machine), do not. For each pair, each `--tree` (default: this one; give two, e.g.
the main checkout and a branch, to compare them) sends a fresh campaign of `--messages` personalised,
tracked 5 KB messages (bench/send.py's) with one `sendmill worker --once` process from that tree, 100
connections to smtp-sink. It prints, per run, the worker's user+system CPU per message, the backends' CPU
per message, the wall-clock rate, the worker's peak memory and the load average; then the medians per tree
and the ratios of the medians against the first tree. A benchmark, not a test: it asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import send  # noqa: E402 - bench/send.py: the sink and the campaign


def backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL backend serving `database` (their titles name it)."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
            if not title.startswith(b"postgres: ") or f" {database} ".encode() not in title:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    return found


class BackendWatch:
    """Samples the backends while a worker runs (they exit with its connections), keeping each one's last figure."""

    def __init__(self, database: str | None):
        self.database, self.seen, self._stop = database, {}, threading.Event()
        self._start = backend_cpu(database) if database else {}
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.wait(0.2):
            self.seen.update(backend_cpu(self.database))

    def __enter__(self):
        if self.database:
            self._thread.start()
        return self

    def __exit__(self, *_exc):
        self._stop.set()
        if self.database:
            self._thread.join()

    def seconds(self) -> float:
        return sum(cpu - self._start.get(pid, 0.0) for pid, cpu in self.seen.items())


def one_run(tree: Path, database_url: str, port: int, scratch: str) -> dict:
    env = {**os.environ, "SENDMILL_DATABASE_URL": database_url, "SENDMILL_SECRET_KEY": send.SECRET,
           "SENDMILL_SMTP_URL": f"smtp://127.0.0.1:{port}?max_connections=100",
           "SENDMILL_BASE_URL": "https://mail.example.com", "SENDMILL_BOUNCE_DOMAIN": "bounces.example.com",
           "SENDMILL_SEND_CONCURRENCY": "100", "SENDMILL_DATA_DIR": scratch}
    database = database_url.rsplit("/", 1)[1].split("?")[0] if database_url.startswith("postgresql") else None
    started = time.perf_counter()
    # cwd = the tree: `-m scheduler` imports that tree's packages (the current directory comes first).
    with BackendWatch(database) as watch:
        process = subprocess.Popen([sys.executable, "-m", "scheduler", "worker", "--once", "--batch", "500"],
                                   cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    out, err = process.stdout.read(), process.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"worker in {tree} failed: {err[-2000:]}")
    sent = int(re.search(r"worker done \([^)]*\): (\d+) sent", out).group(1))
    peak = re.search(r"peak memory ([\d.]+) MB", out)
    return {"worker": (usage.ru_utime + usage.ru_stime) / sent * 1e6, "server": watch.seconds() / sent * 1e6,
            "rate": sent / wall, "peak": float(peak.group(1)) if peak else 0.0, "sent": sent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--database-url", default="", help="default: SQLite in a scratch folder")
    parser.add_argument("--tree", action="append", type=Path, help="a Sendmill checkout (repeatable)")
    args = parser.parse_args()
    trees = [t.resolve() for t in (args.tree or [send.ROOT])]
    scratch = tempfile.mkdtemp(prefix="sendmill-send-cpu-")
    sink = send.Sink()
    results: dict[Path, list[dict]] = {t: [] for t in trees}
    try:
        for pair in range(1, args.pairs + 1):
            for tree in trees:
                database_url = args.database_url or f"sqlite:///{scratch}/cpu.db"
                for old in Path(scratch).glob("cpu.db*"):
                    old.unlink()
                send.prepare_campaign(database_url, args.messages)
                run = one_run(tree, database_url, sink.port, scratch)
                results[tree].append(run)
                print(f"[{pair}] {tree}: {run['sent']:,} sent; worker {run['worker']:.0f} µs CPU per message, server "
                      f"backends {run['server']:.0f} µs; {run['rate']:,.0f} msg/s; peak {run['peak']:.1f} MB; load "
                      f"average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    finally:
        sink.close()
    first = None
    for tree, runs in results.items():
        medians = {key: statistics.median(r[key] for r in runs) for key in ("worker", "server", "rate")}
        first = first or medians
        print(f"{tree}: median worker {medians['worker']:.0f} µs/message "
              f"({', '.join('%.0f' % r['worker'] for r in runs)}), backends {medians['server']:.0f} µs/message, "
              f"{medians['rate']:,.0f} msg/s; against the first tree: worker "
              f"{medians['worker'] / first['worker']:.2f}, backends "
              f"{(medians['server'] / first['server']) if first['server'] else 0:.2f}")


if __name__ == "__main__":
    main()
