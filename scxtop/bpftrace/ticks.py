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
