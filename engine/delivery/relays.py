"""Relays from SENDMILL_SMTP_URL: where mail goes, how to log in, how many connections, how fast.

`parse_relays()` reads URLs separated by commas or whitespace, in order of preference, and refuses
anything it cannot use with a message naming the relay (by position, never with its password) and what
to fix.
"""
from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import parse_qsl, unquote, urlsplit

from engine.config import DEFAULT_SEND_CONCURRENCY
from engine.delivery.ratelimit import parse_rate

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
# As many as a worker keeps messages in flight by default: each message of a round gets a connection
# at once (a message waiting for one is not handed over, but the round takes longer).
DEFAULT_MAX_CONNECTIONS = DEFAULT_SEND_CONCURRENCY
MAX_CONNECTIONS_LIMIT = 100


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
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    rate: float | None = None         # messages per second, None = as fast as the relay accepts
    timeout: float = 60.0

    @cached_property
    def name(self) -> str:
        """The relay as a URL without its password: log lines, SendResult.relay and rate-limiter keys."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.username}@" if self.username else ""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{user}{host}:{self.port}"


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
        max_connections = int(options.get("max_connections", str(DEFAULT_MAX_CONNECTIONS)))
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
