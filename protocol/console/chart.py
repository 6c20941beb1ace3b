"""The opens-and-clicks chart of a report as inline SVG, computed on the server (no script, no library).

Pure geometry: a list of time slots in, polyline points and axis ticks out; the template draws them.
The same figures are shown as a table under the chart, for screen readers and for copying.
"""
from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 36


@dataclass
class Chart:
    width: int
    height: int
    opens: str           # polyline points "x,y x,y …"
    clicks: str
    y_ticks: list[tuple[float, int]]    # (y, value)
    x_ticks: list[tuple[float, str]]    # (x, label)
    plot: tuple[int, int, int, int]     # left, top, right, bottom


def draw(slots) -> Chart | None:
    if not slots:
        return None
    top_value = max(max(s.opens for s in slots), max(s.clicks for s in slots), 1)
    step = _nice_step(top_value)
    ceiling = step * -(-top_value // step)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = len(slots)

    def x(i: int) -> float:
        return round(LEFT + (inner_w * (i + 0.5) / count), 1)

    def y(value: int) -> float:
        return round(TOP + inner_h - inner_h * value / ceiling, 1)

    def points(values) -> str:
        return " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values))

    label_every = max(count // 6, 1)
    return Chart(
        WIDTH, HEIGHT, points([s.opens for s in slots]), points([s.clicks for s in slots]),
        [(y(v), v) for v in range(0, ceiling + 1, step)],
        [(x(i), slots[i].start.strftime("%d %b %H:%M")) for i in range(0, count, label_every)],
        (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM))


def _nice_step(top: int) -> int:
    """A round tick step giving about four ticks: 1, 2, 5, 10, 20, 50, …"""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if top / (factor * magnitude) <= 4:
                return factor * magnitude
        magnitude *= 10
