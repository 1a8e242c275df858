"""Small readers of /proc and /sys shared by the sources: schedstat, cpufreq, busy share."""

from __future__ import annotations

import contextlib
from pathlib import Path

import psutil


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


def busy_percent(before: psutil._common.scputimes, after: psutil._common.scputimes) -> float:
    """Share of the interval the CPU was not idle (idle and iowait count as idle)."""
    total = sum(after) - sum(before)
    idle = (after.idle - before.idle) + (getattr(after, "iowait", 0.0) - getattr(before, "iowait", 0.0))
    if total <= 0:
        return 0.0
    return max(0.0, min(100.0, 100.0 * (total - idle) / total))
