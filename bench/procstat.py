"""What a running process costs, read from /proc: CPU seconds so far, peak RSS, its bpftrace child.

Numbers come from the kernel's own accounting of the process (utime+stime of every thread,
VmHWM), not from sampling, so a short window is still exact to the clock tick (10 ms).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from probe_overhead import cpu_seconds


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmHWM for pid {pid}")


def child_named(parent: int, comm: str, with_arg: str | None = None) -> int | None:
    """The pid of a live child of `parent` whose command name is `comm` (and whose arguments
    include `with_arg`: scxtop also runs short `bpftrace --version` probes), if there is one."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = tail.split()
        if int(fields[1]) == parent and head.split("(", 1)[1] == comm and fields[0] != "Z":
            if with_arg is not None and with_arg not in _args(stat.parent):
                continue
            return int(stat.parent.name)
    return None


def _args(proc: Path) -> list[str]:
    try:
        return (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def wait_child(parent: int, comm: str, timeout_s: float = 10.0, with_arg: str | None = None) -> int | None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pid = child_named(parent, comm, with_arg)
        if pid is not None:
            return pid
        time.sleep(0.05)
    return None


def context_switches() -> int:
    """Context switches on the whole machine since boot (/proc/stat ctxt)."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("ctxt "):
            return int(line.split()[1])
    raise ValueError("no ctxt line in /proc/stat")


@dataclass(frozen=True, slots=True)
class Usage:
    """CPU seconds per wall second over a window, and the peak RSS at its end."""

    cpu_per_s: float
    peak_rss_mb: float


class UsageMeter:
    """Starts counting a process's CPU time when made; `read()` gives the rate since then."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.cpu0 = cpu_seconds(pid)
        self.t0 = time.monotonic()

    def read(self) -> Usage:
        wall = time.monotonic() - self.t0
        return Usage((cpu_seconds(self.pid) - self.cpu0) / wall, peak_rss_mb(self.pid))
