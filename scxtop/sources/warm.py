"""The dashboard's start: procfs samples at once while bpftrace compiles and attaches, then bpftrace.

bpftrace needs 1.5-3 s to compile and attach its probes (plus one interval for its first report);
a dashboard that waits shows nothing for that long. `WarmStart` runs both: the procfs source
(`quick_procfs`: first sample after FIRST_INTERVAL_S, then at the chosen interval) in one thread
and the live source in another, and yields procfs samples until the live source's first sample
arrives; from then on only the live one. The samples flow through one iterator, so the dashboard's
history runs on without a reset. `attaching_s()` says for how long bpftrace has been starting, for the status
line. `scxtop log` does not use this: a file holds one source's rows.

When the live source fails before its first sample, the procfs samples simply go on and
`failure` says why (as `--source auto` would fall back).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from scxtop.model import Sample
from scxtop.sources import USING_PROCFS
from scxtop.sources.base import Source, SourceError

FIRST_INTERVAL_S = 0.25
"""The quick source's first interval: long enough for rates, short enough for a first screen in
under half a second."""


@dataclass(frozen=True, slots=True)
class _Item:
    """One thing a producer thread hands over: a sample, an error, or the end of its stream."""

    live: bool
    sample: Sample | None = None
    error: BaseException | None = None


class WarmStart:
    """Yields `quick`'s samples until `live` has produced one, then only `live`'s (see module doc)."""

    def __init__(self, live: Callable[[float], Source], quick: Callable[[float], Source], interval_s: float,
                 say: Callable[[str], None] | None = None, *, fall_back: bool = True) -> None:
        self._open_live = live
        self._open_quick = quick
        self._live: Source | None = None
        self._quick: Source | None = None
        self._fall_back = fall_back
        self._interval = interval_s
        self._say = say
        self._lock = threading.Lock()
        self._items: queue.Queue[_Item] = queue.Queue()
        self._switched = threading.Event()
        self._closed = threading.Event()
        self._quick_went = threading.Event()
        """Set once the quick source handed over its first sample (or ended): bpftrace's set-up
        (BTF, imports) holds the interpreter for ~0.3 s and would hold the first screen back."""
        self._started = time.monotonic()
        self.name = "procfs"
        """The source whose samples come now: procfs until bpftrace's first sample."""
        self.failure: str | None = None
        """Why the live source gave up before its first sample (procfs goes on), else None."""

    @property
    def interval_s(self) -> float:
        return self._interval

    @interval_s.setter
    def interval_s(self, value: float) -> None:
        self._interval = value
        with self._lock:
            for source in (self._live, self._quick):
                if source is not None:
                    source.interval_s = value

    def attaching_s(self) -> float | None:
        """Seconds the live source has been starting; None once it delivers (or gave up)."""
        if self._switched.is_set() or self.failure is not None or self._closed.is_set():
            return None
        return time.monotonic() - self._started

    def samples(self) -> Iterator[Sample]:
        self._started = time.monotonic()
        threading.Thread(target=self._pump, args=(True,), name="warm-live", daemon=True).start()
        threading.Thread(target=self._pump, args=(False,), name="warm-quick", daemon=True).start()
        quick_running = True
        while not self._closed.is_set():
            item = self._items.get()
            if item.live:
                if item.sample is not None:
                    if not self._switched.is_set():
                        self._switched.set()
                        self.name = "bpftrace"
                        self._close(False)
                    yield item.sample
                    continue
                if self._switched.is_set() or not quick_running or not self._fall_back:
                    if item.error is not None:
                        raise item.error
                    return
                self.failure = str(item.error) if item.error else "bpftrace ended"
                if self._say is not None:
                    why = self.failure
                    if not isinstance(item.error, BpfUnavailable):
                        why = f"bpftrace failed: {why}"
                    self._say(f"{USING_PROCFS}: {why}")
                continue
            if self._switched.is_set():
                continue  # a procfs sample that crossed the switch: dropped, the live one leads now
            if item.sample is not None:
                yield item.sample
                continue
            quick_running = False
            if self.failure is not None:  # both gone
                if item.error is not None:
                    raise item.error
                return

    def _pump(self, live: bool) -> None:
        """Open one source in this thread (bpftrace's set-up and imports take a while), drive it,
        and hand its samples (then its end) to the consumer. The live one opens once the quick
        one's first sample is out."""
        try:
            if live:
                self._quick_went.wait()
            with self._lock:
                if self._closed.is_set():
                    return
            # opened outside the lock: close() must not wait for it
            source = (self._open_live if live else self._open_quick)(self._interval)
            with self._lock:
                if live:
                    self._live = source
                else:
                    self._quick = source
            if self._closed.is_set() or (not live and self._switched.is_set()):
                source.close()
                return
            for sample in source.samples():
                if self._closed.is_set() or (not live and self._switched.is_set()):
                    break
                if not live and source.interval_s != self._interval:
                    source.interval_s = self._interval  # changed while the source opened
                self._items.put(_Item(live, sample))
                if not live:
                    self._quick_went.set()
        except Exception as err:  # handed over to the consumer, which raises it (or falls back)
            self._items.put(_Item(live, error=err))
            return
        finally:
            if not live:
                self._quick_went.set()
        self._items.put(_Item(live))

    def _close(self, live: bool) -> None:
        with self._lock:
            source = self._live if live else self._quick
        if source is not None:
            source.close()

    def close(self) -> None:
        self._closed.set()
        self._quick_went.set()
        self._items.put(_Item(False))  # wakes a consumer waiting for the next item
        self._close(False)
        self._close(True)

def quick_procfs(interval_s: float) -> Source:
    """The dashboard's procfs source: its first sample after FIRST_INTERVAL_S, then every `interval_s`."""
    from scxtop.sources.procfs import ProcfsSource

    return ProcfsSource(interval_s, first_interval_s=FIRST_INTERVAL_S)


class OpenedAhead:
    """A quick procfs source opened now, for the first caller; later callers get a new one.

    The dashboard opens it before importing Textual (a quarter of a second on a fast machine), so
    the first interval runs while Textual starts and the first screen already has data.
    """

    def __init__(self, interval_s: float) -> None:
        self._lock = threading.Lock()
        self._ahead: Source | None = quick_procfs(interval_s)

    def _take(self) -> Source | None:
        with self._lock:
            ahead, self._ahead = self._ahead, None
        return ahead

    def __call__(self, interval_s: float) -> Source:
        ahead = self._take()
        if ahead is None:
            return quick_procfs(interval_s)
        ahead.interval_s = interval_s
        return ahead

    def close(self) -> None:
        """Close the source if nobody took it (the dashboard ended before collecting)."""
        ahead = self._take()
        if ahead is not None:
            ahead.close()


class BpfUnavailable(SourceError):
    """bpftrace cannot run here (privileges, the binary, tracefs): `--source auto` uses procfs."""


def _open_bpftrace(check_first: bool) -> Callable[[float], Source]:
    """Opens the bpftrace source in the warm start's live thread, imports included: the quick
    procfs source starts at once instead of waiting for them."""

    def open_live(interval_s: float) -> Source:
        from scxtop.sources import bpftrace

        if check_first and (reason := bpftrace.bpf_unavailable_reason()) is not None:
            raise BpfUnavailable(reason)
        return bpftrace.BpftraceSource(interval_s)

    return open_live


WARM_SPECS = ("auto", "bpftrace", "procfs")
"""The `--source` specs whose dashboard starts with a quick procfs sample."""


def open_warm(spec: str, interval_s: float, say: Callable[[str], None],
              quick: Callable[[float], Source] = quick_procfs) -> Source:
    """The dashboard's live source for a `--source` spec: auto and bpftrace start warm (`quick`'s
    procfs samples first); auto goes on with procfs for good when bpftrace cannot run, saying why;
    procfs is `quick` alone. Others as `open_source`."""
    from scxtop.sources import open_source

    if spec not in WARM_SPECS:
        return open_source(spec, interval_s)
    if spec == "procfs":
        return quick(interval_s)
    auto = spec == "auto"
    return WarmStart(_open_bpftrace(check_first=auto), quick, interval_s, say, fall_back=auto)
