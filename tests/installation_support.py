"""Helpers for tests of a whole installation: a fresh database per backend (not the suite's shared one,
whose schema comes from create_all rather than init-db) and `sendmill` run as its own process, from any
directory, with an environment that holds no SENDMILL_* variable unless the test gives it."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import SERVER_URLS

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def fresh_database(backend: str, tmp_path: Path):
    """The URL of an empty database of `backend` (for SQLite: a file that does not exist yet)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh' / 'sendmill.db'}"
        return
    name = f"sendmill_i_{uuid.uuid4().hex[:10]}"
    server = create_engine(SERVER_URLS[backend], isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "server absent"
        server.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"{backend} is required in CI but unreachable: {exc}")
        pytest.skip(f"{backend} not reachable: {exc.__class__.__name__}")
    try:
        yield SERVER_URLS[backend].rsplit("/", 1)[0] + "/" + name
    finally:
        with server.connect() as conn:
            if backend == "postgresql":
                conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' "
                                  "AND pid <> pg_backend_pid()"))
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        server.dispose()


def process_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """This process's environment without SENDMILL_*, a home and per-user data folder under tmp_path,
    the worktree importable from any directory, plus `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENDMILL_")}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", HOME=str(tmp_path / "home"),
               XDG_DATA_HOME=str(tmp_path / "xdg"))
    env.update(variables)
    return env


def sendmill(*args: str, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run([sys.executable, "-m", "scheduler", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def assert_one_clear_line(result: subprocess.CompletedProcess, *phrases: str, status: int = 2) -> str:
    """The failure an operator should see: the status, one line on stderr with `phrases`, no traceback."""
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]
