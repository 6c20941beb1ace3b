"""protocol.body_limits: request bodies are read whole, within their size cap and in time.

The watchdog's timers and clock are injected: the tests fire the timer themselves after moving the
clock, so nothing here waits for real seconds. A real TCP connection on 127.0.0.1 stands in for
gunicorn's client socket, so a read blocked on a stalled client is really released by the cut.
"""
from __future__ import annotations

import io
import json
import socket
import threading

import pytest

from protocol.body_limits import BodyLimits, Progress, Watchdog
from protocol.limits import BODY_SECONDS, MAX_BODY_BYTES, MIN_BODY_RATE


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeTimers:
    """Records each armed timer; the test fires it."""

    def __init__(self):
        self.armed: list[tuple[float, object]] = []
        self.cancelled = 0
        self.changed = threading.Event()

    def __call__(self, delay, action):
        timers = self

        class Handle:
            def cancel(self):
                timers.cancelled += 1

        self.armed.append((delay, action))
        self.changed.set()
        return Handle()


class Answer:
    def __init__(self):
        self.status = None
        self.headers = None
        self.body = b""

    def start_response(self, status, headers):
        self.status, self.headers = status, dict(headers)

    def consume(self, iterable):
        self.body = b"".join(iterable)
        if hasattr(iterable, "close"):
            iterable.close()
        return self


def echo_app(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [json.dumps({"length": environ["CONTENT_LENGTH"], "read": len(body)}).encode(), body[:32]]


def environ_for(body: io.BytesIO, *, length: int | None, path="/api.php", chunked=False, content_type="") -> dict:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.input": body,
               "CONTENT_TYPE": content_type}
    if length is not None:
        environ["CONTENT_LENGTH"] = str(length)
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    return environ


def call(middleware, environ) -> Answer:
    answer = Answer()
    return answer.consume(middleware(environ, answer.start_response))


def test_a_complete_body_reaches_the_app_whole():
    answer = call(BodyLimits(echo_app), environ_for(io.BytesIO(b"Command=Campaigns.Get"), length=21))
    assert answer.status == "200 OK"
    assert answer.body == b'{"length": "21", "read": 21}Command=Campaigns.Get'


def test_a_chunked_body_is_read_to_its_end_and_gets_a_length():
    answer = call(BodyLimits(echo_app), environ_for(io.BytesIO(b"x" * 70_000), length=None, chunked=True))
    assert answer.body.startswith(b'{"length": "70000", "read": 70000}')


@pytest.mark.parametrize("path, expected", [
    ("/api.php", {"Success": False, "ErrorCode": 100007}),
    ("/email-marketing/v1/sender-details", {"code": "PAYLOAD_TOO_LARGE"}),
])
def test_a_chunked_body_over_the_cap_is_413_in_the_surface_s_language(path, expected):
    environ = environ_for(io.BytesIO(b"x" * (MAX_BODY_BYTES + 1)), length=None, chunked=True, path=path)
    answer = call(BodyLimits(echo_app), environ)
    assert answer.status.startswith("413 ") and answer.headers["Content-Type"] == "application/json; charset=utf-8"
    payload = json.loads(answer.body)
    found = payload if "Success" in payload else payload["details"]["applicationError"]
    assert {key: found[key] for key in expected} == expected


def test_a_body_that_ends_before_its_content_length_is_408_and_never_reaches_the_app():
    def app(environ, start_response):
        raise AssertionError("the app saw half a body")

    answer = call(BodyLimits(app), environ_for(io.BytesIO(b"Command=Camp"), length=500))
    assert answer.status.startswith("408 ")
    assert json.loads(answer.body)["ErrorCode"] == 100008


@pytest.fixture
def connection():
    """(server side, client side) of a real TCP connection on 127.0.0.1."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    listener.close()
    yield server, client
    server.close()
    client.close()


def test_a_stalled_body_is_cut_by_the_watchdog_and_the_thread_is_free_again(connection):
    server, client = connection
    clock, timers = FakeClock(), FakeTimers()
    environ = environ_for(server.makefile("rb"), length=1000)
    environ["gunicorn.socket"] = server
    answer = Answer()
    worker = threading.Thread(target=lambda: answer.consume(
        BodyLimits(echo_app, clock=clock, timers=timers)(environ, answer.start_response)))
    worker.start()
    assert timers.changed.wait(10)
    client.sendall(b"Command=Subscriber.Subscribe&ListID=")  # then nothing: the client stalls
    delay, fire = timers.armed[-1]
    assert delay == BODY_SECONDS
    clock.now += delay + 0.5
    fire()
    worker.join(10)
    assert not worker.is_alive(), "the read blocked on the stalled client was not released"
    assert answer.status.startswith("408 ")
    assert json.loads(answer.body)["ErrorCode"] == 100008


def test_the_watchdog_waits_longer_while_the_body_keeps_coming():
    class Sock:
        shut = False

        def shutdown(self, how):
            self.shut = True

    clock, timers, sock = FakeClock(), FakeTimers(), Sock()
    progress = Progress(clock())
    watchdog = Watchdog(sock, progress, clock, timers)
    clock.now += BODY_SECONDS + 1
    progress.received = 3 * MIN_BODY_RATE        # three seconds' worth at the minimum rate
    timers.armed[-1][1]()
    assert not sock.shut and timers.armed[-1][0] == pytest.approx(2.0)
    clock.now += 2.5                              # nothing more arrived
    timers.armed[-1][1]()
    assert sock.shut and progress.cut
    watchdog.stop()


def test_a_finished_body_stops_the_watchdog():
    clock, timers = FakeClock(), FakeTimers()
    progress = Progress(clock())
    watchdog = Watchdog(None, progress, clock, timers)
    watchdog.stop()
    clock.now += 3600
    timers.armed[-1][1]()                         # a timer that fires late does nothing
    assert timers.cancelled == 1 and not progress.cut
