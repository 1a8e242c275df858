"""Group a combined program's records into one `Tick` per report block.

Records between `scxtop-tick <nsecs>` and `scxtop-end` belong to one report. Anything outside
a bracket is dropped: above all the maps bpftrace prints again when it exits, which would
otherwise be counted twice. Lost-event and error records are kept with the next tick.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from scxtop.bpftrace.programs import END, TICK
from scxtop.bpftrace.records import (
    ErrorRecord,
    HistRecord,
    LostEvents,
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

    def entries(self, name: str) -> tuple:
        record = self.maps.get(name)
        if isinstance(record, MapRecord):
            return record.entries
        return ()


def ticks(records: Iterable[Record]) -> Iterator[Tick]:
    nsecs: int | None = None
    maps: dict[str, MapRecord | HistRecord | StatsRecord] = {}
    lost = 0
    errors: list[ErrorRecord] = []
    for record in records:
        if isinstance(record, PrintfRecord):
            text = record.text.strip()
            if text.startswith(TICK):
                nsecs, maps = int(text.split()[1]), {}
            elif text == END and nsecs is not None:
                yield Tick(nsecs, maps, lost, tuple(errors))
                nsecs, maps, lost, errors = None, {}, 0, []
        elif isinstance(record, MapRecord | HistRecord | StatsRecord):
            if nsecs is not None:
                maps[record.name] = record
        elif isinstance(record, LostEvents):
            lost += record.count
        elif isinstance(record, ErrorRecord):
            errors.append(record)
