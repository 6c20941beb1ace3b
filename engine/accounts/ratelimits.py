"""Per-client rate limits of the public commands (protocol.md Part 1 §12), counted in the database.

Fixed windows: a client's requests to a bucket are counted per window of `seconds` seconds
(windows start at multiples of `seconds` since the epoch). The count is one upsert on the
(bucket, client, window) row, so gunicorn workers and hosts sharing the database count together
and two racing requests can never both take the last allowed slot. A window that is over is
dead weight: the first request of a client in a new window deletes every older window's rows.

The client is the address the request came from; an `X-Forwarded-For` header is believed only
when that address is one of the configured trusted proxies (protocol.md §8.1: a spoofable header
must not let a client pick its own rate-limit key).
"""
from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select

from engine.hot_sql import HotStatement
from engine.models import RateLimitCounter


@dataclass(frozen=True)
class RateLimit:
    requests: int  # allowed per window
    seconds: int   # window length


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int  # seconds until the window ends (meaningful when refused)
    opened_window: bool  # this request was the client's first in the window
    window_start: int = 0  # the window's start, in Unix seconds


def parse_rate_limit(text: str | None) -> RateLimit | None:
    """"60/60" = 60 requests per 60 seconds; "", "0" or "off" = no limit. ValueError otherwise."""
    value = (text or "").strip().lower()
    if value in ("", "0", "off", "none", "unlimited"):
        return None
    requests, sep, seconds = value.partition("/")
    try:
        limit = RateLimit(int(requests), int(seconds) if sep else 60)
    except ValueError:
        raise ValueError(f"rate limit {text!r}: write REQUESTS/SECONDS, e.g. 60/60") from None
    if limit.requests < 1 or limit.seconds < 1:
        raise ValueError(f"rate limit {text!r}: both numbers must be positive")
    return limit


def parse_networks(text: str | None) -> tuple[str, ...]:
    """Comma-separated addresses or CIDR networks ("10.0.0.1, 192.168.0.0/16"); ValueError on a bad one."""
    networks = []
    for part in (text or "").split(","):
        if part.strip():
            try:
                networks.append(str(ipaddress.ip_network(part.strip(), strict=False)))
            except ValueError:
                raise ValueError(f"trusted proxy {part.strip()!r} is not an IP address or network") from None
    return tuple(networks)


def client_ip(remote_addr: str, forwarded_for: str | None, trusted_proxies: tuple[str, ...]) -> str:
    """The client's address: the peer, or, when the peer is a trusted proxy, the right-most
    `X-Forwarded-For` entry that is not itself a trusted proxy. Entries left of it were written
    by the client and prove nothing."""
    if not trusted_proxies or not forwarded_for or not _trusted(remote_addr, trusted_proxies):
        return remote_addr
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _valid(hop):
            return remote_addr  # a garbled chain: fall back to what the socket says
        if not _trusted(hop, trusted_proxies):
            return str(ipaddress.ip_address(hop))
    return str(ipaddress.ip_address(hops[0])) if hops else remote_addr


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _trusted(address: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n) for n in networks)


class RateLimiter:
    """Counts requests in the unit of work's transaction; the caller commits it on its own, so a
    refused or failed command still counts."""

    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def hit(self, bucket: str, client: str, limit: RateLimit) -> Decision:
        """Count one request of `client` to `bucket` and say whether it is within `limit`."""
        now = self.uow.clock().timestamp()
        start = int(now // limit.seconds) * limit.seconds
        key = {"bucket": bucket[:64], "client": (client or "unknown")[:64], "window_start": start}
        dialect = self.s.get_bind().dialect.name
        if dialect in ("postgresql", "sqlite"):
            # The upsert answers the count it leaves (RETURNING): one statement per public call, not two,
            # prebuilt and run through the driver (engine/hot_sql.py) as every public call runs it.
            hits = _counting(dialect).read(self.s.connection(), key)[0][0]
        else:   # MariaDB's INSERT … ON DUPLICATE KEY UPDATE returns no row: read it back
            self.s.execute(_increment(dialect, key))
            hits = self.s.scalar(select(RateLimitCounter.hits).where(
                RateLimitCounter.bucket == key["bucket"], RateLimitCounter.client == key["client"],
                RateLimitCounter.window_start == start))
        retry_after = max(1, math.ceil(start + limit.seconds - now))
        return Decision(allowed=hits <= limit.requests, retry_after=retry_after, opened_window=hits == 1,
                        window_start=start)

    def purge_before(self, limit: RateLimit, *, bucket_prefix: str = "") -> int:
        """Delete the counters of windows that are over, of every client of the buckets named
        `bucket_prefix…` (all buckets by default). Buckets with longer windows need their own prefix:
        another limit's shorter window would call their running window over."""
        start = int(self.uow.clock().timestamp() // limit.seconds) * limit.seconds
        query = delete(RateLimitCounter).where(RateLimitCounter.window_start < start)
        if bucket_prefix:
            query = query.where(RateLimitCounter.bucket.startswith(bucket_prefix, autoescape=True))
        result = self.s.execute(query, execution_options={"synchronize_session": False})
        return result.rowcount or 0


_COUNTING: dict[str, HotStatement] = {}


def _counting(dialect: str) -> HotStatement:
    """The upsert of `_increment` returning the row's count, with its key as parameters (SQLite, PostgreSQL)."""
    statement = _COUNTING.get(dialect)
    if statement is None:
        key = {name: bindparam(name) for name in ("bucket", "client", "window_start")}
        statement = _COUNTING[dialect] = HotStatement(
            _increment(dialect, key).returning(RateLimitCounter.__table__.c.hits))
    return statement


def _increment(dialect: str, key: dict):
    # One atomic statement per dialect: INSERT the row with hits=1, or add 1 to the existing row.
    # A read-then-write would let two workers both see the last free slot.
    table = RateLimitCounter.__table__
    if dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        statement = mysql_insert(table).values(**key, hits=1)
        return statement.on_duplicate_key_update(hits=table.c.hits + 1)
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as pg_insert
    statement = pg_insert(table).values(**key, hits=1)
    return statement.on_conflict_do_update(index_elements=["bucket", "client", "window_start"],
                                           set_={"hits": table.c.hits + 1})
