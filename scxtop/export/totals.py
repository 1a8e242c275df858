"""Monotonic counters from per-interval samples.

A `Sample` holds what happened during one interval (context switches, migrations, wakeups...);
Prometheus wants counters that only grow. `Accumulator` adds each interval's deltas to running
totals that live outside the source, so they keep growing across a bpftrace restart or an
`auto` fallback. A counter exists from the first interval that could see it: an interval that
cannot (None: the first bpftrace report has no context-switch baseline, procfs has no
migrations) adds nothing and removes nothing; a counter never seen stays absent, never 0.

The kernel's sched_ext event counters are already cumulative but restart with every scheduler
load: their total is the kernel value plus what earlier loads had counted when they ended.
"""

from __future__ import annotations

from dataclasses import dataclass

from scxtop.model import LatencyHistogram, Sample, SchedExtEventKind, SchedExtState

LATENCY_BOUNDS_US: tuple[int, ...] = tuple(1 << k for k in range(27))
"""Fixed histogram bucket bounds (µs): 1 µs .. 67 s by powers of two, as bpftrace's hist() and
runqlat bucket; a bucket whose upper bound is above the last goes to +Inf."""

TASK_MEMORY_INTERVALS = 120
"""A task's last delay total is kept this many intervals after it was last among the delayed."""


@dataclass(frozen=True, slots=True)
class CpuTotals:
    """Counters for one CPU since collection started; None until the source has seen that kind."""

    cpu: int
    context_switches: int | None = None
    migrations_in: int | None = None
    migrations_out: int | None = None


@dataclass(frozen=True, slots=True)
class PairTotal:
    src: int
    dst: int
    count: int


@dataclass(frozen=True, slots=True)
class LatencyTotals:
    """Cumulative bucket counts aligned with LATENCY_BOUNDS_US, then +Inf (Prometheus `le` buckets)."""

    cumulative: tuple[int, ...]

    @property
    def count(self) -> int:
        return self.cumulative[-1]


@dataclass(frozen=True, slots=True)
class Totals:
    """Every counter, as of the latest interval: an immutable snapshot that a scrape reads."""

    intervals: int = 0
    cpus: tuple[CpuTotals, ...] = ()
    migrations: int | None = None
    pairs: tuple[PairTotal, ...] | None = None
    wakeup_latency: LatencyTotals | None = None
    task_delay_ns: int | None = None
    lost_events: int | None = None
    scx_changes: tuple[tuple[SchedExtEventKind, int], ...] | None = None
    scx_kernel_events: tuple[tuple[str, int], ...] | None = None


def _add(total: int | None, delta: int | None) -> int | None:
    if delta is None:
        return total
    return max(0, delta) + (total or 0)


def bucket_index(high_us: int) -> int:
    """Index of the first fixed bound >= high_us (len(LATENCY_BOUNDS_US) is +Inf).

    A model bucket holds latencies in [low, high): all of them are <= high, so they count in
    the `le` bucket of the first bound at or above high."""
    for i, bound in enumerate(LATENCY_BOUNDS_US):
        if high_us <= bound:
            return i
    return len(LATENCY_BOUNDS_US)


class _KernelCounters:
    """sched_ext's root/events: cumulative per scheduler load, made monotonic across loads."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}
        self._offset: dict[str, int] = {}
        self._enable_seq: int | None = None
        self.seen = False

    def update(self, scx: SchedExtState) -> None:
        if not scx.events:
            return
        seq = scx.enable_seq
        reloaded = seq is not None and self._enable_seq is not None and seq != self._enable_seq
        self._enable_seq = seq if seq is not None else self._enable_seq
        for name, value in scx.events:
            last = self._last.get(name)
            if last is not None and (reloaded or value < last):
                self._offset[name] = self._offset.get(name, 0) + last
            self._last[name] = value
        self.seen = True

    def totals(self) -> tuple[tuple[str, int], ...]:
        return tuple(sorted((name, self._offset.get(name, 0) + last) for name, last in self._last.items()))


class Accumulator:
    """Adds each Sample's deltas to running totals; `add()` returns the new immutable `Totals`."""

    def __init__(self, track_pairs: bool = False) -> None:
        self.track_pairs = track_pairs
        self._intervals = 0
        self._cpus: dict[int, list[int | None]] = {}
        self._migrations: int | None = None
        self._pairs: dict[tuple[int, int], int] | None = None
        self._latency: list[int] | None = None
        self._delay_ns: int | None = None
        self._task_delay: dict[int, tuple[int, int]] = {}  # tid -> (last total_delay_ns, interval seen)
        self._lost: int | None = None
        self._changes: dict[SchedExtEventKind, int] | None = None
        self._kernel = _KernelCounters()
        self._cpu_cache: tuple[CpuTotals, ...] = ()

    def add(self, sample: Sample) -> Totals:
        self._intervals += 1
        self._add_cpus(sample)
        self._migrations = _add(self._migrations, sample.total_migrations)
        if self.track_pairs and sample.migrations is not None:
            pairs = self._pairs if self._pairs is not None else {}
            for p in sample.migrations:
                pairs[(p.src, p.dst)] = pairs.get((p.src, p.dst), 0) + max(0, p.count)
            self._pairs = pairs
        if sample.wakeup_latency is not None:
            self._add_latency(sample.wakeup_latency)
        if sample.delayed_tasks is not None:
            self._add_delays(sample)
        if sample.source == "bpftrace":
            self._lost = _add(self._lost, sample.lost_events)
        if sample.scx.supported:
            changes = self._changes if self._changes is not None else dict.fromkeys(SchedExtEventKind, 0)
            for event in sample.scx_events:
                changes[event.kind] = changes.get(event.kind, 0) + 1
            self._changes = changes
        self._kernel.update(sample.scx)
        return self.totals()

    def _add_cpus(self, sample: Sample) -> None:
        changed = False
        for stats in sample.cpus:
            row = self._cpus.get(stats.cpu)
            if row is None:
                row = self._cpus[stats.cpu] = [None, None, None]
                changed = True
            for i, delta in enumerate((stats.csw, stats.mig_in, stats.mig_out)):
                if delta is not None:
                    row[i] = (row[i] or 0) + max(0, delta)
                    changed = True
        if changed or not self._cpu_cache:
            self._cpu_cache = tuple(CpuTotals(cpu, *row) for cpu, row in sorted(self._cpus.items()))

    def _add_latency(self, hist: LatencyHistogram) -> None:
        per_bucket = [0] * (len(LATENCY_BOUNDS_US) + 1)
        for bucket in hist.buckets:
            per_bucket[bucket_index(bucket.high_us)] += max(0, bucket.count)
        totals = self._latency if self._latency is not None else [0] * len(per_bucket)
        running = 0
        for i, count in enumerate(per_bucket):
            running += count
            totals[i] += running
        self._latency = totals

    def _add_delays(self, sample: Sample) -> None:
        """Run-queue wait of the delayed tasks the source follows, each nanosecond counted once.

        A task's `total_delay_ns` is cumulative, so its growth since we last saw it is new wait;
        a task seen for the first time brings its interval's `delay_ns`. A list the source
        re-uses for several short intervals therefore adds nothing the second time."""
        added = 0
        for task in sample.delayed_tasks or ():
            before = self._task_delay.get(task.pid)
            if task.total_delay_ns and before is not None and task.total_delay_ns >= before[0]:
                added += task.total_delay_ns - before[0]
            else:  # first sight, a recycled pid, or a source without totals
                added += max(0, task.delay_ns)
            if task.total_delay_ns:
                self._task_delay[task.pid] = (task.total_delay_ns, self._intervals)
        self._delay_ns = (self._delay_ns or 0) + added
        if len(self._task_delay) > 1024 or self._intervals % 64 == 0:
            oldest = self._intervals - TASK_MEMORY_INTERVALS
            self._task_delay = {tid: v for tid, v in self._task_delay.items() if v[1] >= oldest}

    def totals(self) -> Totals:
        latency = None
        if self._latency is not None:
            latency = LatencyTotals(tuple(self._latency))
        return Totals(
            intervals=self._intervals,
            cpus=self._cpu_cache,
            migrations=self._migrations,
            pairs=None if self._pairs is None else tuple(
                PairTotal(src, dst, n) for (src, dst), n in sorted(self._pairs.items())),
            wakeup_latency=latency,
            task_delay_ns=self._delay_ns,
            lost_events=self._lost,
            scx_changes=None if self._changes is None else tuple(
                (kind, self._changes.get(kind, 0)) for kind in SchedExtEventKind),
            scx_kernel_events=self._kernel.totals() if self._kernel.seen else None,
        )
