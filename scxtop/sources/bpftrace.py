"""The live source: the probe programs in bpftrace/, run as one bpftrace, one Sample per report.

bpftrace prints its maps every `interval_s` (the report block of the combined program); each
report becomes a Sample. Changing `interval_s` restarts bpftrace with the new interval at the
next report (startup takes about 0.4 s here): the reports stay exact instead of being rebuilt
from a faster tick, and the probes cost the same at any interval. Utilisation comes from
psutil's per-CPU times (exact and cheap), the frequency from cpufreq where it exists, the
sched_ext state from sysfs.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import psutil

from scxtop.bpftrace import BpftraceProcess, Tick, build, find_bpftrace, kernel_types, ticks, tracefs_mounted
from scxtop.bpftrace.errors import BpftraceError
from scxtop.bpftrace.privileges import bpf_privilege
from scxtop.bpftrace.records import HistRecord, MapEntry, StatsRecord, by_int_key
from scxtop.chains import build_chains
from scxtop.kernel.procfs import busy_percent, read_freq_mhz
from scxtop.kernel.scx_tracker import SchedExtWatch
from scxtop.kernel.taskstats import DelayTracker
from scxtop.model import (
    CpuStats,
    LatencyBucket,
    LatencyHistogram,
    MigrationPair,
    Migrator,
    Sample,
    TaskDelay,
)
from scxtop.sources.bpftrace_edges import ended_edges, live_edges, owners_blocked_elsewhere

PROBES = ("runqueue", "context_switches", "migrations", "wakeup_latency", "mutex_waits")
PROFILE_HZ = 99  # runqueue.bt's sampling rate
TOP_DELAYED = 10
DELAYS_EVERY_S = 1.0


def bpf_unavailable_reason() -> str | None:
    """Why the bpftrace source cannot run here, in one line naming the fix; None when it can."""
    if bpf_privilege() is None:
        return "bpftrace needs root or CAP_BPF+CAP_PERFMON: run scxtop with sudo"
    try:
        find_bpftrace()
    except BpftraceError as e:
        return str(e)
    if not tracefs_mounted():
        return "tracefs is not mounted: mount -t tracefs nodev /sys/kernel/tracing"
    return None


def _per_cpu(entries: tuple[MapEntry, ...]) -> dict[int, float]:
    return {k: v for k, v in by_int_key(entries).items() if isinstance(v, int | float)}


def _pairs(entries: tuple[MapEntry, ...]) -> tuple[MigrationPair, ...]:
    pairs = []
    for e in entries:
        try:
            src, dst = (int(x) for x in e.key_fields(2))
        except ValueError:
            continue
        # A count map: scalar values.
        pairs.append(MigrationPair(src, dst, int(e.value)))  # type: ignore[arg-type]
    return tuple(sorted(pairs, key=lambda p: (p.src, p.dst)))


def _migrators(entries: tuple[MapEntry, ...], top: int) -> tuple[Migrator, ...]:
    out = []
    for e in entries:
        pid, comm = e.key_fields(2) if "," in e.key else (e.key, "")
        try:
            # A count map: scalar values.
            out.append(Migrator(int(pid), comm, int(e.value)))  # type: ignore[arg-type]
        except ValueError:
            continue
    return tuple(sorted(out, key=lambda m: (-m.count, m.pid))[:top])


def _latency(record: object) -> LatencyHistogram:
    if not isinstance(record, HistRecord):
        return LatencyHistogram()
    buckets = tuple(
        LatencyBucket(b.low or 0, (b.high + 1) if b.high is not None else (b.low or 0) * 2, b.count)
        for b in record.buckets()
        if b.count
    )
    return LatencyHistogram(buckets)


class BpftraceSource:
    """Samples from the kernel's tracepoints through bpftrace; see the module docstring."""

    name = "bpftrace"

    def __init__(self, interval_s: float = 1.0, *, binary: str | None = None, top_migrators: int = 10):
        self.interval_s = interval_s
        self.binary = binary
        self.top_migrators = top_migrators
        types = kernel_types()
        self._has = types.has if types else (lambda feature: False)
        self.has_scx = self._has("struct scx_rq")
        self.ncpu = psutil.cpu_count() or os.cpu_count() or 1
        self._proc: BpftraceProcess | None = None
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._running_interval = interval_s
        self._prev_tick_ns: int | None = None
        self._switches: dict[int, float] = {}  # rq->nr_switches per CPU at the last report
        self._cpu_times = psutil.cpu_times(percpu=True)
        self._started = time.monotonic()
        self._scx = SchedExtWatch()
        self._delays = DelayTracker()
        self._delayed: tuple[TaskDelay, ...] = ()
        self._delays_at = 0.0
        self._streaming = False
        self._released = False

    @property
    def pid(self) -> int | None:
        """bpftrace's pid while it runs (tests check it is gone after close())."""
        return self._proc.pid if self._proc else None

    def program(self, interval_s: float | None = None) -> str:
        return build(PROBES, interval_s or self.interval_s, self._has)

    def _start(self) -> BpftraceProcess | None:
        """A running bpftrace with the current interval; None when closed meanwhile."""
        self._running_interval = self.interval_s
        self._prev_tick_ns = None
        with self._lock:
            if self._closed.is_set():
                return None
            self._proc = BpftraceProcess(self.program(self._running_interval), binary=self.binary)
        return self._proc if self._proc.wait_attached() is not None else None

    def samples(self) -> Iterator[Sample]:
        """One Sample per report until close(); restarts bpftrace when interval_s changes."""
        self._started = time.monotonic()
        self._cpu_times = psutil.cpu_times(percpu=True)
        with self._lock:
            self._streaming = True
        try:
            while not self._closed.is_set():
                proc = self._start()
                if proc is None:
                    return
                for tick in ticks(proc.records()):
                    sample = self.sample(tick)
                    if sample is not None:
                        yield sample
                    if self.interval_s != self._running_interval or self._closed.is_set():
                        break
                proc.stop()
        finally:
            with self._lock:
                self._streaming = False
            self._release()

    def close(self) -> None:
        """Stop bpftrace; callable from any thread. A running stream releases the rest as it ends."""
        self._closed.set()
        with self._lock:
            if self._proc is not None:
                self._proc.stop()
            streaming = self._streaming
        if not streaming:
            self._release()

    def _release(self) -> None:
        """Close the taskstats socket and the kernel log, in the thread that used them (once)."""
        with self._lock:
            released, self._released = self._released, True
        if not released:
            self._delays.close()
            self._scx.close()

    def _delayed_tasks(self) -> tuple[TaskDelay, ...]:
        """Most run-queue-delayed tasks (taskstats), refreshed at most once a second.

        The refresh scans /proc for runnable threads (a few ms); at 0.1 s intervals doing it every
        sample would cost more than all the probes, so shorter intervals reuse the last list.
        """
        now = time.monotonic()
        if now - self._delays_at >= DELAYS_EVERY_S * 0.9:  # reports 1 s apart jitter around 1 s
            self._delays_at = now
            self._delayed = self._delays.top(TOP_DELAYED)
        return self._delayed

    def __enter__(self) -> BpftraceSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _duration_s(self, tick: Tick) -> float:
        prev, self._prev_tick_ns = self._prev_tick_ns, tick.nsecs
        return (tick.nsecs - prev) / 1e9 if prev else self._running_interval

    def _cpus(self, tick: Tick, duration_s: float, mig: tuple[MigrationPair, ...]) -> tuple[CpuStats, ...]:
        rq_sum, rq_n = _per_cpu(tick.entries("@rq_sum")), _per_cpu(tick.entries("@rq_samples"))
        rq_max = _per_cpu(tick.entries("@rq_max"))
        csw = self._switch_deltas(_per_cpu(tick.entries("@switches")))
        rq_scx = _per_cpu(tick.entries("@rq_scx_sum"))
        # The 99 Hz timer skips an idle CPU (NOHZ), so an idle CPU has fewer samples: those it
        # missed were 0. Every CPU shares one window (print and clear run once for all), so the
        # busiest CPU's count is that window; with no busy CPU, fall back to the tick's length.
        window = max(rq_n.values(), default=0) or PROFILE_HZ * duration_s
        times = psutil.cpu_times(percpu=True)
        before, self._cpu_times = self._cpu_times, times
        cpus = []
        for cpu in range(self.ncpu):
            samples = max(rq_n.get(cpu, 0), window, 1)
            cpus.append(CpuStats(
                cpu=cpu,
                rq=rq_sum.get(cpu, 0) / samples,
                rq_max=int(rq_max.get(cpu, 0)),
                rq_scx=rq_scx.get(cpu, 0) / samples if self.has_scx else None,
                util=busy_percent(before[cpu], times[cpu]) if cpu < min(len(before), len(times)) else None,
                freq_mhz=read_freq_mhz(cpu),
                csw=csw.get(cpu),
                mig_in=sum(p.count for p in mig if p.dst == cpu),
                mig_out=sum(p.count for p in mig if p.src == cpu),
            ))
        return tuple(cpus)

    def _switch_deltas(self, counters: dict[int, float]) -> dict[int, int | None]:
        """Switches since the last report from the cumulative rq->nr_switches; None before a
        CPU's first reading (the first sample), 0 for a CPU with no new reading (idle)."""
        deltas: dict[int, int | None] = {}
        for cpu in range(self.ncpu):
            before, now = self._switches.get(cpu), counters.get(cpu)
            if before is None:
                deltas[cpu] = None
            else:
                deltas[cpu] = max(0, int(now - before)) if now is not None else 0
            if now is not None:
                self._switches[cpu] = now
        return deltas

    def sample(self, tick: Tick) -> Sample | None:
        """The Sample for one report; None for a baseline report (it only primes the counters)."""
        if tick.baseline:
            self._switch_deltas(_per_cpu(tick.entries("@switches")))
            return None
        duration = self._duration_s(tick)
        mig = _pairs(tick.entries("@mig"))
        live = live_edges(tick.nsecs, tick.entries("@mutex_since"), tick.entries("@mutex_edge"))
        blocked = (
            live
            + owners_blocked_elsewhere(tick.entries("@mutex_edge"), live)
            + ended_edges(tick.entries("@mutex_last"), tick.entries("@mutex_ended_ns"))
        )
        hist = tick.maps.get("@wakeup_us")
        scx, scx_events = self._scx.poll()
        return Sample(
            time=time.time(),
            elapsed_s=time.monotonic() - self._started,
            interval_s=duration,
            source=self.name,
            cpus=self._cpus(tick, duration, mig),
            migrations=mig,
            top_migrators=_migrators(tick.entries("@migrator"), self.top_migrators),
            blocked=tuple(blocked),
            chains=build_chains(blocked),
            wakeup_latency=_latency(hist if not isinstance(hist, StatsRecord) else None),
            delayed_tasks=self._delayed_tasks(),
            scx=scx,
            scx_events=scx_events,
            lost_events=tick.lost_events,
            limitations=(self._delays.limitation,) if self._delays.limitation else (),
        )
