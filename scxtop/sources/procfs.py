"""The source that needs no BPF: /proc and /sys, readable by any user.

- rq: runnable threads (state R) counted per CPU by the `processor` field of
  /proc/*/task/*/stat, averaged over up to MAX_SCANS snapshots per interval, as many as fit in
  SCAN_BUDGET of it (one on a box with very many threads); our own scanning thread is left out;
- util: per-CPU busy share from psutil's cpu_times;
- csw: per-CPU `schedule()` calls from /proc/schedstat where the kernel has schedstats,
  otherwise None (the kernel counts context switches per CPU but shows only the total);
- freq: cpufreq's scaling_cur_freq where it exists;
- most delayed tasks: the delay tracker (taskstats), fed with the runnable threads we saw.
Migrations, mutex chains and wakeup latency need BPF: they stay None and `limitations` says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

from scxtop.kernel.procfs import busy_percent, read_freq_mhz, read_schedstat
from scxtop.kernel.scx_tracker import SchedExtWatch
from scxtop.kernel.taskstats import DelayTrackerOpening
from scxtop.kernel.threads import ThreadStat, scan_threads
from scxtop.model import CpuStats, Sample
from scxtop.sources.pacing import Pacer

NO_BPF = "procfs: no migrations, mutex chains or wakeup latency (BPF needed: run as root with bpftrace)"
SCAN_BUDGET = 0.01
"""Share of each interval the runnable-thread snapshots may take."""
MAX_SCANS = 5
NO_CSW = "procfs: no per-CPU context switches (kernel without schedstats)"


def count_runnable(cpus: int, runnable: list[ThreadStat]) -> list[int]:
    counts = [0] * cpus
    for stat in runnable:
        if 0 <= stat.cpu < cpus:
            counts[stat.cpu] += 1
    return counts


class ProcfsSource:
    """Samples from /proc and /sys once per interval; cheap enough for 1 s on thousands of threads."""

    name = "procfs"

    def __init__(self, interval_s: float = 1.0, proc: str = "/proc", delayed_tasks: int = 10,
                 schedstat: Path = Path("/proc/schedstat"), first_interval_s: float | None = None) -> None:
        """The first interval starts here, not at `samples()`: a source opened while the dashboard
        is still importing has its first sample ready when the screen is. `first_interval_s`
        (when shorter) makes the first sample come sooner than `interval_s`."""
        self.interval_s = interval_s
        self._first_interval_s = first_interval_s
        self._proc = proc
        self._schedstat = schedstat
        self._top_n = delayed_tasks
        # opened once the first sample is out (not while the dashboard imports Textual, nor while
        # it takes that sample); the first could not show delays anyway (a task's delay is the
        # growth of its total between two intervals)
        self._delays = DelayTrackerOpening(proc=proc)
        self._scx = SchedExtWatch()
        self._closed = False
        self._lock = threading.Lock()
        self._scan_cost_s = 0.0
        self._ncpu = psutil.cpu_count() or 1
        self._times = psutil.cpu_times(percpu=True)
        self._switches = read_schedstat(self._schedstat)
        self._pacer = Pacer()
        self._read_at = self._pacer.started

    def _scan(self) -> list[ThreadStat]:
        started = time.perf_counter()
        runnable = scan_threads(self._proc, skip_tid=threading.get_native_id())
        self._scan_cost_s = time.perf_counter() - started
        return runnable

    def scans_per_interval(self, interval_s: float | None = None) -> int:
        """As many snapshots as fit in SCAN_BUDGET of the interval (1 to MAX_SCANS)."""
        interval_s = self.interval_s if interval_s is None else interval_s
        fit = int(SCAN_BUDGET * interval_s / max(self._scan_cost_s, 1e-6))
        return max(1, min(MAX_SCANS, fit))

    def samples(self) -> Iterator[Sample]:
        ncpu, times, switches, read_at = self._ncpu, self._times, self._switches, self._read_at
        self._scan()
        first = True
        try:
            while True:
                interval = self.interval_s
                if first and self._first_interval_s is not None:
                    interval = min(interval, self._first_interval_s)
                elif not first and self._top_n:
                    # after the first sample: the import would hold the interpreter while the
                    # first sample is taken (0.13 s later in half the dashboard's starts)
                    self._delays.start()
                # an interval already over (the source was opened ahead) gets one snapshot, now
                scans = 1 if self._pacer.overdue(interval) else self.scans_per_interval(interval)
                counts: list[list[int]] = []
                seen: dict[int, ThreadStat] = {}
                for _ in range(scans):
                    if not self._pacer.wait(interval / scans):
                        return
                    runnable = self._scan()
                    counts.append(count_runnable(ncpu, runnable))
                    seen.update((t.tid, t) for t in runnable)
                now_times = psutil.cpu_times(percpu=True)
                now_switches = read_schedstat(self._schedstat)
                # The time the counters' deltas cover, not the interval asked for: a stalled
                # machine (or a slow reader of samples) stretches it, and csw/s must not grow.
                now_at = time.monotonic()
                covered, read_at = now_at - read_at, now_at
                cpus = tuple(
                    CpuStats(
                        cpu=cpu,
                        rq=sum(c[cpu] for c in counts) / len(counts),
                        rq_max=max(c[cpu] for c in counts),
                        util=busy_percent(times[cpu], now_times[cpu]) if cpu < len(now_times) else None,
                        freq_mhz=read_freq_mhz(cpu),
                        csw=_delta(switches, now_switches, cpu),
                    )
                    for cpu in range(ncpu)
                )
                times, switches = now_times, now_switches
                delayed = None
                tracker = self._delays.get()  # None on the first sample: not opened yet
                first = False
                if tracker is not None:
                    tracker.observe(seen.values())
                    delayed = tracker.top(self._top_n)
                scx, events = self._scx.poll()
                yield Sample(
                    time=time.time(),
                    elapsed_s=self._pacer.elapsed(),
                    interval_s=covered,
                    source=self.name,
                    cpus=cpus,
                    delayed_tasks=delayed,
                    scx=scx,
                    scx_events=events,
                    limitations=self.limitations(switches is not None),
                )
        finally:
            self.close()

    def limitations(self, have_csw: bool) -> tuple[str, ...]:
        notes = [NO_BPF]
        if not have_csw:
            notes.append(NO_CSW)
        if self._delays.limitation:
            notes.append(self._delays.limitation)
        return tuple(notes)

    def close(self) -> None:
        self._pacer.stop()
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._delays.close()
        self._scx.close()


def _delta(before: dict[int, int] | None, after: dict[int, int] | None, cpu: int) -> int | None:
    if before is None or after is None or cpu not in before or cpu not in after:
        return None
    return max(0, after[cpu] - before[cpu])
