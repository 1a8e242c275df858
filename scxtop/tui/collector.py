"""The collection loop a worker thread runs: drive a source, hand over samples, survive failures.

A failing source (bpftrace exits, a permission goes away) is reported and reopened after a
growing delay, so the dashboard keeps running and shows the retry. No Textual here: the app
passes callbacks that post messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from scxtop.model import Sample
from scxtop.sources.base import Source


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before reopening a failed source: first, doubling up to `cap` seconds."""

    first: float = 1.0
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.cap, self.first * 2.0 ** max(0, attempt - 1))


@dataclass(frozen=True, slots=True)
class Failure:
    message: str
    attempt: int
    retry_in: float


def collect(
    open_source: Callable[[], Source],
    on_source: Callable[[Source | None], None],
    on_sample: Callable[[Sample], object],
    on_failure: Callable[[Failure], object],
    cancelled: Callable[[], bool],
    backoff: Backoff | None = None,
) -> None:
    """Run until `cancelled()`; every sample goes to `on_sample`, every failure to `on_failure`.

    `on_source` receives each opened source (and None once it is closed) so the app can change
    its interval or close it to unblock this thread on exit.
    """
    backoff = backoff or Backoff()
    attempt = 0
    while not cancelled():
        source: Source | None = None
        try:
            source = open_source()
            on_source(source)
            for sample in source.samples():
                attempt = 0
                if cancelled():
                    return
                on_sample(sample)
            if cancelled():
                return
            raise RuntimeError(f"{source.name} stopped sending samples")
        except Exception as err:  # any failure of the source becomes a retry, never a crash
            if cancelled():
                return
            attempt += 1
            failure = Failure(message=str(err) or type(err).__name__, attempt=attempt,
                              retry_in=backoff.delay(attempt))
            on_failure(failure)
            _sleep(failure.retry_in, cancelled)
        finally:
            if source is not None:
                source.close()
                on_source(None)


def _sleep(seconds: float, cancelled: Callable[[], bool]) -> None:
    """Sleep in short steps so quitting during a backoff is immediate."""
    deadline = time.monotonic() + seconds
    while not cancelled() and time.monotonic() < deadline:
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
