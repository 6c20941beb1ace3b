"""Token buckets with AIMD adaptation, on a fake clock: nothing here really sleeps."""
import threading

import pytest

from engine.delivery.ratelimit import RateLimiter, parse_rate


class FakeClock:
    """A clock that moves only when someone sleeps on it or the test advances it."""

    def __init__(self, now: float = 1000.0):
        self.now = now
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def limiter(clock, **kwargs):
    return RateLimiter(clock=clock, sleep=clock.sleep, **kwargs)


@pytest.mark.parametrize("text, per_second", [
    ("50/s", 50.0), ("50", 50.0), (" 600/m ", 10.0), ("600/min", 10.0), ("7200/h", 2.0),
    ("86400/d", 1.0), ("0.5/s", 0.5), ("3/SEC", 3.0),
])
def test_parse_rate_units(text, per_second):
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("text", ["", "0/s", "-5/s", "fast", "5/w", "inf/s", "nan", "5/s/s"])
def test_parse_rate_rejects_nonsense(text):
    with pytest.raises(ValueError, match="messages per"):
        parse_rate(text)


def test_a_full_bucket_allows_one_second_of_burst_then_paces_at_the_rate():
    clock = FakeClock()
    rl = limiter(clock, default_rate=10)
    waits = [rl.reserve("relay") for _ in range(13)]
    assert waits[:10] == [0.0] * 10
    assert waits[10:] == pytest.approx([0.1, 0.2, 0.3])
    clock.advance(0.3)                     # the debt is paid off: the bucket is empty, not negative
    assert rl.reserve("relay") == pytest.approx(0.1)


def test_acquire_sleeps_through_the_injected_sleep():
    clock = FakeClock()
    rl = limiter(clock, default_rate=2)
    assert [rl.acquire("k") for _ in range(5)] == pytest.approx([0, 0, 0.5, 0.5, 0.5])
    assert clock.slept == pytest.approx([0.5, 0.5, 0.5]) and clock.now == pytest.approx(1001.5)


def test_tokens_refill_with_time_up_to_the_burst_only():
    clock = FakeClock()
    rl = limiter(clock, default_rate=5, burst=2.0)      # burst in seconds: 10 tokens
    for _ in range(10):
        assert rl.reserve("k") == 0
    clock.advance(3600)
    assert [rl.reserve("k") for _ in range(11)][-1] == pytest.approx(0.2)


def test_keys_are_independent_and_unconfigured_keys_are_unlimited():
    clock = FakeClock()
    rl = limiter(clock)
    rl.set_rate("example.org", 1)
    assert rl.reserve("example.org") == 0
    assert rl.reserve("example.org") == pytest.approx(1.0)
    assert all(rl.reserve("example.net") == 0 for _ in range(1000))
    assert rl.rate("example.net") is None and rl.rate("example.org") == 1


def test_slow_down_halves_once_per_burst_of_throttling_replies():
    clock = FakeClock()
    rl = limiter(clock, default_rate=40)
    assert rl.slow_down("relay") == 20
    assert rl.slow_down("relay") == 20          # four connections saw the same 421: one halving
    clock.advance(1.0)
    assert rl.slow_down("relay") == 10
    clock.advance(1.0)
    for _ in range(20):
        rl.slow_down("relay")
        clock.advance(1.0)
    assert rl.rate("relay") == pytest.approx(0.1)   # min_rate: never stop completely


def test_slow_down_drops_saved_up_tokens_so_the_pause_is_immediate():
    clock = FakeClock()
    rl = limiter(clock, default_rate=100)
    rl.reserve("relay")
    rl.slow_down("relay")                        # 50/s: at most 50 tokens left of 99
    waits = [rl.reserve("relay") for _ in range(51)]
    assert waits[49] == 0 and waits[50] == pytest.approx(0.02)


def test_speed_up_adds_the_rate_back_linearly_over_the_recovery_period():
    clock = FakeClock()
    rl = limiter(clock, default_rate=40, recovery=60)
    rl.slow_down("relay")                         # 20/s
    clock.advance(15)
    assert rl.speed_up("relay") == pytest.approx(30)    # 40/60 per second × 15 s
    clock.advance(1)
    assert rl.speed_up("relay") == pytest.approx(30 + 40 / 60)
    clock.advance(600)
    assert rl.speed_up("relay") == 40             # capped at the configured rate
    assert rl.speed_up("relay") == 40


def test_an_unlimited_key_slows_to_half_of_what_it_was_really_sending_then_recovers_to_unlimited():
    clock = FakeClock()
    rl = limiter(clock, recovery=10)
    for _ in range(60):                           # 30 messages per second, for two seconds
        rl.reserve("relay")
        clock.advance(1 / 30)
    rate = rl.slow_down("relay")
    assert rate == pytest.approx(15, rel=0.1)
    assert rl.reserve("relay") >= 0 and rl.rate("relay") == rate
    clock.advance(100)
    assert rl.speed_up("relay") is None           # back to "as fast as the relay accepts"
    assert all(rl.reserve("relay") == 0 for _ in range(1000))


def test_set_rate_lowers_an_adapted_rate_and_none_makes_a_key_unlimited_again():
    clock = FakeClock()
    rl = limiter(clock, default_rate=40)
    rl.set_rate("k", 10)
    assert rl.rate("k") == 10
    rl.slow_down("k")
    rl.set_rate("k", None)
    assert rl.rate("k") is None and all(rl.reserve("k") == 0 for _ in range(100))
    with pytest.raises(ValueError):
        rl.set_rate("k", 0)


def test_snapshot_keeps_only_buckets_worth_keeping_and_restore_resumes_them():
    clock = FakeClock()
    rl = limiter(clock, default_rate=10)
    for _ in range(4):
        rl.reserve("relay-a")
    rl.slow_down("relay-b")
    rl.reserve("idle")
    clock.advance(60)                            # "idle" refilled completely: nothing to remember
    for _ in range(15):
        rl.reserve("busy")
    state = rl.snapshot()
    assert set(state["buckets"]) == {"relay-b", "busy"}
    assert state["buckets"]["relay-b"]["rate"] == 5

    later = FakeClock(now=5.0)                   # a new process: monotonic clocks restart elsewhere
    fresh = limiter(later, default_rate=10)
    assert fresh.restore(state) == 2
    assert fresh.rate("relay-b") == 5
    assert fresh.reserve("busy") > 0              # still in debt: no second burst after a restart
    assert fresh.reserve("relay-a") == 0
    assert fresh.snapshot()["buckets"].keys() == {"relay-b", "busy", "relay-a"}


def test_restore_respects_todays_configuration_and_survives_garbage():
    clock = FakeClock()
    rl = limiter(clock, default_rate=10)
    rl.set_rate("relay", 4)
    state = {"version": 1, "buckets": {
        "relay": {"rate": 50, "tokens": 1, "target": 50},         # the ceiling was lowered since
        "broken": {"rate": "fast"}, "negative": {"rate": -1, "tokens": 0},
        "nan": {"rate": float("nan"), "tokens": 0}, "missing": {},
    }}
    assert rl.restore(state) == 1
    assert rl.rate("relay") == 4
    for junk in (None, [], {"version": 99, "buckets": {}}, {"version": 1, "buckets": []}):
        assert rl.restore(junk) == 0


def test_an_unlimited_slowed_key_survives_a_restart_and_a_recovered_one_is_not_saved():
    clock = FakeClock()
    rl = limiter(clock)
    for _ in range(20):
        rl.reserve("relay")
    rate = rl.slow_down("relay")
    state = rl.snapshot()
    fresh = limiter(FakeClock())
    assert fresh.restore(state) == 1 and fresh.rate("relay") == rate
    clock.advance(3600)
    rl.speed_up("relay")
    assert rl.snapshot()["buckets"] == {}


def test_threads_share_a_bucket_and_each_waits_its_own_turn():
    clock = FakeClock()
    rl = limiter(clock, default_rate=100)
    waits: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(50):
            wait = rl.reserve("relay")
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 200 tokens at 100/s with 100 in the bucket: every wait slot from 0.01 s to 1.00 s taken exactly once.
    assert sorted(round(w, 6) for w in waits if w > 0) == [round(i / 100, 6) for i in range(1, 101)]


def test_idle_full_buckets_are_forgotten_beyond_max_keys():
    clock = FakeClock()
    rl = limiter(clock, default_rate=1, max_keys=100)
    for i in range(1000):
        rl.reserve(f"domain{i}.example")
        clock.advance(2)                          # each bucket is full again 1 s later
    assert len(rl._buckets) <= 100


def test_bad_constructor_arguments_are_refused():
    for kwargs in ({"default_rate": 0}, {"burst": 0}, {"min_rate": -1}, {"recovery": 0}, {"max_keys": 0}):
        with pytest.raises(ValueError):
            RateLimiter(**kwargs)
