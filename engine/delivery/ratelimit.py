"""Token buckets per key (a relay, a recipient domain) that slow down when a server asks them to.

Callers *reserve* a token under a lock and then sleep outside it, so any number of worker threads can
share one limiter and each waits exactly its turn (a bucket may go into debt; the debt is the queue).

Rates adapt AIMD-style, as TCP does: `slow_down(key)` halves the rate when a relay answers 421 or a
throttling 4xx, and `speed_up(key)` adds the rate back linearly over `recovery` seconds of successful
sending. A key without a configured rate is unlimited until its first slow-down, which starts from half
the rate actually observed, since halving "unlimited" would change nothing.

`snapshot()` / `restore()` carry the adapted rates and spent tokens across restarts as a small dict
(the runner stores it in the database), so a restart right after a 421 does not hammer the relay again.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

SNAPSHOT_VERSION = 1


@dataclass
class _Bucket:
    ceiling: float | None          # configured rate (per second); None = unlimited
    rate: float | None             # current rate, <= ceiling after a slow-down
    tokens: float
    updated: float                 # clock value the tokens were last refilled at
    target: float | None = None    # the rate speed_up climbs back to (ceiling, or the observed rate)
    decreased_at: float = -math.inf
    increased_at: float = -math.inf
    window_start: float = 0.0      # two one-second windows estimate the rate of an unlimited key
    window_count: int = 0
    previous_rate: float = 0.0


class RateLimiter:
    """Keyed token buckets with an injected clock and sleep, AIMD adaptation and a persistable state."""

    def __init__(self, default_rate: float | None = None, *, burst: float = 1.0, min_rate: float = 0.1,
                 recovery: float = 60.0, decrease_interval: float = 1.0, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        """`burst` is in seconds of rate: a bucket holds max(1, rate * burst) tokens."""
        if default_rate is not None and default_rate <= 0:
            raise ValueError("default_rate must be positive or None (unlimited)")
        if burst <= 0 or min_rate <= 0 or recovery <= 0 or decrease_interval < 0 or max_keys < 1:
            raise ValueError("burst, min_rate and recovery must be positive, decrease_interval >= 0, max_keys >= 1")
        self.default_rate = default_rate
        self.burst = burst
        self.min_rate = min_rate
        self.recovery = recovery
        self.decrease_interval = decrease_interval
        self.max_keys = max_keys
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._configured: dict[str, float | None] = {}
        self._prune_at = max_keys

    # -- configuration -----------------------------------------------------------------
    def set_rate(self, key: str, rate: float | None) -> None:
        """Fix the ceiling for one key (None = unlimited); an adapted rate above it is lowered to it."""
        if rate is not None and rate <= 0:
            raise ValueError(f"rate for {key!r} must be positive or None (unlimited)")
        with self._lock:
            self._configured[key] = rate
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket.ceiling = bucket.target = rate
                if rate is None:
                    bucket.rate, bucket.tokens = None, math.inf
                    return
                if bucket.rate is None or bucket.rate > rate:
                    bucket.rate = rate
                bucket.tokens = min(bucket.tokens, self._capacity(bucket.rate))

    def rate(self, key: str) -> float | None:
        """The current rate for `key` in messages per second (None = unlimited)."""
        with self._lock:
            bucket = self._buckets.get(key)
            return bucket.rate if bucket is not None else self._configured.get(key, self.default_rate)

    # -- taking tokens -----------------------------------------------------------------
    def reserve(self, key: str) -> float:
        """Take one token now and return how many seconds the caller must wait before using it."""
        with self._lock:
            now = self._clock()
            bucket = self._bucket(key, now)
            self._observe(bucket, now)
            if bucket.rate is None:
                return 0.0
            self._refill(bucket, now)
            bucket.tokens -= 1.0
            return 0.0 if bucket.tokens >= 0 else -bucket.tokens / bucket.rate

    def acquire(self, key: str) -> float:
        """Take one token, sleeping until it is due; returns the seconds slept."""
        wait = self.reserve(key)
        if wait > 0:
            self._sleep(wait)
        return wait

    # -- adaptation (AIMD) -------------------------------------------------------------
    def slow_down(self, key: str) -> float | None:
        """Halve the rate of `key` (at most once per `decrease_interval`); returns the new rate."""
        with self._lock:
            now = self._clock()
            bucket = self._bucket(key, now)
            # Several connections see the same 421 burst at once: one halving per burst, not one per reply.
            if now - bucket.decreased_at < self.decrease_interval:
                return bucket.rate
            self._refill(bucket, now)
            if bucket.rate is None:
                observed = max(bucket.previous_rate, float(bucket.window_count), self.min_rate)
                bucket.target = observed
                bucket.rate = observed
            bucket.rate = max(self.min_rate, bucket.rate / 2)
            bucket.tokens = min(bucket.tokens, self._capacity(bucket.rate))
            bucket.decreased_at = bucket.increased_at = now
            return bucket.rate

    def speed_up(self, key: str) -> float | None:
        """Additive increase after a success: back to the target over `recovery` seconds of sending."""
        bucket = self._buckets.get(key)
        if bucket is None or bucket.rate is None:
            # The common case, read without the lock (one success per message): unlimited, nothing to
            # recover. A slow-down racing with this read only delays its first step up by one message.
            return None
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or bucket.rate is None or bucket.target is None or bucket.rate >= bucket.target:
                return None if bucket is None else bucket.rate
            now = self._clock()
            self._refill(bucket, now)
            step = bucket.target / self.recovery * max(0.0, now - bucket.increased_at)
            bucket.increased_at = now
            bucket.rate = min(bucket.target, bucket.rate + step)
            if bucket.rate >= bucket.target and bucket.ceiling is None:
                bucket.rate = bucket.target = None    # recovered: unlimited again
            return bucket.rate

    # -- persistence -------------------------------------------------------------------
    def snapshot(self) -> dict:
        """The state worth keeping: buckets that are slowed down or have spent tokens."""
        with self._lock:
            now = self._clock()
            buckets = {}
            for key, bucket in self._buckets.items():
                self._refill(bucket, now)
                slowed = bucket.rate is not None and bucket.target is not None and bucket.rate < bucket.target
                spent = bucket.rate is not None and bucket.tokens < self._capacity(bucket.rate)
                if slowed or spent:
                    buckets[key] = {"rate": round(bucket.rate, 6), "tokens": round(bucket.tokens, 6),
                                    "target": None if bucket.target is None else round(bucket.target, 6)}
            return {"version": SNAPSHOT_VERSION, "buckets": buckets}

    def restore(self, state: dict) -> int:
        """Load a `snapshot()`; returns the number of buckets restored.

        Lenient on purpose: a snapshot from another version or a changed configuration must not stop
        delivery, it only means starting at full speed. Rates never exceed today's configured ceiling, and
        the tokens count from now (no credit for the time the process was down, which is the cautious side).
        """
        if not isinstance(state, dict) or state.get("version") != SNAPSHOT_VERSION \
                or not isinstance(state.get("buckets"), dict):
            return 0
        restored = 0
        with self._lock:
            now = self._clock()
            for key, saved in state["buckets"].items():
                try:
                    rate, tokens = float(saved["rate"]), float(saved["tokens"])
                    target = None if saved.get("target") is None else float(saved["target"])
                except (TypeError, KeyError, ValueError):
                    continue
                if not (isinstance(key, str) and math.isfinite(rate) and math.isfinite(tokens) and rate > 0):
                    continue
                bucket = self._bucket(key, now)
                if bucket.ceiling is not None:
                    target = bucket.ceiling
                    rate = min(rate, bucket.ceiling)
                elif target is None or not math.isfinite(target) or target <= rate:
                    continue    # an unlimited key is only worth restoring while it is slowed down
                bucket.rate, bucket.target = max(self.min_rate, rate), target
                # A large debt would stall the key for a long time after a restart; keep at most one burst.
                capacity = self._capacity(bucket.rate)
                bucket.tokens = min(capacity, max(-capacity, tokens))
                bucket.updated = bucket.increased_at = now
                restored += 1
        return restored

    # -- internals (called with the lock held) ------------------------------------------
    def _capacity(self, rate: float | None) -> float:
        return math.inf if rate is None else max(1.0, rate * self.burst)

    def _bucket(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._prune_at:
                self._prune(now)
                # When most buckets are busy, scanning again on the next new key would be quadratic.
                self._prune_at = max(self.max_keys, 2 * len(self._buckets))
            ceiling = self._configured.get(key, self.default_rate)
            bucket = _Bucket(ceiling=ceiling, rate=ceiling, tokens=self._capacity(ceiling), updated=now,
                             target=ceiling, window_start=now)
            self._buckets[key] = bucket
        return bucket

    def _refill(self, bucket: _Bucket, now: float) -> None:
        if bucket.rate is not None:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self._capacity(bucket.rate), bucket.tokens + elapsed * bucket.rate)
        bucket.updated = now

    def _observe(self, bucket: _Bucket, now: float) -> None:
        elapsed = now - bucket.window_start
        if elapsed >= 1.0:
            bucket.previous_rate = bucket.window_count / elapsed
            bucket.window_start, bucket.window_count = now, 0
        bucket.window_count += 1

    def _prune(self, now: float) -> None:
        """Forget buckets that are full and not slowed down: recreating them gives the same state."""
        for key in list(self._buckets):
            bucket = self._buckets[key]
            self._refill(bucket, now)
            if bucket.rate == bucket.target and bucket.tokens >= self._capacity(bucket.rate):
                del self._buckets[key]


def parse_rate(text: str) -> float:
    """'50/s', '600/m', '10000/h', '100000/d' or a bare number (per second) → messages per second."""
    units = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0, "d": 86400.0,
             "day": 86400.0}
    count, _, unit = text.strip().partition("/")
    unit = unit.strip().lower() or "s"
    try:
        value = float(count)
    except ValueError:
        value = math.nan
    if unit not in units or not math.isfinite(value) or value <= 0:
        raise ValueError(f"rate {text!r} is not a positive number of messages per s, m, h or d (e.g. '50/s')")
    return value / units[unit]
