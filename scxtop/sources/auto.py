"""`--source auto`: bpftrace, and procfs instead when bpftrace fails before its first sample.

`bpf_unavailable_reason()` catches what can be checked up front (privileges, the binary, tracefs);
a kernel that lacks a probe or a locked-down BPF only shows when bpftrace starts. Either way the
user gets data, and one line on stderr says why it is the procfs kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from scxtop.errors import ScxtopError
from scxtop.model import Sample
from scxtop.sources import USING_PROCFS
from scxtop.sources.base import Source


class AutoSource:
    """Runs `live`; if it fails before yielding anything, says so and runs `fallback()` instead."""

    def __init__(self, live: Source, fallback: Callable[[float], Source], say: Callable[[str], None]) -> None:
        self._current = live
        self._fallback = fallback
        self._say = say
        self._closed = False

    @property
    def name(self) -> str:
        return self._current.name

    @property
    def interval_s(self) -> float:
        return self._current.interval_s

    @interval_s.setter
    def interval_s(self, value: float) -> None:
        self._current.interval_s = value

    def samples(self) -> Iterator[Sample]:
        live = self._current.samples()
        try:
            first = next(live)
        except StopIteration:
            return
        except ScxtopError as err:
            self._current.close()
            if self._closed:
                return
            self._say(f"{USING_PROCFS}: bpftrace failed: {err}")
            self._current = self._fallback(self._current.interval_s)
            yield from self._current.samples()
            return
        yield first
        yield from live

    def close(self) -> None:
        self._closed = True
        self._current.close()
