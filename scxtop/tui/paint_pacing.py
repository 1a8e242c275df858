"""When the dashboard draws: as soon as something new arrives, at most once per `min_gap`.

A periodic render timer would wake the app five times a second to find, at a 1 s interval, nothing
to draw four times out of five (and make every sample wait up to a tick). Here a sample that comes
after a quiet spell is drawn at once; one that comes sooner after the last drawing waits for the
rest of `min_gap` (one timer, however many samples arrive meanwhile), so at 0.1 s the dashboard
still draws at most 1/min_gap times a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class _Timers(Protocol):
    def set_timer(self, delay: float, callback: Callable[[], object]) -> object: ...


class PaintPacing:
    """`request()` when the screen should change; `painted()` when it was drawn some other way."""

    def __init__(self, timers: _Timers, paint: Callable[[], None], min_gap: float) -> None:
        self._timers = timers
        self._paint = paint
        self.min_gap = min_gap
        self._last = float("-inf")
        self._pending = False

    def request(self) -> None:
        if self._pending:
            return  # the drawing already due will show this too
        wait = self._last + self.min_gap - time.monotonic()
        if wait <= 0:
            self._draw()
            return
        self._pending = True
        self._timers.set_timer(wait, self._due)

    def painted(self) -> None:
        self._last = time.monotonic()

    def _due(self) -> None:
        self._pending = False
        self._draw()

    def _draw(self) -> None:
        self.painted()
        self._paint()
