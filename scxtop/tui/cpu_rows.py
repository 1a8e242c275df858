"""What the CPU panel shows, computed without Textual: per-CPU or per-group rows, rates per second,
runqueue history, and the "one runqueue overloaded while others idle" imbalance flag.

Kept apart from the widget so the arithmetic is tested with plain pytest and the widget only draws.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import overload

from scxtop.kernel.topology import Grouping, Topology
from scxtop.model import CpuStats, Sample
from scxtop.tui.sparkline import cpu_ranges

HISTORY = 60
"""Samples of runqueue history kept per CPU (the sparkline shows the newest that fit)."""

OVERLOAD_MIN_RQ = 2.0
"""A runqueue below this is never "overloaded": one running task plus a waiter at most."""
OVERLOAD_FACTOR = 3.0
"""Overloaded: at least this many times the mean runqueue of the other CPUs..."""
IDLE_RQ = 0.5
"""...while some other CPU's runqueue averages below this (idle more than half the time)."""


@dataclass(frozen=True, slots=True)
class CpuRow:
    """One line of the CPU panel: a CPU, or a core/LLC/node with its members' sums."""

    label: str
    cpus: tuple[int, ...]
    rq: float | None
    rq_scx: float | None
    util: float | None
    """Mean busy percentage over the members."""
    freq_mhz: float | None
    csw_s: float | None
    mig_in_s: float | None
    mig_out_s: float | None
    history: tuple[float, ...]
    overloaded: bool


@dataclass(frozen=True, slots=True)
class Imbalance:
    """CPUs whose runqueue is far above the rest while at least one other CPU idles."""

    cpus: tuple[int, ...]
    worst_rq: float
    others_mean: float
    idle: int

    def describe(self) -> str:
        who = ", ".join(f"cpu{c}" for c in self.cpus[:4]) + ("…" if len(self.cpus) > 4 else "")
        return (
            f"imbalance: {who} rq {self.worst_rq:.1f} vs {self.others_mean:.1f} mean elsewhere, "
            f"{self.idle} idle"
        )


class CpuHistory:
    """Recent runqueue lengths per CPU, appended once per sample (not per render)."""

    def __init__(self, length: int = HISTORY) -> None:
        self.length = length
        self._rq: dict[int, deque[float]] = {}

    def add(self, sample: Sample) -> None:
        for stats in sample.cpus:
            series = self._rq.get(stats.cpu)
            if series is None:
                series = self._rq[stats.cpu] = deque(maxlen=self.length)
            series.append(stats.rq or 0.0)

    def clear(self) -> None:
        self._rq.clear()

    def of(self, cpus: Sequence[int]) -> tuple[float, ...]:
        """The members' histories summed point by point, aligned on the newest sample."""
        if len(cpus) == 1:
            return tuple(self._rq.get(cpus[0], ()))
        series = [self._rq.get(cpu, ()) for cpu in cpus]
        width = max((len(s) for s in series), default=0)
        total = [0.0] * width
        for s in series:
            offset = width - len(s)
            for i, value in enumerate(s):
                total[offset + i] += value
        return tuple(total)


def find_imbalance(cpus: Sequence[CpuStats]) -> Imbalance | None:
    """The overloaded-runqueue pattern: rq >= OVERLOAD_FACTOR x the others' mean, others idle."""
    known = [(c.cpu, c.rq) for c in cpus if c.rq is not None]
    if len(known) < 2:
        return None
    total = sum(rq for _, rq in known)
    count = len(known)
    idle = sum(1 for _, rq in known if rq < IDLE_RQ)
    hot: list[tuple[int, float, float]] = []
    for cpu, rq in known:
        others_mean = (total - rq) / (count - 1)
        if rq >= OVERLOAD_MIN_RQ and rq >= OVERLOAD_FACTOR * others_mean:
            hot.append((cpu, rq, others_mean))
    if not hot or idle == 0:
        return None
    hot.sort(key=lambda h: -h[1])
    return Imbalance(cpus=tuple(h[0] for h in hot), worst_rq=hot[0][1], others_mean=hot[0][2], idle=idle)


def _sum(values: Iterable[float | None]) -> float | None:
    """Sum of what is known; None when no member can see the value."""
    seen = [v for v in values if v is not None]
    return sum(seen) if seen else None


def _mean(values: Iterable[float | None]) -> float | None:
    seen = [v for v in values if v is not None]
    return sum(seen) / len(seen) if seen else None


def _per_s(value: float | None, interval_s: float) -> float | None:
    return None if value is None else value / interval_s


def _row(label: str, members: Sequence[CpuStats], interval_s: float, history: CpuHistory,
         hot: set[int]) -> CpuRow:
    cpus = tuple(m.cpu for m in members)
    return CpuRow(
        label=label,
        cpus=cpus,
        rq=_sum(m.rq for m in members),
        rq_scx=_sum(m.rq_scx for m in members),
        util=_mean(m.util for m in members),
        freq_mhz=_mean(m.freq_mhz for m in members),
        csw_s=_per_s(_sum(m.csw for m in members), interval_s),
        mig_in_s=_per_s(_sum(m.mig_in for m in members), interval_s),
        mig_out_s=_per_s(_sum(m.mig_out for m in members), interval_s),
        history=history.of(cpus),
        overloaded=any(c in hot for c in cpus),
    )


class Rows(Sequence[CpuRow]):
    """The panel's rows, built only when asked for: the Line-API panel asks for the visible ones,
    so a refresh of 1024 CPUs costs a screenful of rows, not 1024."""

    def __init__(self, sample: Sample, grouping: Grouping, topology: Topology, history: CpuHistory,
                 imbalance: Imbalance | None) -> None:
        self._interval = sample.interval_s or 1.0
        self._history = history
        self._hot = set(imbalance.cpus) if imbalance else set()
        stats = sorted(sample.cpus, key=lambda c: c.cpu)
        if grouping is Grouping.CPU:
            self._groups: list[tuple[str, tuple[CpuStats, ...]]] = [(f"cpu{s.cpu}", (s,)) for s in stats]
        else:
            by_cpu = {s.cpu: s for s in stats}
            self._groups = [
                (f"{grouping.value}{gid} {cpu_ranges(members)}", tuple(by_cpu[c] for c in members))
                for gid, members in topology.groups(grouping, by_cpu).items()
            ]
        self._built: dict[int, CpuRow] = {}

    def __len__(self) -> int:
        return len(self._groups)

    @overload
    def __getitem__(self, index: int) -> CpuRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[CpuRow]: ...

    def __getitem__(self, index: int | slice) -> CpuRow | list[CpuRow]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        row = self._built.get(index)
        if row is None:
            label, members = self._groups[index]
            row = self._built[index] = _row(label, members, self._interval, self._history, self._hot)
        return row

    def max_rq(self) -> float:
        """The largest row runqueue (the bars' common scale), without building the rows (nor a
        generator per row: at 1024 CPUs that was a millisecond a refresh)."""
        return max(((members[0].rq or 0.0) if len(members) == 1 else sum(m.rq or 0.0 for m in members)
                    for _, members in self._groups), default=0.0)


def build_rows(sample: Sample, grouping: Grouping, topology: Topology, history: CpuHistory,
               imbalance: Imbalance | None) -> Rows:
    """Rows for the panel in CPU order; grouped rows carry their members' sums."""
    return Rows(sample, grouping, topology, history, imbalance)
