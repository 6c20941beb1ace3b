"""When a long-running worker looks for work again: at once after a pass that found some; after a pause
that doubles from `shortest` to `longest` while it finds none (back-off), so an idle worker costs the
database a query every half-minute, not a busy loop; until it is stopped or its budget is spent.

Pure of I/O: the pass, the clock and the wait are handed in, so tests drive it without sleeping."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

# The longest single pass: between two, the worker runs its other duties (confirmations, state saving).
PASS_SECONDS = 60.0


@dataclass
class Backoff:
    shortest: float = 1.0
    longest: float = 30.0
    _next: float = field(init=False, repr=False)

    def __post_init__(self):
        if not 0 < self.shortest <= self.longest:
            raise ValueError("the back-off needs 0 < shortest <= longest")
        self._next = self.shortest

    def pause_after(self, found_work: bool) -> float:
        """Seconds to wait before the next pass: none after work, else the next step of the back-off."""
        if found_work:
            self._next = self.shortest
            return 0.0
        pause, self._next = self._next, min(self._next * 2, self.longest)
        return pause


def poll_until_stopped(one_pass: Callable[[float], bool], *, stop: threading.Event, backoff: Backoff,
                       budget: float | None = None, clock: Callable[[], float] = time.monotonic,
                       wait: Callable[[float], object] | None = None,
                       on_idle: Callable[[float], None] | None = None) -> str:
    """Run `one_pass(seconds)` (answering whether it found work) until `stop` is set or `budget` seconds
    are spent; answers why it ended: "stopped" or "budget spent".

    `wait(seconds)` pauses (default `stop.wait`, which a SIGTERM handler setting `stop` cuts short);
    `on_idle(pause)` hears the first pause of every idle stretch, so the log says "idle" once, not twice
    a minute."""
    wait = wait or stop.wait
    deadline = None if budget is None else clock() + budget
    idle = False
    while not stop.is_set():
        left = PASS_SECONDS if deadline is None else min(PASS_SECONDS, deadline - clock())
        if left <= 0:
            return "budget spent"
        found = one_pass(left)
        if stop.is_set():
            break
        pause = backoff.pause_after(found)
        if deadline is not None:
            pause = min(pause, max(deadline - clock(), 0.0))
        if pause > 0:
            if not idle and on_idle:
                on_idle(pause)
            wait(pause)
        idle = not found
    return "stopped"
