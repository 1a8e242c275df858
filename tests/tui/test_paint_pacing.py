"""When the dashboard draws: at once after a quiet spell, at most once per gap when samples crowd."""

from __future__ import annotations

import time
from collections.abc import Callable

from scxtop.tui.paint_pacing import PaintPacing


class Timers:
    """Records the one-shot timers asked for; the test fires them."""

    def __init__(self) -> None:
        self.due: list[tuple[float, Callable[[], object]]] = []

    def set_timer(self, delay: float, callback: Callable[[], object]) -> object:
        self.due.append((delay, callback))
        return None


def test_a_request_after_a_quiet_spell_draws_at_once_and_crowded_ones_share_one_timer():
    timers, drawn = Timers(), []
    pacing = PaintPacing(timers, lambda: drawn.append(time.monotonic()), min_gap=60.0)
    pacing.request()
    assert len(drawn) == 1 and timers.due == []  # nothing drawn lately: now, no timer
    pacing.request()
    pacing.request()
    assert len(drawn) == 1 and len(timers.due) == 1  # within the gap: one timer for both
    delay, fire = timers.due.pop()
    assert 59.0 < delay <= 60.0  # the rest of the gap
    fire()
    assert len(drawn) == 2
    pacing.request()
    assert len(timers.due) == 1  # drawn just now: the next waits again


def test_a_request_once_the_gap_has_passed_draws_at_once():
    timers, drawn = Timers(), []
    pacing = PaintPacing(timers, lambda: drawn.append(1), min_gap=0.05)
    pacing.request()
    time.sleep(0.06)
    pacing.request()
    assert drawn == [1, 1] and timers.due == []


def test_a_drawing_made_elsewhere_counts():
    timers, drawn = Timers(), []
    pacing = PaintPacing(timers, lambda: drawn.append(1), min_gap=60.0)
    pacing.painted()  # e.g. the first sample, drawn directly
    pacing.request()
    assert drawn == [] and len(timers.due) == 1
