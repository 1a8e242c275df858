"""Run-queue delay per task ("most delayed tasks"), from taskstats delay accounting.

The kernel counts, per task, the time it sat runnable on a runqueue without running
(`cpu_delay_total`, the same counter as the 2nd field of /proc/PID/schedstat). We ask over
netlink taskstats (pyroute2) and fall back to /proc/TID/schedstat where netlink is refused.

Asking about every thread each second would cost more than the rest of scxtop, so we follow a
bounded set: threads seen runnable recently (callers pass them in, or we scan for them) plus
last interval's most delayed. A task's delay during an interval is the growth of its total
since we last asked, so a task shows up from its second interval in the set.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable
from typing import Any

from scxtop import stopsignals
from scxtop.kernel.threads import ThreadStat, scan_threads
from scxtop.model import TaskDelay

MAX_TASKS = 64
"""Tasks asked about per interval; about 0.2 ms each over netlink."""
REMEMBER_SCANS = 10
"""A thread stays a candidate for this many intervals after it was last seen runnable."""


class DelayReader:
    """`total(tid)`: run-queue delay since the task started, in ns, or None when it is gone."""

    def __init__(self, use_taskstats: bool = True) -> None:
        self._socket = None
        self.backend = "schedstat"
        self.reason = ""
        if use_taskstats:
            self._open_taskstats()

    def _open_taskstats(self) -> None:
        try:
            from pyroute2 import TaskStats

            sock = TaskStats()
            try:
                sock.bind()
                sock.get_pid_stat(os.getpid())
            except Exception:
                sock.close()
                raise
        except Exception as err:  # pyroute2 raises NetlinkError, OSError, ImportError...
            code = getattr(err, "code", None)
            why = os.strerror(code) if isinstance(code, int) else str(err)
            self.reason = f"taskstats refused ({why}): run as root; using /proc/PID/schedstat instead"
            return
        self._socket = sock
        self.backend = "taskstats"

    def total(self, tid: int) -> int | None:
        if self._socket is not None:
            try:
                # pyroute2 runs an asyncio loop per query; `scxtop log`'s stop signal raised in
                # there would land in its callbacks (see logcmd._Stop): it is held until the reply
                with stopsignals.deferred():
                    return _cpu_delay_total(self._socket.get_pid_stat(tid))
            except Exception:
                return None  # exited (ESRCH) or not visible
        return schedstat_delay(tid)

    def close(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(Exception):
                self._socket.close()
        self._socket = None


def _cpu_delay_total(reply: Iterable[Any]) -> int | None:
    for msg in reply:
        for name, value in msg.get("attrs", ()):
            if name != "TASKSTATS_TYPE_AGGR_PID":
                continue
            for inner, stats in value.get("attrs", ()):
                if inner == "TASKSTATS_TYPE_STATS":
                    return int(stats["cpu_delay_total"])
    return None


def schedstat_delay(tid: int, proc: str = "/proc") -> int | None:
    """Run-queue wait in ns from /proc/TID/schedstat ('exec_ns run_delay_ns timeslices')."""
    try:
        with open(f"{proc}/{tid}/schedstat", "rb") as handle:
            return int(handle.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None


class DelayTracker:
    """Once per interval: `observe()` the runnable threads (optional), then `top(n)`."""

    def __init__(self, max_tasks: int = MAX_TASKS, use_taskstats: bool = True, proc: str = "/proc") -> None:
        self.max_tasks = max_tasks
        self._proc = proc
        self._reader = DelayReader(use_taskstats)
        self._info: dict[int, ThreadStat] = {}
        self._last_seen: dict[int, int] = {}
        self._totals: dict[int, int] = {}
        self._scan = 0
        self._observed = False
        self._last_top: list[int] = []

    @property
    def backend(self) -> str:
        return self._reader.backend

    @property
    def limitation(self) -> str:
        return self._reader.reason

    def observe(self, runnable: Iterable[ThreadStat]) -> None:
        """Threads the caller saw runnable this interval (saves us a scan of /proc)."""
        self._observed = True
        for stat in runnable:
            self._info[stat.tid] = stat
            self._last_seen[stat.tid] = self._scan

    def _candidates(self) -> list[int]:
        if not self._observed:
            self.observe(scan_threads(self._proc, skip_tid=threading.get_native_id()))
        self._observed = False
        recent = sorted(self._last_seen, key=lambda t: -self._last_seen[t])
        known = [t for t in dict.fromkeys(self._last_top + recent) if t in self._info]
        return known[: self.max_tasks]

    def top(self, n: int = 10) -> tuple[TaskDelay, ...]:
        """The n tasks that waited longest on a runqueue since the previous call."""
        delays = []
        for tid in self._candidates():
            total = self._reader.total(tid)
            if total is None:
                self._forget(tid)
                continue
            before = self._totals.get(tid)
            self._totals[tid] = total
            info = self._info[tid]
            if before is not None and total > before:
                delays.append(TaskDelay(pid=tid, comm=info.comm, cpu=info.cpu, policy=info.policy,
                                        nice=info.nice, delay_ns=total - before, total_delay_ns=total))
        self._scan += 1
        for tid in [t for t, seen in self._last_seen.items() if self._scan - seen > REMEMBER_SCANS]:
            self._forget(tid)
        delays.sort(key=lambda d: -d.delay_ns)
        self._last_top = [d.pid for d in delays[:n]]
        return tuple(delays[:n])

    def _forget(self, tid: int) -> None:
        for table in (self._info, self._last_seen, self._totals):
            table.pop(tid, None)

    def close(self) -> None:
        self._reader.close()


class DelayTrackerOpening:
    """A DelayTracker opened in a thread of its own: pyroute2's import and socket take ~0.17
    CPU-s, which would hold back a source's start (bpftrace's spawn, the dashboard's first
    screen). Sources need it from their second interval at the earliest."""

    def __init__(self, **kwargs: Any) -> None:
        self._tracker: DelayTracker | None = None
        self._thread = threading.Thread(target=self._open, args=(kwargs,), name="taskstats-open", daemon=True)

    def _open(self, kwargs: dict[str, Any]) -> None:
        self._tracker = DelayTracker(**kwargs)

    def start(self) -> None:
        if self._thread.ident is None:
            self._thread.start()

    def get(self, wait: bool = True) -> DelayTracker | None:
        """The tracker; None when not started, or still opening and `wait` is False."""
        if self._thread.ident is None or (not wait and self._thread.is_alive()):
            return None
        self._thread.join()
        return self._tracker

    @property
    def limitation(self) -> str:
        tracker = self.get(wait=False)
        return tracker.limitation if tracker is not None else ""

    def close(self) -> None:
        tracker = self.get()
        if tracker is not None:
            tracker.close()
