"""How `sendmill serve` runs gunicorn: every option decided in one place (README "Serving").

* Threaded workers (gthread): a worker's main loop accepts connections and waits for idle ones, and
  each request runs on one of its threads. A slow client costs a connection and, while its request
  is being read, one thread; the worker itself keeps answering. (Sync workers, gunicorn's default,
  spend a whole process on each connection: two clients trickling a body stopped the server.)
  How long a thread waits for a body is bounded by the application (protocol/body_limits.py).
* Request lines up to 8,190 bytes, Apache's limit: legacy clients GET /api.php with every
  parameter in the query string, and gunicorn's default of 4,094 answered 6 KB of them with an error.
* The heartbeat files in memory (/dev/shm) when there is one, else in the data folder, and no
  control socket: gunicorn 25.1+ otherwise opens one in $HOME/.gunicorn, which any process of
  the same user could use to stop or resize the server; Sendmill needs none.
"""
from __future__ import annotations

import os
from pathlib import Path

WORKER_CLASS = "gthread"
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 8
# Each request thread holds a database connection, and SQLAlchemy's pool keeps 5 + 10 overflow
# per process: more threads would wait for a connection instead of serving anyone.
MAX_THREADS = 15
REQUEST_LINE_BYTES = 8190
# A worker whose main loop is silent this long is restarted (with gthread this is not a request
# time limit: requests are bounded by the application's own limits).
WORKER_TIMEOUT_SECONDS = 30
# An idle kept-alive connection waits in the worker's poller (no thread) for this long.
KEEP_ALIVE_SECONDS = 5


def heartbeat_dir(data_dir: Path) -> Path:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm
    data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir


def gunicorn_args(bind: str, *, workers: int, threads: int, project_root: Path, data_dir: Path) -> list[str]:
    """The arguments after `python`: `-m gunicorn … wsgi:app`."""
    return ["-m", "gunicorn", "--bind", bind,
            "--workers", str(workers), "--worker-class", WORKER_CLASS, "--threads", str(threads),
            "--timeout", str(WORKER_TIMEOUT_SECONDS), "--keep-alive", str(KEEP_ALIVE_SECONDS),
            "--limit-request-line", str(REQUEST_LINE_BYTES),
            "--worker-tmp-dir", str(heartbeat_dir(data_dir)), "--no-control-socket",
            "--chdir", str(project_root), "--access-logfile", "-", "wsgi:app"]
