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
from scxtop.kernel.taskstats import DelayTracker
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
                 schedstat: Path = Path("/proc/schedstat")) -> None:
        self.interval_s = interval_s
        self._proc = proc
        self._schedstat = schedstat
        self._top_n = delayed_tasks
        self._pacer = Pacer()
        # taskstats' netlink library takes a few hundred ms to import: opened beside the first
        # interval instead of before it (the dashboard's first screen comes from this source)
        self._delays: DelayTracker | None = None
        self._opening = threading.Thread(target=self._open_delays, name="procfs-delays", daemon=True)
        if delayed_tasks:
            self._opening.start()
        self._scx = SchedExtWatch()
        self._closed = False
        self._lock = threading.Lock()
        self._scan_cost_s = 0.0

    def _open_delays(self) -> None:
        self._delays = DelayTracker(proc=self._proc)

    def _delay_tracker(self) -> DelayTracker | None:
        if self._opening.is_alive() or self._opening.ident is not None:
            self._opening.join()
        return self._delays

    def _scan(self) -> list[ThreadStat]:
        started = time.perf_counter()
        runnable = scan_threads(self._proc, skip_tid=threading.get_native_id())
        self._scan_cost_s = time.perf_counter() - started
        return runnable

    def scans_per_interval(self) -> int:
        """As many snapshots as fit in SCAN_BUDGET of the interval (1 to MAX_SCANS)."""
        fit = int(SCAN_BUDGET * self.interval_s / max(self._scan_cost_s, 1e-6))
        return max(1, min(MAX_SCANS, fit))

    def samples(self) -> Iterator[Sample]:
        ncpu = psutil.cpu_count() or 1
        times = psutil.cpu_times(percpu=True)
        switches = read_schedstat(self._schedstat)
        read_at = time.monotonic()
        self._scan()
        try:
            while True:
                interval, scans = self.interval_s, self.scans_per_interval()
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
                tracker = self._delay_tracker()
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
        if self._delays is not None and self._delays.limitation:
            notes.append(self._delays.limitation)
        return tuple(notes)

    def close(self) -> None:
        self._pacer.stop()
        with self._lock:
            if self._closed:
                return
            self._closed = True
        tracker = self._delay_tracker()
        if tracker is not None:
            tracker.close()
        self._scx.close()


def _delta(before: dict[int, int] | None, after: dict[int, int] | None, cpu: int) -> int | None:
    if before is None or after is None or cpu not in before or cpu not in after:
        return None
    return max(0, after[cpu] - before[cpu])
