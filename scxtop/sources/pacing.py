"""Wake a live source once per interval, on a fixed grid, and let `close()` wake it early."""

from __future__ import annotations

import threading
import time


class Pacer:
    """Interval ticks that do not drift: the k-th tick is due k intervals after the start.

    When collection falls more than an interval behind (a suspended laptop, a stalled box, or a
    source opened well before it was read), the late tick comes at once and the grid restarts
    from it, instead of a burst of catch-up ticks.
    """

    def __init__(self) -> None:
        self.started = time.monotonic()
        self._due = self.started
        self._stop = threading.Event()

    def wait(self, interval_s: float) -> bool:
        """Sleep until the next tick; False when stopped."""
        self._due += interval_s
        now = time.monotonic()
        if now > self._due + interval_s:
            self._due = now
        return not self._stop.wait(max(0.0, self._due - now))

    def overdue(self, interval_s: float) -> bool:
        """True when the next tick, `interval_s` from the last, is already due."""
        return time.monotonic() >= self._due + interval_s

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()
