"""What tests/e2e/test_readme.py needs: the README's sections and shell blocks, and `sendmill up` as a live
server on a free loopback port (started the way an operator starts it, always stopped)."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.support import free_port
from tests.installation_support import ROOT

README = ROOT / "README.md"
RUNS_MARKER = "<!-- test: runs -->"
# A developer's pytest command (it rewrites committed files, so the suite does not run it): the test
# checks that pytest accepts it as written by collecting with it.
COLLECTS_MARKER = "<!-- test: collects -->"
# The one line of the first session the test changes: the server listens on a free port, not on 8080.
API_LINE = "API=http://127.0.0.1:8080/api.php"
SERVER_START_SECONDS = 90   # generous: the machine running the suite may be busy
SERVER_STOP_SECONDS = 30


def sections(text: str) -> dict[str, str]:
    """`## Title` -> the text up to the next `## ` heading (its `###` subsections included)."""
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2])}


@dataclass(frozen=True)
class ShellBlock:
    code: str
    runs: bool      # marked with RUNS_MARKER on the line before the fence
    collects: bool = False   # marked with COLLECTS_MARKER instead


def shell_blocks(text: str) -> list[ShellBlock]:
    markers = f"{re.escape(RUNS_MARKER)}|{re.escape(COLLECTS_MARKER)}"
    return [ShellBlock(match["code"], match["marker"] == RUNS_MARKER, match["marker"] == COLLECTS_MARKER)
            for match in re.finditer(rf"^(?:(?P<marker>{markers})\n)?```sh\n(?P<code>.*?)^```$",
                                     text, flags=re.MULTILINE | re.DOTALL)]


def require_curl() -> str:
    """The README's sessions call curl: CI must have it (.ci/run installs it); elsewhere its absence skips."""
    path = shutil.which("curl")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("curl is required in CI to run the README's sessions (.ci/run installs it with apt-get)")
        pytest.skip("curl is not installed: the README's sessions cannot run")
    return path


@dataclass
class LiveServer:
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/api.php"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def call(self, command: str, **params: str) -> dict:
        """One /api.php call over real HTTP (Python's own client, so no dependence on curl)."""
        from urllib.parse import urlencode
        from urllib.request import urlopen

        body = urlencode({"Command": command, **params}).encode()
        with urlopen(self.api, data=body, timeout=30) as answer:
            return json.loads(answer.read())


@contextmanager
def sendmill_up(cwd: Path, env: dict[str, str]):
    """`sendmill up --bind 127.0.0.1:PORT` as its own process group; waits until it accepts connections
    (bounded), and is stopped afterwards whatever happened: SIGTERM, then SIGKILL of its group."""
    port = free_port()
    cwd.mkdir(parents=True, exist_ok=True)
    log = cwd / "sendmill-up.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "scheduler", "up", "--bind", f"127.0.0.1:{port}"],
                                   cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = LiveServer(port, process, log)
    try:
        _wait_until_listening(server)
        yield server
    finally:
        _stop(process)


def _wait_until_listening(server: LiveServer) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"sendmill up exited with {server.process.returncode}:\n{server.output()}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"sendmill up did not listen within {SERVER_START_SECONDS} s:\n{server.output()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)             # gunicorn's master stops its workers and exits
    try:
        process.wait(timeout=SERVER_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)      # its own group (start_new_session): master and workers
        process.wait()
