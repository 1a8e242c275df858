"""The metric families, built by a prometheus-client custom collector from the latest snapshot.

`collect()` reads one immutable `Snapshot` (the latest completed interval and the running
totals) and nothing else: a scrape never starts collection, never waits for the source, and two
scrapes of the same interval see the same numbers. Naming follows Prometheus' conventions: the
`scxtop_` prefix, base units in the name (seconds, ratio, bytes), `_total` on counters.
A value the source cannot see (None in the model) gives no series at all, never a 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
)
from prometheus_client.samples import Sample as PSample
from prometheus_client.utils import floatToGoString

from scxtop.export.totals import LATENCY_BOUNDS_US, Totals
from scxtop.model import Sample

SCX_STATES = ("enabled", "disabled", "enabling", "disabling")
"""The kernel's `enum scx_enable_state`, as /sys/kernel/sched_ext/state spells it."""

LE_BOUNDS: tuple[str, ...] = (*(floatToGoString(us / 1e6) for us in LATENCY_BOUNDS_US), "+Inf")

HELP = {
    # self-monitoring
    "scxtop_source": "The source scxtop collects from, and its engine's version (bpftrace's).",
    "scxtop_sample_timestamp_seconds": "End of the interval these metrics describe (seconds since the "
                                       "epoch); it stops moving while the source restarts.",
    "scxtop_interval_seconds": "Length of the interval the gauges describe.",
    "scxtop_source_restarts_total": "Times the source stopped unexpectedly and was started again.",
    "scxtop_bpftrace_lost_events_total": "Events bpftrace dropped because its buffers were full.",
    # per CPU
    "scxtop_cpu_runqueue_length": "Runnable tasks on the CPU's runqueue (rq->nr_running: all classes, the "
                                  "running one included), mean over the interval.",
    "scxtop_cpu_runqueue_length_max": "Highest rq->nr_running seen on the CPU during the interval.",
    "scxtop_cpu_runqueue_sched_ext_length": "sched_ext share of the runqueue (rq->scx.nr_running), mean over "
                                            "the interval.",
    "scxtop_cpu_utilisation_ratio": "Busy share of the CPU over the interval, 0..1.",
    "scxtop_cpu_context_switches_total": "Context switches on the CPU since scxtop started.",
    "scxtop_cpu_migrations_in_total": "Task migrations onto the CPU since scxtop started.",
    "scxtop_cpu_migrations_out_total": "Task migrations off the CPU since scxtop started.",
    # whole machine
    "scxtop_migrations_total": "Task migrations between CPUs since scxtop started (sched_migrate_task).",
    "scxtop_cpu_pair_migrations_total": "Task migrations from src_cpu to dst_cpu since scxtop started. One "
                                        "series per pair that migrated, up to N*(N-1): on only with "
                                        "--cpu-pair-migrations.",
    "scxtop_wakeup_latency_seconds": "Wakeup-to-run latency (sched_wakeup to sched_switch) in log2 buckets, "
                                     "as runqlat; no _sum, which log2 buckets cannot give.",
    "scxtop_blocked_tasks": "Tasks blocked on a kernel mutex at the end of the interval.",
    "scxtop_blocked_chains": "Mutex blocked-on chains (waiter -> owner -> ...) at the end of the interval.",
    "scxtop_blocked_chain_depth_max": "Tasks in the longest blocked-on chain.",
    "scxtop_priority_inversions": "Waiters behind a lower-priority or preempted owner at their chain's head.",
    "scxtop_task_delay_seconds_total": "Run-queue wait (delay accounting) of the most delayed tasks "
                                       "scxtop follows, each nanosecond counted once: a lower bound for "
                                       "the machine.",
    # sched_ext
    "scxtop_sched_ext_state": "sched_ext state (/sys/kernel/sched_ext/state).",
    "scxtop_sched_ext_ops": "The running sched_ext scheduler (root/ops); empty when none runs and the "
                            "kernel's own fair class schedules.",
    "scxtop_sched_ext_enable_seq": "Times a sched_ext scheduler was enabled since boot (enable_seq).",
    "scxtop_sched_ext_nr_rejected": "Tasks the running scheduler rejected (nr_rejected).",
    "scxtop_sched_ext_events_total": "The kernel's sched_ext event counters (root/events), added up across "
                                     "scheduler loads.",
    "scxtop_sched_ext_changes_total": "Changes of the running sched_ext scheduler seen since scxtop started, "
                                      "by kind: loaded, unloaded, switched, ejected, switch_failed.",
}


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a scrape reports: the latest completed interval and the counters up to it."""

    sample: Sample
    totals: Totals
    source: str
    """The source that produced it (`bpftrace`, `procfs`, `replay`)."""
    version: str | None = None
    """The source engine's version where it has one (bpftrace's)."""
    restarts: int | None = None
    """Source restarts so far (serve); None where nothing restarts (log --textfile)."""


def _unit(name: str) -> str:
    for unit in ("seconds", "ratio", "bytes"):
        if name.removesuffix("_total").endswith("_" + unit):
            return unit
    return ""


def gauge(name: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, HELP[name], labels=labels, unit=_unit(name))


def counter(name: str, labels: list[str] | None = None) -> CounterMetricFamily:
    return CounterMetricFamily(name, HELP[name], labels=labels, unit=_unit(name))


def _gauge(name: str, value: float | None) -> Iterator[Metric]:
    if value is not None:
        yield GaugeMetricFamily(name, HELP[name], value=value, unit=_unit(name))


def _counter(name: str, value: float | None) -> Iterator[Metric]:
    if value is not None:
        yield CounterMetricFamily(name, HELP[name], value=value, unit=_unit(name))


class SampleCollector:
    """A prometheus-client Collector over `latest()`; yields nothing before the first interval."""

    def __init__(self, latest: Callable[[], Snapshot | None]) -> None:
        self._latest = latest
        self._cpu_labels: dict[int, dict[str, str]] = {}

    def _cpu_label(self, cpu: int) -> dict[str, str]:
        """One shared, read-only label dict per CPU: 7 series per CPU at 1024 CPUs add up."""
        label = self._cpu_labels.get(cpu)
        if label is None:
            label = self._cpu_labels[cpu] = {"cpu": str(cpu)}
        return label

    def describe(self) -> list[Metric]:
        return []  # names vary with what the source sees; nothing to clash with in our own registry

    def collect(self) -> Iterator[Metric]:
        snap = self._latest()
        if snap is None:
            return
        yield from self._self_monitoring(snap)
        yield from self._cpus(snap.sample, snap.totals)
        yield from self._machine(snap.sample, snap.totals)
        yield from self._sched_ext(snap.sample, snap.totals)

    def _self_monitoring(self, snap: Snapshot) -> Iterator[Metric]:
        info = {"source": snap.source}
        if snap.version:
            info["version"] = snap.version
        yield InfoMetricFamily("scxtop_source", HELP["scxtop_source"], value=info)
        yield from _gauge("scxtop_sample_timestamp_seconds", snap.sample.time)
        yield from _gauge("scxtop_interval_seconds", snap.sample.interval_s)
        yield from _counter("scxtop_source_restarts_total", snap.restarts)
        yield from _counter("scxtop_bpftrace_lost_events_total", snap.totals.lost_events)

    def _cpus(self, sample: Sample, totals: Totals) -> Iterator[Metric]:
        rq, rq_max, rq_scx, util = (gauge(name, ["cpu"]) for name in (
            "scxtop_cpu_runqueue_length", "scxtop_cpu_runqueue_length_max",
            "scxtop_cpu_runqueue_sched_ext_length", "scxtop_cpu_utilisation_ratio"))
        label = self._cpu_label
        for c in sample.cpus:
            cpu = label(c.cpu)
            if c.rq is not None:
                rq.samples.append(PSample(rq.name, cpu, c.rq))
            if c.rq_max is not None:
                rq_max.samples.append(PSample(rq_max.name, cpu, c.rq_max))
            if c.rq_scx is not None:
                rq_scx.samples.append(PSample(rq_scx.name, cpu, c.rq_scx))
            if c.util is not None:
                util.samples.append(PSample(util.name, cpu, c.util / 100.0))
        csw, mig_in, mig_out = (counter(name, ["cpu"]) for name in (
            "scxtop_cpu_context_switches_total", "scxtop_cpu_migrations_in_total",
            "scxtop_cpu_migrations_out_total"))
        csw_name, in_name, out_name = (f.name + "_total" for f in (csw, mig_in, mig_out))
        for t in totals.cpus:
            cpu = label(t.cpu)
            if t.context_switches is not None:
                csw.samples.append(PSample(csw_name, cpu, t.context_switches))
            if t.migrations_in is not None:
                mig_in.samples.append(PSample(in_name, cpu, t.migrations_in))
            if t.migrations_out is not None:
                mig_out.samples.append(PSample(out_name, cpu, t.migrations_out))
        for family in (rq, rq_max, rq_scx, util, csw, mig_in, mig_out):
            if family.samples:
                yield family

    def _machine(self, sample: Sample, totals: Totals) -> Iterator[Metric]:
        yield from _counter("scxtop_migrations_total", totals.migrations)
        if totals.pairs is not None:
            pairs = counter("scxtop_cpu_pair_migrations_total", ["src_cpu", "dst_cpu"])
            for p in totals.pairs:
                pairs.add_metric([str(p.src), str(p.dst)], p.count)
            yield pairs
        if totals.wakeup_latency is not None:
            name = "scxtop_wakeup_latency_seconds"
            buckets = list(zip(LE_BOUNDS, totals.wakeup_latency.cumulative, strict=True))
            # No sum: log2 buckets do not give one, and an estimate would be made up.
            yield HistogramMetricFamily(name, HELP[name], buckets=buckets, unit="seconds")
        yield from _gauge("scxtop_blocked_tasks", sample.blocked_tasks)
        yield from _gauge("scxtop_blocked_chains", None if sample.chains is None else len(sample.chains))
        yield from _gauge("scxtop_blocked_chain_depth_max", sample.max_chain_depth)
        yield from _gauge("scxtop_priority_inversions", sample.inversions)
        delay = totals.task_delay_ns
        yield from _counter("scxtop_task_delay_seconds_total", None if delay is None else delay / 1e9)

    def _sched_ext(self, sample: Sample, totals: Totals) -> Iterator[Metric]:
        scx = sample.scx
        if scx.supported and scx.state is not None:
            states = dict.fromkeys(SCX_STATES, False)
            states[scx.state] = True
            yield StateSetMetricFamily("scxtop_sched_ext_state", HELP["scxtop_sched_ext_state"], value=states)
        if scx.supported:
            ops = {"ops": scx.ops or ""}
            yield InfoMetricFamily("scxtop_sched_ext_ops", HELP["scxtop_sched_ext_ops"], value=ops)
        yield from _gauge("scxtop_sched_ext_enable_seq", scx.enable_seq)
        yield from _gauge("scxtop_sched_ext_nr_rejected", scx.nr_rejected)
        if totals.scx_kernel_events is not None:
            events = counter("scxtop_sched_ext_events_total", ["event"])
            for event, value in totals.scx_kernel_events:
                events.add_metric([event], value)
            yield events
        if totals.scx_changes is not None:
            changes = counter("scxtop_sched_ext_changes_total", ["kind"])
            for kind, count in totals.scx_changes:
                changes.add_metric([kind.value], count)
            yield changes
