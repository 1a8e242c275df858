"""Small readers of /proc and /sys shared by the sources: schedstat, cpufreq, busy share."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol


def read_schedstat(path: Path = Path("/proc/schedstat")) -> dict[int, int] | None:
    """schedule() calls per CPU (`cpuN yld 0 sched_count ...`), or None without schedstats."""
    try:
        text = path.read_text()
    except OSError:
        return None
    counts = {}
    for line in text.splitlines():
        if line.startswith("cpu") and line[3:4].isdigit():
            parts = line.split()
            with contextlib.suppress(IndexError, ValueError):
                counts[int(parts[0][3:])] = int(parts[3])
    return counts or None


def read_freq_mhz(cpu: int, root: Path = Path("/sys/devices/system/cpu")) -> float | None:
    try:
        return int((root / f"cpu{cpu}" / "cpufreq" / "scaling_cur_freq").read_text()) / 1000.0
    except (OSError, ValueError):
        return None


class CpuTimes(Protocol):
    """What busy_percent needs of psutil's per-CPU times (its class is private and moves between versions)."""

    @property
    def idle(self) -> float: ...

    def __iter__(self) -> Iterator[float]: ...


def busy_percent(before: CpuTimes, after: CpuTimes) -> float:
    """Share of the interval the CPU was not idle (idle and iowait count as idle)."""
    total = sum(after) - sum(before)
    idle = (after.idle - before.idle) + float(getattr(after, "iowait", 0.0) - getattr(before, "iowait", 0.0))
    if total <= 0:
        return 0.0
    return max(0.0, min(100.0, 100.0 * (total - idle) / total))


def task_comm(pid: int, root: Path = Path("/proc")) -> str:
    """A task's name from /proc (at most 64 bytes read), "" when it is gone.

    bpftrace 0.23 reads the `__data_loc` comm of `sched_migrate_task` as an empty string; the
    migrators it ranks are still asked about here, so the list names them.
    """
    try:
        with open(root / str(pid) / "comm", "rb") as f:
            return f.read(64).decode(errors="replace").strip()
    except OSError:
        return ""
