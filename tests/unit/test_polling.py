"""The worker's loop: back-off while idle, straight on after work, ends on stop or when the budget is spent.
Driven with a fake clock and a fake wait: nothing sleeps."""
from __future__ import annotations

import threading

import pytest

from scheduler.polling import PASS_SECONDS, Backoff, poll_until_stopped


class FakeTime:
    def __init__(self):
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_the_pause_doubles_while_idle_up_to_the_longest_and_work_resets_it():
    backoff = Backoff(1.0, 10.0)
    assert [backoff.pause_after(False) for _ in range(6)] == [1, 2, 4, 8, 10, 10]
    assert backoff.pause_after(True) == 0
    assert backoff.pause_after(False) == 1


def test_a_backoff_needs_a_positive_range():
    with pytest.raises(ValueError):
        Backoff(0, 5)
    with pytest.raises(ValueError):
        Backoff(10, 5)


def test_it_keeps_looking_for_work_until_stopped_and_says_idle_once_per_stretch():
    time, stop = FakeTime(), threading.Event()
    found = iter([True, True, False, False, False, True, False, False])
    passes, idle_notes = [], []

    def one_pass(seconds):
        passes.append(seconds)
        answer = next(found, None)
        if answer is None:
            stop.set()                       # what SIGTERM's handler does
            return False
        return answer

    reason = poll_until_stopped(one_pass, stop=stop, backoff=Backoff(1.0, 30.0), clock=time.clock, wait=time.wait,
                                on_idle=idle_notes.append)
    assert reason == "stopped"
    assert len(passes) == 9 and set(passes) == {PASS_SECONDS}   # never exits on its own when there is no work
    assert time.waits == [1, 2, 4, 1, 2]                        # straight on after work, backing off while idle
    assert idle_notes == [1, 1]                                 # one note per idle stretch, not per look


def test_a_stop_during_a_pass_ends_the_loop_without_another_pause():
    time, stop = FakeTime(), threading.Event()

    def one_pass(seconds):
        stop.set()
        return True

    assert poll_until_stopped(one_pass, stop=stop, backoff=Backoff(), clock=time.clock, wait=time.wait) == "stopped"
    assert time.waits == []


def test_a_budget_ends_the_loop_and_cuts_the_last_pass_and_pause_short():
    time, stop = FakeTime(), threading.Event()
    passes = []

    def one_pass(seconds):
        passes.append(seconds)
        time.now += min(seconds, 50)          # a pass that sends for 50 s, or less when given less
        return len(passes) < 3

    reason = poll_until_stopped(one_pass, stop=stop, backoff=Backoff(1.0, 30.0), budget=130, clock=time.clock,
                                wait=time.wait)
    assert reason == "budget spent"
    assert passes == [60, 60, 30]              # 130 s: two full passes, then what is left
    assert time.waits == []                    # the budget was gone before the first pause was due
