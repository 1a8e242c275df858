"""Group a combined program's records into one `Tick` per report block.

Records between `scxtop-tick <nsecs>` and `scxtop-end` belong to one report; between
`scxtop-base <nsecs>` and `scxtop-end` to a baseline (counters read once, early). Anything outside
a bracket is dropped: above all the maps bpftrace prints again when it exits, which would
otherwise be counted twice. Lost-event and error records are kept with the next tick.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from scxtop.bpftrace.programs import BASE, END, TICK
from scxtop.bpftrace.records import (
    ErrorRecord,
    HistRecord,
    LostEvents,
    MapEntry,
    MapRecord,
    PrintfRecord,
    Record,
    StatsRecord,
)


@dataclass(frozen=True, slots=True)
class Tick:
    """One report: the kernel's monotonic time when it started, and the maps it printed by name."""

    nsecs: int
    maps: dict[str, MapRecord | HistRecord | StatsRecord]
    lost_events: int = 0
    errors: tuple[ErrorRecord, ...] = ()
    baseline: bool = False
    """An early baseline report, not an interval: a reader takes counter differences from it."""

    def entries(self, name: str) -> tuple[MapEntry, ...]:
        record = self.maps.get(name)
        if isinstance(record, MapRecord):
            return record.entries
        return ()


def ticks(records: Iterable[Record]) -> Iterator[Tick]:
    nsecs: int | None = None
    baseline = False
    maps: dict[str, MapRecord | HistRecord | StatsRecord] = {}
    lost = 0
    errors: list[ErrorRecord] = []
    for record in records:
        if isinstance(record, PrintfRecord):
            text = record.text.strip()
            if text.startswith((TICK, BASE)):
                nsecs, maps, baseline = int(text.split()[1]), {}, text.startswith(BASE)
            elif text == END and nsecs is not None:
                if baseline:
                    yield Tick(nsecs, maps, baseline=True)
                else:
                    yield Tick(nsecs, maps, lost, tuple(errors))
                    lost, errors = 0, []
                nsecs, maps = None, {}
        elif isinstance(record, MapRecord | HistRecord | StatsRecord):
            if nsecs is not None:
                maps[record.name] = record
        elif isinstance(record, LostEvents):
            lost += record.count
        elif isinstance(record, ErrorRecord):
            errors.append(record)


@dataclass(frozen=True, slots=True)
class TickTime:
    """When a report was taken (from bpftrace's own clock) and whether its maps are its own."""

    time: float
    """Wall-clock time of the tick, seconds since the epoch."""
    elapsed_s: float
    interval_s: float
    """Since the previous tick, by bpftrace's clock."""
    late_s: float
    """How long after its tick the report was read."""
    gap: bool
    """The maps do not cover this interval: bpftrace (or scxtop) was stalled, so queued reports
    were printed in a burst and the first took everything since the stall, the rest almost nothing."""


class TickClock:
    """Times each report by its tick, and tells a report read on time from one read in a burst.

    bpftrace runs print() and clear() in user space, when it reads the tick's event; the tick's
    own `nsecs` comes from the kernel timer. After a SIGSTOP the timer keeps firing, the events
    queue, and on SIGCONT they are printed within milliseconds of each other: the first report
    takes everything since the stall, the others almost nothing. So a report read late (more than
    LATE of its interval, and at least LATE_FLOOR_S), or read less than SOON of an interval after
    the previous one, does not hold its own interval: a gap.
    """

    LATE = 0.6
    LATE_FLOOR_S = 1.0
    """On a loaded machine reports are read a few hundred ms late; that is still their data."""
    SOON = 0.25

    def __init__(self, interval_s: float, start_ns: int) -> None:
        self.interval_s = interval_s
        self.start_ns = start_ns
        self._prev_tick_ns: int | None = None
        self._prev_read_ns: int | None = None

    def restart(self, interval_s: float) -> None:
        """A new bpftrace (new interval): its first report has no predecessor to compare with."""
        self.interval_s = interval_s
        self._prev_tick_ns = self._prev_read_ns = None

    def time(self, tick_ns: int, read_ns: int, wall_now: float) -> TickTime:
        nominal = (tick_ns - self._prev_tick_ns) / 1e9 if self._prev_tick_ns else self.interval_s
        window = (read_ns - self._prev_read_ns) / 1e9 if self._prev_read_ns else nominal
        late = (read_ns - tick_ns) / 1e9
        self._prev_tick_ns, self._prev_read_ns = tick_ns, read_ns
        return TickTime(
            time=wall_now - late,
            elapsed_s=(tick_ns - self.start_ns) / 1e9,
            interval_s=nominal,
            late_s=late,
            gap=late > max(self.LATE * nominal, self.LATE_FLOOR_S) or window < self.SOON * nominal,
        )
