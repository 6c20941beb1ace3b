"""SMTP delivery through one or more relays: pooled connections, reply classification, failover, throttling.

`SmtpPool.send_many()` delivers a round of messages, each to one recipient, on as many pooled
connections at once, from the calling thread (engine/delivery/smtp_wire.py drives the conversations on
one selector); `send()` is a round of one. Every message gets a `SendResult`: SMTP and network trouble
never raise, because the runner must record an outcome for every claimed recipient. `start_many()`
begins a round and lets the caller decide, message by message, once each holds a connection, whether it
goes on (engine/delivery/flight.py writes the hand-over mark in between).

* Connections are reused: the pool keeps up to `max_connections` per relay. RSET goes out after a
  transaction that stopped half-way, and as a liveness probe before reusing a session idle for more than
  `probe_idle` seconds (what Postfix does with its session cache); a 421 or a hang-up on the first command
  of a reused session is a stale session, not a verdict, so a server that times sessions out costs a
  reconnect, never a message.
* A connection lost before the message was transmitted is retried once on a fresh connection. Lost
  *after* the final "." was sent, the relay may already have queued the message, so the result is
  `temporary` with `maybe_sent=True` and is never retried here: the ledger prefers "unknown" to twice.
* A relay that cannot be connected to (refused, timeout, TLS or login failure, non-220 greeting) is
  marked down for `cooldown` seconds and the message moves on to the next relay.
* 421 and throttling 4xx replies halve the relay's rate (ratelimit.RateLimiter, AIMD) instead of failing
  the mail harder; the reply is still `temporary` so the runner retries that recipient later.

Sessions are opened with smtplib (greeting, EHLO, STARTTLS, AUTH: rare, and smtplib does them well);
the transactions then run on the session's socket in non-blocking mode
(engine/delivery/smtp_transaction.py: the dialogue of one message and what its replies mean).
"""
from __future__ import annotations

import logging
import math
import selectors
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Callable, Generator, Sequence

from engine.delivery.ratelimit import RateLimiter
from engine.delivery.relays import Relay, RelayConfigError
from engine.delivery.smtp_transaction import (
    PERMANENT, SENT, TEMPORARY, Envelope, RelaySession, SendResult, address_problem, announce, data_payload,
    is_throttling, mail_transaction, reply_text,
)
from engine.delivery.smtp_wire import HOLDING, Drive, Parked, Withdrawn

log = logging.getLogger(__name__)


class _RelayUnusable(Exception):
    pass


class _RelayState:
    def __init__(self, relay: Relay):
        self.relay = relay
        self.cond = threading.Condition()
        self.idle: list[RelaySession] = []
        self.open = 0                         # idle + checked out + being connected
        self.down_until = -math.inf
        self.down_reason = ""
        self.connections_opened = 0


class SmtpPool:
    """Thread-safe pool of SMTP connections over relays tried in order; see the module docstring."""

    def __init__(self, relays: list[Relay], *, helo: str | None = None, cooldown: float = 30.0,
                 probe_idle: float = 2.0, domain_limiter: RateLimiter | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if not relays:
            raise RelayConfigError("an SMTP pool needs at least one relay")
        self.helo = helo or socket.gethostname() or "localhost"   # not getfqdn(): that can hang on DNS
        self.cooldown = cooldown
        self.probe_idle = probe_idle
        self._clock = clock
        self._states = [_RelayState(relay) for relay in relays]
        self._closed = False
        self.relay_limiter = RateLimiter(clock=clock, sleep=sleep)
        for relay in relays:
            self.relay_limiter.set_rate(relay.name, relay.rate)
        self.domain_limiter = domain_limiter or RateLimiter(clock=clock, sleep=sleep)
        # One selector per sending thread: pooled connections stay registered between rounds.
        self._local = threading.local()
        self._selectors: list[selectors.BaseSelector] = []
        self._selectors_lock = threading.Lock()

    # -- public ------------------------------------------------------------------------
    def send(self, envelope_from: str, recipient: str, message: bytes) -> SendResult:
        """Deliver `message` (bytes, CRLF) to one recipient; SMTP and network failures become results."""
        return self.send_many([Envelope(envelope_from, recipient, message)])[0]

    def send_many(self, envelopes: Sequence[Envelope]) -> list[SendResult]:
        """Deliver each envelope, all at once on up to `max_connections` per relay; results in order."""
        return self.start_many(envelopes).wait()

    def start_many(self, envelopes: Sequence[Envelope]) -> Drive:
        """Begin delivering a round: `poll()` it while doing other work, `wait()` for its results.

        Each message first gets a connection, then holds it without writing a byte of the message (only its
        envelope, to a relay that pipelines: smtp_transaction.announce) until the caller lets it go (`Drive.holding()`, `proceed()`, `wait(on_hold)`); a message that would wait
        for a connection is parked meanwhile. A result is None for a message the caller withdrew."""
        for envelope in envelopes:
            if not isinstance(envelope.message, (bytes, bytearray)):
                raise TypeError("message must be bytes")
        return Drive([self._deliver(envelope) for envelope in envelopes], self._thread_selector())

    def _thread_selector(self) -> selectors.BaseSelector:
        selector = getattr(self._local, "selector", None)
        if selector is None:
            selector = self._local.selector = selectors.DefaultSelector()
            with self._selectors_lock:
                self._selectors.append(selector)
        return selector

    def status(self) -> list[dict]:
        """Per relay: connections open/idle, whether it is cooling down and why (for logs and tests)."""
        now = self._clock()
        rows = []
        for state in self._states:
            with state.cond:
                rows.append({"relay": state.relay.name, "open": state.open, "idle": len(state.idle),
                             "connections_opened": state.connections_opened,
                             "down": now < state.down_until, "down_reason": state.down_reason,
                             "rate": self.relay_limiter.rate(state.relay.name)})
        return rows

    def snapshot(self) -> dict:
        """Adapted rates of relays and domains, for the runner to persist across restarts."""
        return {"relays": self.relay_limiter.snapshot(), "domains": self.domain_limiter.snapshot()}

    def restore(self, state: dict) -> None:
        """Resume from a `snapshot()`; anything unreadable is ignored (it only means starting at full speed)."""
        if isinstance(state, dict):
            self.relay_limiter.restore(state.get("relays"))
            self.domain_limiter.restore(state.get("domains"))

    def close(self) -> None:
        """QUIT idle connections; those in use close when their send returns, sends still waiting raise."""
        self._closed = True
        for state in self._states:
            with state.cond:
                idle, state.idle = state.idle, []
                state.open -= len(idle)
                state.cond.notify_all()
            for conn in idle:
                conn.quit()
        with self._selectors_lock:
            spent, self._selectors = self._selectors, []
        for selector in spent:
            selector.close()

    def __enter__(self) -> "SmtpPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- one message ---------------------------------------------------------------------
    def _deliver(self, envelope: Envelope) -> Generator:
        sender, recipient, message = envelope.sender, envelope.recipient, envelope.message
        problem = address_problem(sender, may_be_empty=True) or address_problem(recipient, may_be_empty=False)
        if problem:
            return SendResult(PERMANENT, None, problem, None)
        domain = recipient.rpartition("@")[2].lower()
        self.domain_limiter.acquire(domain)
        outgoing = _Outgoing(sender, recipient, data_payload(bytes(message), envelope.wire_safe),
                             not message.isascii())
        try:
            for state in self._states:
                if self._is_down(state):
                    continue
                self.relay_limiter.acquire(state.relay.name)
                result = yield from self._send_via(state, outgoing)
                if result is None:
                    continue    # the relay just went down; try the next one
                self._adapt(state, domain, result)
                return result
        except Withdrawn:
            return None
        reasons = "; ".join(f"{s.relay.name}: {s.down_reason}" for s in self._states)
        return SendResult(TEMPORARY, None, f"no SMTP relay available ({reasons})", None)

    def _send_via(self, state: _RelayState, message: "_Outgoing") -> Generator:
        outcome = None
        for _attempt in range(2):
            try:
                conn = yield from self._checkout(state)
            except _RelayUnusable:
                return None
            announced = False
            if not message.let_go:
                # The caller's go-ahead (its hand-over mark is committed) once, before the first transaction.
                # Meanwhile the envelope goes ahead on a relay that pipelines: its replies come back while
                # the caller commits, and the go-ahead is followed by the message straight away.
                announced = announce(conn, message.sender, message.recipient, message.payload, message.eight_bit)
                try:
                    yield HOLDING
                except Withdrawn:
                    if announced:    # the relay waits for the message: hanging up is the way out that sends none
                        self._discard(state, conn, polite=False)
                    else:
                        self._checkin(state, conn)
                    raise
                message.let_go = True
            outcome = yield from mail_transaction(conn, state.relay.name, message.sender, message.recipient,
                                                  message.payload, message.eight_bit, announced)
            if outcome.keep:
                conn.dirty = outcome.dirty
                self._checkin(state, conn)
            else:
                self._discard(state, conn, polite=False)
            if not outcome.retry:
                break
        return outcome.result

    def _adapt(self, state: _RelayState, domain: str, result: SendResult) -> None:
        name = state.relay.name
        if result.status == SENT:
            self.relay_limiter.speed_up(name)
            self.domain_limiter.speed_up(domain)
        elif result.code is not None and is_throttling(result.code, result.text):
            rate = self.relay_limiter.slow_down(name)
            log.info("relay %s throttles (%s %s): rate now %.2f/s", name, result.code, result.text, rate)

    # -- connections -------------------------------------------------------------------
    def _is_down(self, state: _RelayState) -> bool:
        return self._clock() < state.down_until     # one float read: no lock needed

    def _checkout(self, state: _RelayState) -> Generator:
        while True:
            with state.cond:
                if self._closed:
                    raise RuntimeError("the SMTP pool is closed")
                if self._clock() < state.down_until:
                    raise _RelayUnusable()
                if state.idle:
                    conn = state.idle.pop()    # the most recently used is the least likely to be stale
                elif state.open < state.relay.max_connections:
                    state.open += 1
                    conn = None
                else:
                    conn = Parked(state.cond)
            if isinstance(conn, Parked):
                yield conn
                continue
            if conn is None:
                return RelaySession(self._connect(state), state.relay.timeout)
            conn.reused = True
            # A session idle for a while may have been timed out by the server: probe it (as Postfix does
            # for its session cache) rather than spend a message's retry on finding out.
            if self._clock() - conn.idle_since < self.probe_idle:
                return conn
            try:
                conn.wire.write(b"RSET\r\n")
                code, _text_ = yield from conn.wire.reply()
            except OSError:
                code = None
            if code == 250:
                conn.dirty = False
                return conn
            self._discard(state, conn, polite=False)

    def _connect(self, state: _RelayState) -> smtplib.SMTP:
        relay = state.relay
        throttled = False
        try:
            if relay.implicit_tls:
                smtp = smtplib.SMTP_SSL(relay.host, relay.port, local_hostname=self.helo, timeout=relay.timeout,
                                        context=_tls_context(relay))
            else:
                smtp = smtplib.SMTP(relay.host, relay.port, local_hostname=self.helo, timeout=relay.timeout)
            try:
                smtp.ehlo_or_helo_if_needed()
                if relay.starttls:
                    # Never fall back to clear text: a relay that stops offering TLS is treated as down.
                    smtp.starttls(context=_tls_context(relay))
                    smtp.ehlo()
                if relay.username:
                    smtp.login(relay.username, relay.password)
            except BaseException:
                smtp.close()
                raise
        except (smtplib.SMTPException, OSError) as e:
            if isinstance(e, smtplib.SMTPResponseException):
                throttled = is_throttling(e.smtp_code, reply_text(e.smtp_error))
                reason = f"{e.smtp_code} {reply_text(e.smtp_error)}"
            else:
                reason = f"{type(e).__name__}: {e}"
            with state.cond:
                state.open -= 1
                state.down_until = self._clock() + self.cooldown
                state.down_reason = reason
                state.cond.notify_all()
            log.warning("relay %s is down for %ss: %s", relay.name, self.cooldown, reason)
            if throttled:
                self.relay_limiter.slow_down(relay.name)
            raise _RelayUnusable() from e
        with state.cond:
            state.connections_opened += 1
        return smtp

    def _checkin(self, state: _RelayState, conn: RelaySession) -> None:
        conn.idle_since = self._clock()
        with state.cond:
            if not self._closed:
                state.idle.append(conn)
                state.cond.notify()
                return
        self._discard(state, conn)

    def _discard(self, state: _RelayState, conn: RelaySession, polite: bool = True) -> None:
        # A broken or closing connection gets no QUIT: waiting for its reply could take a whole timeout.
        if polite:
            conn.quit()
        else:
            conn.close()
        with state.cond:
            state.open -= 1
            state.cond.notify()


@dataclass
class _Outgoing:
    """One message on its way through `_deliver`."""

    sender: str
    recipient: str
    payload: bytes
    eight_bit: bool
    let_go: bool = False          # the caller let it go on a connection (HOLDING answered)


def _tls_context(relay: Relay) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not relay.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
