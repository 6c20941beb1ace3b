"""`sendmill serve` as an operator runs it: a real gunicorn on a free loopback port, spoken to over raw
sockets the way slow and legacy clients do (issue item 6).

Nothing here sleeps to let time pass: every wait is for an answer on a socket, with generous bounds,
and the one fixed pause only gives the server the chance to take up the stalled connections.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from protocol.limits import BODY_SECONDS

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 120  # two workers importing the app on a loaded machine
PROMPT_SECONDS = 10    # far below the 30 s the stalled connections would otherwise hold a sync worker


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http(port: int, raw: bytes, timeout: float) -> bytes:
    """Send one request, return the whole answer (the server closes or the answer is complete)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(raw)
        return read_answer(conn)


def read_answer(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data or len(data) < answer_length(data):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def answer_length(data: bytes) -> int:
    head, _, _ = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(head) + 4 + int(line.split(b":")[1])
    return len(data) + 1


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    data = tmp_path_factory.mktemp("data")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env.update(HOME=str(home), SENDMILL_DATA_DIR=str(data), SENDMILL_SECRET_KEY="serve-test",
               SENDMILL_DATABASE_URL=f"sqlite:///{data / 'sendmill.db'}", PYTHONUNBUFFERED="1")
    log = open(data / "serve.log", "w")
    subprocess.run([sys.executable, "-m", "scheduler", "init-db"], cwd=ROOT, env=env, check=True,
                   stdout=log, stderr=subprocess.STDOUT, timeout=STARTUP_SECONDS)
    process = subprocess.Popen([sys.executable, "-m", "scheduler", "serve", "--bind", f"127.0.0.1:{port}"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            if b" 200 " in http(port, b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 5)[:20]:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("sendmill serve did not start:\n" + (data / "serve.log").read_text()[-3000:])
        time.sleep(0.2)  # polling for the server to come up, not waiting for time to pass
    yield port, home
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def test_a_6_kb_get_request_line_is_answered(server):
    port, _ = server
    target = "/api.php?Command=No.Such&Padding=" + "x" * 6000
    answer = http(port, f"GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode(), 30)
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 200 "), status[:200]
    assert json.loads(body)["ErrorCode"] == 100003


def test_clients_trickling_bodies_do_not_stop_the_server_and_are_cut_off_in_time(server):
    port, _ = server
    stalled = []
    for _ in range(2):
        conn = socket.create_connection(("127.0.0.1", port), timeout=BODY_SECONDS + 30)
        conn.sendall(b"POST /api.php HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 100000\r\n\r\nCommand=User.Login&Username=")
        stalled.append(conn)
    time.sleep(0.5)  # let the server take both up: with sync workers each would now hold a whole worker
    try:
        # (a socket timeout, and so a failure, if it is not answered within PROMPT_SECONDS)
        answer = http(port, b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", PROMPT_SECONDS)
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
        # The stalled bodies are refused once their time is up, freeing their threads.
        for conn in stalled:
            status, _, body = read_answer(conn).partition(b"\r\n\r\n")
            assert status.startswith(b"HTTP/1.1 408 "), status[:200]
            assert json.loads(body)["ErrorCode"] == 100008
    finally:
        for conn in stalled:
            conn.close()


def test_no_control_socket_is_left_in_the_home_folder(server):
    _, home = server
    assert not (home / ".gunicorn").exists()
