"""Wake a live source once per interval, on a fixed grid, and let `close()` wake it early."""

from __future__ import annotations

import threading
import time


class Pacer:
    """Interval ticks that do not drift: the k-th tick is due k intervals after the start.

    When collection falls more than an interval behind (a suspended laptop, a stalled box), the
    grid restarts from now instead of firing a burst of catch-up ticks.
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
            self._due = now + interval_s
        return not self._stop.wait(max(0.0, self._due - now))

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()
