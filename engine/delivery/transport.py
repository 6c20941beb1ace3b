"""SMTP delivery through one or more relays: pooled connections, reply classification, failover, throttling.

`SENDMILL_SMTP_URL` lists relays in order of preference; `parse_relays()` reads it. `SmtpPool.send()`
delivers one message to one recipient and always answers with a `SendResult`; SMTP and network
trouble never raise, because the runner must record an outcome for every claimed recipient.

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
"""
from __future__ import annotations

import ipaddress
import logging
import math
import re
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import parse_qsl, unquote, urlsplit

from engine.delivery.ratelimit import RateLimiter, parse_rate

log = logging.getLogger(__name__)

SENT, TEMPORARY, PERMANENT = "sent", "temporary", "permanent"
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
MAX_CONNECTIONS_LIMIT = 100
# Throttling replies beyond 421/451: enhanced status 4.7.x (policy, used for rate limits and greylisting),
# 4.3.2 (not accepting messages now) and the words relays use for "slow down". Not "try again later":
# every temporary reply says that, including a full or busy mailbox, which is no reason to slow a relay.
THROTTLING_TEXT = re.compile(r"\b4\.7\.\d{1,3}\b|\b4\.3\.2\b|\brate\b|ratelimit|throttl|too many|too fast|slow down",
                             re.IGNORECASE)


class RelayConfigError(ValueError):
    """SENDMILL_SMTP_URL cannot be used; the message names the relay and what to fix."""


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    implicit_tls: bool = False        # smtps://
    starttls: bool = False
    verify: bool = True               # verify the relay's certificate (verify=0 only for test relays)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    max_connections: int = 4
    rate: float | None = None         # messages per second, None = as fast as the relay accepts
    timeout: float = 60.0

    @property
    def name(self) -> str:
        """The relay as a URL without its password: log lines, SendResult.relay and rate-limiter keys."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.username}@" if self.username else ""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{user}{host}:{self.port}"


@dataclass(frozen=True)
class SendResult:
    status: str                       # SENT | TEMPORARY | PERMANENT
    code: int | None                  # the SMTP reply code, None when no reply was received
    text: str
    relay: str | None                 # Relay.name, None when no relay could be tried
    maybe_sent: bool = False          # the connection died after the message was transmitted


def parse_relays(text: str) -> list[Relay]:
    """Relays from SENDMILL_SMTP_URL: URLs separated by commas or whitespace, in order of preference."""
    entries = [entry for entry in re.split(r"[\s,]+", text or "") if entry]
    if not entries:
        raise RelayConfigError("SENDMILL_SMTP_URL is empty: give at least one relay, e.g. smtp://127.0.0.1:25")
    relays = [_parse_relay(entry, number) for number, entry in enumerate(entries, 1)]
    names = [relay.name for relay in relays]
    for name in names:
        if names.count(name) > 1:
            raise RelayConfigError(f"SENDMILL_SMTP_URL lists {name} twice")
    return relays


def _parse_relay(entry: str, number: int) -> Relay:
    shown = re.sub(r"(//[^/@:]*:)[^@/]*@", r"\1***@", entry)    # never echo a password into logs

    def fail(problem: str):
        raise RelayConfigError(f"SENDMILL_SMTP_URL relay {number} ({shown}): {problem}")

    parts = urlsplit(entry)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        fail("the scheme must be smtp:// or smtps://")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as e:
        fail(f"bad port ({e}); use a number from 1 to 65535")
    if not host:
        fail("the host is missing")
    if port == 0:
        fail("port 0 is not a port a relay can listen on")
    if parts.path not in ("", "/") or parts.fragment:
        fail("a relay URL has no path or #fragment; options go after '?'")
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if bool(username) != bool(password):
        fail("give both a user name and a password (user:pass@host), or neither")

    options: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in options:
            fail(f"option {key!r} is given twice")
        options[key] = value
    unknown = sorted(set(options) - {"starttls", "verify", "max_connections", "rate", "timeout"})
    if unknown:
        fail(f"unknown option {unknown[0]!r}; known: starttls, verify, max_connections, rate, timeout")

    def flag(key: str, default: bool) -> bool:
        value = options.get(key)
        if value is None:
            return default
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        fail(f"{key}={value!r} must be 1 or 0")

    starttls, verify = flag("starttls", False), flag("verify", True)
    if scheme == "smtps" and starttls:
        fail("smtps:// is TLS from the first byte; starttls=1 applies to smtp:// only")
    if username and scheme == "smtp" and not starttls and not _is_loopback(host):
        fail("a password would cross the network in clear text: use smtps:// or add ?starttls=1")
    try:
        max_connections = int(options.get("max_connections", "4"))
    except ValueError:
        max_connections = 0
    if not 1 <= max_connections <= MAX_CONNECTIONS_LIMIT:
        fail(f"max_connections must be a whole number from 1 to {MAX_CONNECTIONS_LIMIT}")
    try:
        rate = parse_rate(options["rate"]) if "rate" in options else None
    except ValueError as e:
        fail(str(e))
    try:
        timeout = float(options.get("timeout", "60"))
    except ValueError:
        timeout = math.nan
    if not (math.isfinite(timeout) and 0 < timeout <= 3600):
        fail("timeout must be more than 0 and at most 3600 seconds")
    return Relay(host=host, port=port or DEFAULT_PORTS[scheme], implicit_tls=scheme == "smtps",
                 starttls=starttls, verify=verify, username=username, password=password,
                 max_connections=max_connections, rate=rate, timeout=timeout)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_throttling(code: int, text: str) -> bool:
    """Does this reply ask us to send more slowly (rather than reject this particular message)?"""
    return code in (421, 451) or (400 <= code < 500 and bool(THROTTLING_TEXT.search(text)))


def classify(code: int) -> str:
    if 200 <= code < 300:
        return SENT
    return PERMANENT if 500 <= code < 600 else TEMPORARY


def data_payload(message: bytes) -> bytes:
    """The DATA section as sent: CRLF line ends, leading dots doubled (RFC 5321 §4.5.2), '.' terminator."""
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", message)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _address_problem(address: str, *, may_be_empty: bool) -> str | None:
    if not isinstance(address, str):
        return "the address is not a string"
    if address == "" and may_be_empty:
        return None    # the null reverse-path <>
    # Anything that could end or extend an SMTP command line is refused before it reaches the wire.
    if len(address) > 254 or re.search(r"[\s<>\x00-\x1f\x7f]", address):
        return f"invalid address {address!r}"
    local, at, domain = address.rpartition("@")
    if not (at and local and domain):
        return f"invalid address {address!r}"
    return None


class _RelayUnusable(Exception):
    pass


class _Connection:
    def __init__(self, smtp: smtplib.SMTP):
        self.smtp = smtp
        self.reused = False
        self.dirty = False            # a transaction stopped half-way: RSET before the next one
        self.idle_since = 0.0


@dataclass(frozen=True)
class _Outcome:
    result: SendResult
    keep: bool = True                 # return the connection to the pool
    retry: bool = False               # nothing can have been delivered: safe to try a fresh connection
    dirty: bool = False


class _RelayState:
    def __init__(self, relay: Relay):
        self.relay = relay
        self.cond = threading.Condition()
        self.idle: list[_Connection] = []
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

    # -- public ------------------------------------------------------------------------
    def send(self, envelope_from: str, recipient: str, message: bytes) -> SendResult:
        """Deliver `message` (bytes, CRLF) to one recipient; SMTP and network failures become results."""
        if not isinstance(message, (bytes, bytearray)):
            raise TypeError("message must be bytes")
        problem = _address_problem(envelope_from, may_be_empty=True) or _address_problem(recipient,
                                                                                        may_be_empty=False)
        if problem:
            return SendResult(PERMANENT, None, problem, None)
        domain = recipient.rpartition("@")[2].lower()
        self.domain_limiter.acquire(domain)
        payload = data_payload(bytes(message))
        for state in self._states:
            if self._is_down(state):
                continue
            self.relay_limiter.acquire(state.relay.name)
            result = self._send_via(state, envelope_from, recipient, payload, not message.isascii())
            if result is None:
                continue    # the relay just went down; try the next one
            self._adapt(state, domain, result)
            return result
        reasons = "; ".join(f"{s.relay.name}: {s.down_reason}" for s in self._states)
        return SendResult(TEMPORARY, None, f"no SMTP relay available ({reasons})", None)

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
                _quit(conn.smtp)

    def __enter__(self) -> "SmtpPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- one relay ---------------------------------------------------------------------
    def _send_via(self, state: _RelayState, sender: str, recipient: str, payload: bytes,
                  eight_bit: bool) -> SendResult | None:
        outcome = None
        for _attempt in range(2):
            try:
                conn = self._checkout(state)
            except _RelayUnusable:
                return None
            outcome = self._transaction(conn, state.relay, sender, recipient, payload, eight_bit)
            if outcome.keep:
                conn.dirty = outcome.dirty
                self._checkin(state, conn)
            else:
                self._discard(state, conn, polite=False)
            if not outcome.retry:
                break
        return outcome.result

    def _transaction(self, conn: _Connection, relay: Relay, sender: str, recipient: str, payload: bytes,
                     eight_bit: bool) -> _Outcome:
        smtp = conn.smtp

        def reply(code: int, text: bytes | str, *, dirty: bool) -> _Outcome:
            text = _text(text)
            result = SendResult(classify(code), code, text, relay.name)
            if code < 200:
                return _Outcome(SendResult(TEMPORARY, code, f"unexpected reply: {text}", relay.name), keep=False)
            if code == 421 and conn.reused and stage == "MAIL FROM":
                # The first word on a reused session: most likely the server timed the session out or
                # ended it after N messages. A fresh session tells whether it really wants us to slow down.
                return _Outcome(result, keep=False, retry=True)
            return _Outcome(result, keep=code != 421, dirty=dirty)

        options = []
        if smtp.has_extn("size"):
            options.append(f"SIZE={len(payload)}")
        if eight_bit:
            if not smtp.has_extn("8bitmime"):
                return _Outcome(SendResult(PERMANENT, None, "the message has 8-bit bytes and the relay does not "
                                           "offer 8BITMIME", relay.name))
            options.append("BODY=8BITMIME")
        if not (sender + recipient).isascii():
            if not smtp.has_extn("smtputf8"):
                return _Outcome(SendResult(PERMANENT, None, "the address is not ASCII and the relay does not "
                                           "offer SMTPUTF8", relay.name))
            options.append("SMTPUTF8")
        # RFC 5321 §4.1.1.4: the end of DATA clears the transaction, so RSET is only owed after a transaction
        # that stopped half-way. Skipping it after successes saves one round trip in five.
        stage = "RSET"
        try:
            if conn.dirty:
                code, text = smtp.rset()
                if code != 250:
                    return _Outcome(SendResult(TEMPORARY, code, _text(text), relay.name), keep=False, retry=True)
            # smtplib.mail() would set this itself; rset() puts it back to ascii.
            smtp.command_encoding = "utf-8" if "SMTPUTF8" in options else "ascii"
            stage = "MAIL FROM"
            # MAIL/RCPT are written by hand so the envelope goes out exactly as given (smtplib's
            # quoteaddr() re-parses addresses with email.utils and can rewrite them).
            mail_from = f"MAIL FROM:<{sender}>" + "".join(" " + o for o in options)
            if smtp.has_extn("pipelining"):
                # RFC 2920: MAIL, RCPT and DATA in one write, their three replies read in order: two round
                # trips per message instead of four.
                smtp.send(f"{mail_from}\r\nRCPT TO:<{recipient}>\r\nDATA\r\n")
                replies = [smtp.getreply() for _ in range(3)]
                (mail_code, mail_text), (rcpt_code, rcpt_text), (data_code, data_text) = replies
                if data_code == 354 and (mail_code != 250 or rcpt_code not in (250, 251)):
                    stage = "end of an empty message"     # a server that opened DATA anyway: close it empty
                    smtp.send(b".\r\n")
                    smtp.getreply()
                if mail_code != 250:
                    return reply(mail_code, mail_text, dirty=True)
                stage = "RCPT TO"
                if rcpt_code not in (250, 251):
                    return reply(rcpt_code, rcpt_text, dirty=True)
                stage = "DATA"
                if data_code != 354:
                    return reply(data_code, data_text, dirty=True)
            else:
                code, text = smtp.docmd(mail_from)
                if code != 250:
                    return reply(code, text, dirty=False)
                stage = "RCPT TO"
                code, text = smtp.docmd("RCPT", f"TO:<{recipient}>")
                if code not in (250, 251):
                    return reply(code, text, dirty=True)
                stage = "DATA"
                code, text = smtp.docmd("DATA")
                if code != 354:
                    return reply(code, text, dirty=True)
            stage = "message"
            smtp.send(payload)     # if this raises, the final "." never left: nothing can have been queued
            stage = "end of data"
            code, text = smtp.getreply()
            return reply(code, text, dirty=False)
        except (smtplib.SMTPException, OSError) as e:
            if stage == "end of data":
                text = f"connection lost waiting for the reply to the message; it may have been delivered ({e})"
                return _Outcome(SendResult(TEMPORARY, None, text, relay.name, maybe_sent=True), keep=False)
            text = f"connection lost during {stage} ({e})"
            return _Outcome(SendResult(TEMPORARY, None, text, relay.name), keep=False, retry=True)

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
        with state.cond:
            return self._clock() < state.down_until

    def _checkout(self, state: _RelayState) -> _Connection:
        while True:
            with state.cond:
                while True:
                    if self._closed:
                        raise RuntimeError("the SMTP pool is closed")
                    if self._clock() < state.down_until:
                        raise _RelayUnusable()
                    if state.idle:
                        conn = state.idle.pop()    # the most recently used is the least likely to be stale
                        break
                    if state.open < state.relay.max_connections:
                        state.open += 1
                        conn = None
                        break
                    state.cond.wait()
            if conn is None:
                return _Connection(self._connect(state))
            conn.reused = True
            # A session idle for a while may have been timed out by the server: probe it (as Postfix does
            # for its session cache) rather than spend a message's retry on finding out.
            if self._clock() - conn.idle_since < self.probe_idle:
                return conn
            if _usable(conn.smtp):
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
                throttled = is_throttling(e.smtp_code, _text(e.smtp_error))
                reason = f"{e.smtp_code} {_text(e.smtp_error)}"
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

    def _checkin(self, state: _RelayState, conn: _Connection) -> None:
        conn.idle_since = self._clock()
        with state.cond:
            if not self._closed:
                state.idle.append(conn)
                state.cond.notify()
                return
        self._discard(state, conn)

    def _discard(self, state: _RelayState, conn: _Connection, polite: bool = True) -> None:
        # A broken or closing connection gets no QUIT: waiting for its reply could take a whole timeout.
        if polite:
            _quit(conn.smtp)
        else:
            conn.smtp.close()
        with state.cond:
            state.open -= 1
            state.cond.notify()


def _usable(conn: smtplib.SMTP) -> bool:
    """RSET ends any half-done transaction and proves an idle session is still alive."""
    try:
        return conn.rset()[0] == 250
    except (smtplib.SMTPException, OSError):
        return False


def _quit(conn: smtplib.SMTP) -> None:
    try:
        if conn.sock is not None:
            conn.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        conn.close()


def _tls_context(relay: Relay) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not relay.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
