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
from dataclasses import dataclass, replace

import psutil

from scxtop import stopsignals
from scxtop.bpftrace import BpftraceProcess, Tick, build, find_bpftrace, kernel_types, ticks, tracefs_mounted
from scxtop.bpftrace.errors import BpftraceError
from scxtop.bpftrace.privileges import bpf_privilege
from scxtop.bpftrace.process import bpftrace_version
from scxtop.bpftrace.programs import bpftrace_has, untested_note
from scxtop.bpftrace.records import HistRecord, MapEntry, StatsRecord, by_int_key
from scxtop.bpftrace.ticks import TickClock, TickTime
from scxtop.chains import build_chains
from scxtop.kernel.procfs import busy_percent, read_freq_mhz, task_comm
from scxtop.kernel.scx_tracker import SchedExtWatch
from scxtop.kernel.taskstats import DelayTrackerOpening
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

# wakeup_latency first: its sched_wakeup block gives @wake_ts its type before the merged
# sched_switch block reads (and casts) it; bpftrace 0.17 cannot cast a map it has not typed yet.
PROBES = ("wakeup_latency", "runqueue", "context_switches", "migrations", "mutex_waits")
PROFILE_HZ = 99  # runqueue.bt's sampling rate
RQ_PEAK_NOTE = "rq peak from 99 Hz samples"
"""What the cheaper runqueue probe gives up (README, "Cost"): bursts between samples."""
TOP_DELAYED = 10
DELAYS_EVERY_S = 1.0
GAP_NOTE_S = 10.0
"""How long the status line keeps saying that data is missing after a gap."""


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


@dataclass(frozen=True, slots=True)
class RunqueueSums:
    """runqueue.bt's @rq[cpu, field] for one report: per CPU, the sums and the sample count."""

    rq: dict[int, int]
    scx: dict[int, int]
    samples: dict[int, int]


RQ_SUMS, RQ_SAMPLES = 0, 1
"""The fields of @rq: sum(rq->nr_running + (rq->scx.nr_running << 32)), sum(1)."""
_LOW32, _U64 = (1 << 32) - 1, (1 << 64) - 1


def _runqueue(entries: tuple[MapEntry, ...]) -> RunqueueSums:
    """@rq split into its fields; the sums field holds rq->scx.nr_running's in its high 32 bits."""
    out = RunqueueSums({}, {}, {})
    for e in entries:
        try:
            cpu, field = (int(x) for x in e.key_fields(2))
        except ValueError:
            continue
        if not isinstance(e.value, int) or isinstance(e.value, bool):
            continue
        value = e.value & _U64  # 0.17 prints sums as signed 64-bit integers
        if field == RQ_SUMS:
            out.rq[cpu], out.scx[cpu] = value & _LOW32, value >> 32
        elif field == RQ_SAMPLES:
            out.samples[cpu] = value
    return out


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
    ranked = sorted(out, key=lambda m: (-m.count, m.pid))[:top]
    return tuple(replace(m, comm=task_comm(m.pid)) if not m.comm else m for m in ranked)


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
        self._kernel_has = types.has if types else (lambda feature: False)
        self._version: tuple[int, int] | None = None
        self.has_scx = self._kernel_has("struct scx_rq")
        self.ncpu = psutil.cpu_count() or os.cpu_count() or 1
        self._proc: BpftraceProcess | None = None
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._running_interval = interval_s
        self._clock = TickClock(interval_s, time.monotonic_ns())
        self._gap_note: tuple[str, float] | None = None  # (note, until monotonic)
        self._switches: dict[int, float] = {}  # rq->nr_switches per CPU at the last report
        self._cpu_times = psutil.cpu_times(percpu=True)
        self._started = time.monotonic()
        self._scx = SchedExtWatch()
        self._delays = DelayTrackerOpening()
        self._delays.start()
        self._delayed: tuple[TaskDelay, ...] = ()
        self._delays_at = 0.0
        self._streaming = False
        self._released = False

    @property
    def pid(self) -> int | None:
        """bpftrace's pid while it runs (tests check it is gone after close())."""
        return self._proc.pid if self._proc else None

    def _bpftrace(self) -> tuple[int, int]:
        """bpftrace's (major, minor), asked once (`bpftrace --version`)."""
        if self._version is None:
            v = bpftrace_version(self.binary)
            self._version = (v.major, v.minor)
        return self._version

    def _has(self, feature: str) -> bool:
        if feature.startswith("bpftrace "):
            return bpftrace_has(self._bpftrace())(feature)
        return self._kernel_has(feature)

    def program(self, interval_s: float | None = None) -> str:
        return build(PROBES, interval_s or self.interval_s, self._has)

    def _start(self) -> BpftraceProcess | None:
        """A running bpftrace with the current interval; None when closed meanwhile."""
        self._running_interval = self.interval_s
        self._clock.restart(self._running_interval)
        with self._lock:
            if self._closed.is_set():
                return None
            program = self.program(self._running_interval)
            with stopsignals.deferred():  # a stop signal lands once the child is recorded
                self._proc = BpftraceProcess(program, binary=self.binary)
        try:
            return self._proc if self._proc.wait_attached() is not None else None
        except BpftraceError as err:
            untested = untested_note(self._bpftrace())
            if untested is None:
                raise
            raise type(err)(f"{err} ({untested})") from None

    def samples(self) -> Iterator[Sample]:
        """One Sample per report until close(); restarts bpftrace when interval_s changes."""
        self._started = time.monotonic()
        self._clock = TickClock(self.interval_s, time.monotonic_ns())
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
            tracker = self._delays.get()
            self._delayed = tracker.top(TOP_DELAYED) if tracker is not None else ()
        return self._delayed

    def __enter__(self) -> BpftraceSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _cpus(self, tick: Tick, duration_s: float, mig: tuple[MigrationPair, ...]) -> tuple[CpuStats, ...]:
        runqueue = _runqueue(tick.entries("@rq"))
        rq_max = _per_cpu(tick.entries("@rq_max"))
        csw = self._switch_deltas(_per_cpu(tick.entries("@switches")))
        # The 99 Hz timer skips an idle CPU (NOHZ), so an idle CPU has fewer samples: those it
        # missed were 0. Every CPU shares one window (one print and one clear of @rq for all),
        # so the busiest CPU's count is that window; with no busy CPU, the tick's length.
        window = max(runqueue.samples.values(), default=0) or PROFILE_HZ * duration_s
        times = psutil.cpu_times(percpu=True)
        before, self._cpu_times = self._cpu_times, times
        cpus = []
        for cpu in range(self.ncpu):
            samples = max(runqueue.samples.get(cpu, 0), window, 1)
            cpus.append(CpuStats(
                cpu=cpu,
                rq=runqueue.rq.get(cpu, 0) / samples,
                rq_max=int(rq_max.get(cpu, 0)),
                rq_scx=runqueue.scx.get(cpu, 0) / samples if self.has_scx else None,
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

    def sample(self, tick: Tick, read_ns: int | None = None) -> Sample | None:
        """The Sample for one report; None for a baseline report (it only primes the counters).

        `read_ns`: when the report was read (CLOCK_MONOTONIC, as bpftrace's nsecs), now by default.
        """
        if tick.baseline:
            self._switch_deltas(_per_cpu(tick.entries("@switches")))
            return None
        when = self._clock.time(tick.nsecs, time.monotonic_ns() if read_ns is None else read_ns, time.time())
        if when.gap:
            return self._gap(tick, when)
        duration = when.interval_s
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
            time=when.time,
            elapsed_s=when.elapsed_s,
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
            limitations=self._notes(),
        )

    def _notes(self) -> tuple[str, ...]:
        notes: tuple[str, ...] = (RQ_PEAK_NOTE,)
        if self._delays.limitation:
            notes += (self._delays.limitation,)
        if self._version is not None and (untested := untested_note(self._version)):
            notes += (untested,)
        if self._gap_note is not None and time.monotonic() < self._gap_note[1]:
            notes += (self._gap_note[0],)
        return notes

    def _gap(self, tick: Tick, when: TickTime) -> Sample:
        """A row for an interval bpftrace did not see: its tick's time, no values.

        The counters restart from this report, so the next row covers only what it saw."""
        self._switch_deltas(_per_cpu(tick.entries("@switches")))
        self._cpu_times = psutil.cpu_times(percpu=True)
        clock = time.strftime("%H:%M:%S", time.localtime(when.time))
        self._gap_note = (f"no data at {clock} (bpftrace stalled, report {when.late_s:.1f} s late)",
                          time.monotonic() + max(GAP_NOTE_S, 5 * self._running_interval))
        return Sample(
            time=when.time,
            elapsed_s=when.elapsed_s,
            interval_s=when.interval_s,
            source=self.name,
            cpus=tuple(CpuStats(cpu=cpu) for cpu in range(self.ncpu)),
            lost_events=tick.lost_events,
            limitations=self._notes(),
            gap=True,
        )
