"""What the charts and the latency histogram show, kept without Textual: series over the last
minutes and the wakeup-latency histogram since start, appended once per sample (not per render).

With few CPUs the runqueue chart has a line per CPU; with more, a min/mean/max band per group
(LLC or node when there are a few of them, otherwise all CPUs), computed here once per sample so
a refresh of 1024 CPUs costs what one of 2 does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from scxtop.kernel.topology import Grouping, Topology
from scxtop.model import LatencyBucket, LatencyHistogram, Sample

POINTS = 300
"""Samples kept per series: five minutes at 1 s."""
LINES_MAX = 8
"""Up to this many CPUs the runqueue chart draws a line per CPU; above it, bands per group."""
BANDS_MAX = 4


@dataclass(frozen=True, slots=True)
class Band:
    """A group's runqueue spread per sample: min, mean and max over its CPUs."""

    label: str
    low: tuple[float, ...]
    mean: tuple[float, ...]
    high: tuple[float, ...]


class _Series:
    def __init__(self) -> None:
        self.values: deque[float] = deque(maxlen=POINTS)


class ChartData:
    """Series for the charts and the latency totals; `add()` per sample, `clear()` on a replay seek."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.version = 0
        """Bumped by every add/clear: a widget redraws only when it changed."""
        self.clear()

    def clear(self) -> None:
        self.rq: dict[int, deque[float]] = {}
        self._groups: list[tuple[str, list[int]]] | None = None
        self._bands: dict[str, tuple[deque[float], deque[float], deque[float]]] = {}
        self.migrations_s: deque[float] = deque(maxlen=POINTS)
        self.csw_s: deque[float] = deque(maxlen=POINTS)
        self.migrations_seen = False
        self.csw_seen = False
        self.latency_last: LatencyHistogram | None = None
        self._latency_total: dict[tuple[int, int], int] = {}
        self.version += 1

    @property
    def per_cpu_lines(self) -> bool:
        return bool(self.rq)

    def add(self, sample: Sample) -> None:
        self.version += 1
        interval = sample.interval_s or 1.0
        cpus = sample.cpus
        if len(cpus) <= LINES_MAX:
            for stats in cpus:
                series = self.rq.get(stats.cpu)
                if series is None:
                    series = self.rq[stats.cpu] = deque(maxlen=POINTS)
                series.append(stats.rq or 0.0)
        else:
            self._add_bands(sample)
        total = sample.total_migrations
        self.migrations_seen |= total is not None
        self.migrations_s.append((total or 0) / interval)
        known = [c.csw for c in cpus if c.csw is not None]
        self.csw_seen |= bool(known)
        self.csw_s.append(sum(known) / interval)
        latency = sample.wakeup_latency
        self.latency_last = latency
        if latency is not None:
            for bucket in latency.buckets:
                key = (bucket.low_us, bucket.high_us)
                self._latency_total[key] = self._latency_total.get(key, 0) + bucket.count

    def _add_bands(self, sample: Sample) -> None:
        rq = {c.cpu: c.rq or 0.0 for c in sample.cpus}
        if self._groups is None:
            self._groups = self._choose_groups(sorted(rq))
        for label, members in self._groups:
            values = [rq[c] for c in members if c in rq] or [0.0]
            series = self._bands.get(label)
            if series is None:
                series = self._bands[label] = (deque(maxlen=POINTS), deque(maxlen=POINTS),
                                               deque(maxlen=POINTS))
            series[0].append(min(values))
            series[1].append(sum(values) / len(values))
            series[2].append(max(values))

    def _choose_groups(self, cpus: list[int]) -> list[tuple[str, list[int]]]:
        for grouping in (Grouping.NODE, Grouping.LLC):
            groups = self.topology.groups(grouping, cpus)
            if 2 <= len(groups) <= BANDS_MAX:
                return [(f"{grouping.value}{gid}", members) for gid, members in groups.items()]
        return [(f"cpus 0-{cpus[-1]}" if cpus else "cpus", cpus)]

    def bands(self) -> list[Band]:
        return [Band(label, tuple(lo), tuple(mean), tuple(hi))
                for label, (lo, mean, hi) in self._bands.items()]

    def latency_total(self) -> LatencyHistogram | None:
        """Every wakeup since start (or since the start of the recording up to here)."""
        if not self._latency_total:
            return None if self.latency_last is None else LatencyHistogram()
        return LatencyHistogram(tuple(LatencyBucket(lo, hi, n)
                                      for (lo, hi), n in sorted(self._latency_total.items())))


def top_of(series: Sequence[Sequence[float]], floor: float = 1.0) -> float:
    """A common scale: the largest value shown, at least `floor`."""
    return max([floor, *(max(s) for s in series if s)])
