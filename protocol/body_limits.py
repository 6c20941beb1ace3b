"""Request bodies are read here, completely and within bounds, before Flask sees them.

* Size: a body over its cap (protocol.limits: MAX_BODY_BYTES, or MAX_UPLOAD_BYTES for multipart
  uploads) is answered 413; a declared Content-Length is checked before a byte is read, a chunked
  body as it arrives.
* Time: the body must arrive within BODY_SECONDS, plus one second for every MIN_BODY_RATE bytes
  received (Apache mod_reqtimeout's "body=…,MinRate=…" rule: big uploads on honest links finish, a
  client trickling a byte a second does not). Otherwise the answer is 408. Under gunicorn a watchdog
  shuts the reading side of the client's socket when the time is up, so even a read that is
  blocked waiting for the next byte returns at once and the thread is free again.

The application then reads the complete body from a spooled file (in memory up to 1 MB, on disk
beyond), so it never sees half a body. Refusals speak the surface's language: /api.php answers the
legacy hard-failure envelope (codes 100007 and 100008), everything else the modern error body.
"""
from __future__ import annotations

import json
import socket
import tempfile
import threading
import time
from typing import Callable

from werkzeug.wsgi import ClosingIterator

from protocol.dispatch import REQUEST_TIMEOUT, REQUEST_TOO_LARGE, hard_failure
from protocol.limits import BODY_SECONDS, MAX_BODY_BYTES, MAX_UPLOAD_BYTES, MIN_BODY_RATE
from protocol.rest.core import error_body

SPOOL_IN_MEMORY = 1024 * 1024
CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


def start_timer(delay: float, action: Callable[[], None]):
    """The watchdog's clock: run `action` after `delay` seconds unless cancelled (tests inject their own)."""
    timer = threading.Timer(delay, action)
    timer.daemon = True
    timer.start()
    return timer


class Progress:
    """What the reading thread has received; the watchdog decides from it whether time is up."""

    def __init__(self, started: float):
        self.started = started
        self.received = 0
        self.finished = False
        self.cut = False

    def due(self) -> float:
        return self.started + BODY_SECONDS + self.received / MIN_BODY_RATE


class Watchdog:
    """Shuts the socket's reading side when the body is late; re-arms itself while it keeps coming."""

    def __init__(self, sock, progress: Progress, clock: Callable[[], float], timers: Callable):
        self.sock, self.progress, self.clock, self.timers = sock, progress, clock, timers
        self.lock = threading.Lock()
        self.timer = timers(max(0.0, progress.due() - clock()), self.check)

    def check(self) -> None:
        with self.lock:
            if self.progress.finished:
                return
            remaining = self.progress.due() - self.clock()
            if remaining > 0:
                self.timer = self.timers(remaining, self.check)
                return
            self.progress.cut = True
        try:
            self.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass  # already closed by the client: the blocked read returns anyway

    def stop(self) -> None:
        with self.lock:
            self.progress.finished = True
            self.timer.cancel()


class BodyLimits:
    """WSGI middleware around the Flask app (see the module docstring)."""

    def __init__(self, app, *, clock: Callable[[], float] = time.monotonic, timers: Callable = start_timer):
        self.app, self.clock, self.timers = app, clock, timers

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        length = _content_length(environ)
        if not chunked and not length:
            return self.app(environ, start_response)
        multipart = environ.get("CONTENT_TYPE", "").lower().startswith("multipart/")
        limit = MAX_UPLOAD_BYTES if multipart else MAX_BODY_BYTES
        try:
            if length is not None and length > limit:
                raise BodyTooLarge()
            body, size = self._read(environ, None if chunked else length, limit)
        except BodyTooLarge:
            return _refuse(environ, start_response, 413, f"The request body is larger than {limit} bytes.")
        except BodyTooSlow:
            return _refuse(environ, start_response, 408, "The request body did not arrive in time (at least "
                           f"{MIN_BODY_RATE} bytes a second after the first {BODY_SECONDS:g} seconds).")
        environ["wsgi.input"] = body
        environ["CONTENT_LENGTH"] = str(size)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = True
        return ClosingIterator(self.app(environ, start_response), body.close)

    def _read(self, environ, length: int | None, limit: int):
        stream = environ["wsgi.input"]
        progress = Progress(self.clock())
        sock = environ.get("gunicorn.socket")
        # HTTP/2 multiplexes streams over one socket: cutting it would end every other request too.
        watchdog = Watchdog(sock, progress, self.clock, self.timers) \
            if sock is not None and environ.get("SERVER_PROTOCOL", "").startswith("HTTP/1") else None
        body = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        try:
            self._copy(stream, body, progress, length if length is not None else limit + 1)
            if progress.received > limit:
                raise BodyTooLarge()
            # A body that is all there counts even if the watchdog fired at the same moment.
            if progress.received < length if length is not None else progress.cut:
                raise BodyTooSlow()
        except BaseException:
            body.close()
            raise
        finally:
            if watchdog is not None:
                watchdog.stop()
        body.seek(0)
        return body, progress.received

    def _copy(self, stream, body, progress: Progress, wanted: int) -> None:
        try:
            while progress.received < wanted:
                chunk = stream.read(min(CHUNK, wanted - progress.received))
                if not chunk:
                    return
                body.write(chunk)
                progress.received += len(chunk)
                if self.clock() > progress.due():
                    raise BodyTooSlow()
        except OSError:
            # The watchdog's cut or a client that went away: the body is incomplete either way.
            # (A malformed chunked body raises gunicorn's own errors, which it answers with 400.)
            raise BodyTooSlow() from None


def _content_length(environ) -> int | None:
    text = environ.get("CONTENT_LENGTH", "").strip()
    return int(text) if text.isdigit() else None


def _refuse(environ, start_response, status: int, message: str):
    path = environ.get("PATH_INFO", "")
    if path == "/api.php" or path.startswith("/api.php/"):
        code = REQUEST_TOO_LARGE if status == 413 else REQUEST_TIMEOUT
        payload = hard_failure(code, message).payload
    else:
        payload = error_body(status, "PAYLOAD_TOO_LARGE" if status == 413 else "DEADLINE_EXCEEDED", message)
    raw = json.dumps(payload).encode("utf-8")
    reason = "Request Entity Too Large" if status == 413 else "Request Timeout"
    # No "Connection: close" (WSGI forbids hop-by-hop headers): gunicorn closes the connection itself
    # when the unread rest of a refused body is more than it is willing to drain.
    start_response(f"{status} {reason}", [("Content-Type", "application/json; charset=utf-8"),
                                          ("Content-Length", str(len(raw)))])
    return [raw]
