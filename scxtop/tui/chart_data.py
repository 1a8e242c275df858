"""What the charts and the latency histogram show, kept without Textual: series over the last
minutes and the wakeup-latency histogram since start, appended once per sample (not per render).

A chart point covers at least POINT_S: samples of a shorter interval are averaged into one, so the
charts span the same minutes at 0.1 s as at 1 s, and change (and are redrawn) once a second.

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
"""Points kept per series: five minutes at 1 s."""
POINT_S = 1.0
"""The shortest time a chart point covers."""
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


class _Pending:
    """The samples of the chart point being gathered: sums over the time they cover."""

    def __init__(self) -> None:
        self.covered_s = 0.0
        self.last_s = 0.0
        self._rq_time: dict[int, float] = {}
        self.migrations = 0
        self.migrations_seen = False
        self.csw = 0
        self.csw_seen = False

    def add(self, sample: Sample) -> None:
        interval = sample.interval_s or 1.0
        self.covered_s += interval
        self.last_s = interval
        for stats in sample.cpus:
            self._rq_time[stats.cpu] = self._rq_time.get(stats.cpu, 0.0) + (stats.rq or 0.0) * interval
        total = sample.total_migrations
        self.migrations_seen |= total is not None
        self.migrations += total or 0
        known = [c.csw for c in sample.cpus if c.csw is not None]
        self.csw_seen |= bool(known)
        self.csw += sum(known)

    def rq(self) -> dict[int, float]:
        """Each CPU's runqueue length averaged over the time the point covers."""
        return {cpu: total / self.covered_s for cpu, total in self._rq_time.items()}


class ChartData:
    """Series for the charts and the latency totals; `add()` per sample, `clear()` on a replay seek."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.version = 0
        """Bumped by every chart point and clear: a widget redraws only when it changed."""
        self.latency_version = 0
        """Bumped by every sample (its latency histogram) and clear."""
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
        self._pending = _Pending()
        self._points = 0
        self.version += 1
        self.latency_version += 1

    @property
    def per_cpu_lines(self) -> bool:
        return bool(self.rq)

    def add(self, sample: Sample) -> None:
        self._add_latency(sample.wakeup_latency)
        pending = self._pending
        pending.add(sample)
        if self._points and pending.covered_s < POINT_S - pending.last_s / 2:
            return  # the first point at once (an empty chart says nothing), then one per POINT_S
        self._add_point(pending)
        self._pending = _Pending()
        self._points += 1
        self.version += 1

    def _add_latency(self, latency: LatencyHistogram | None) -> None:
        self.latency_version += 1
        self.latency_last = latency
        if latency is not None:
            for bucket in latency.buckets:
                key = (bucket.low_us, bucket.high_us)
                self._latency_total[key] = self._latency_total.get(key, 0) + bucket.count

    def _add_point(self, point: _Pending) -> None:
        rq = point.rq()
        if len(rq) <= LINES_MAX:
            for cpu, value in rq.items():
                series = self.rq.get(cpu)
                if series is None:
                    series = self.rq[cpu] = deque(maxlen=POINTS)
                series.append(value)
        else:
            self._add_bands(rq)
        self.migrations_seen |= point.migrations_seen
        self.migrations_s.append(point.migrations / point.covered_s)
        self.csw_seen |= point.csw_seen
        self.csw_s.append(point.csw / point.covered_s)

    def _add_bands(self, rq: dict[int, float]) -> None:
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
