"""Scheduler processes: who holds the running sched_ext scheduler, and how to stop a process.

A userspace scheduler keeps its BPF scheduler attached through a struct_ops BPF link it holds
open; /proc/PID/fdinfo says `link_type: struct_ops` for such a file descriptor. That finds the
holder whoever started it (scxtop, a shell, systemd).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class SchedulerProcess:
    pid: int
    argv: tuple[str, ...]
    start_ticks: int
    """Start time from /proc/PID/stat: tells a PID reused by another process apart."""


def _start_ticks(pid: int, proc: Path = PROC) -> int | None:
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    if fields[0] == "Z":  # a zombie no longer holds anything
        return None
    return int(fields[19])


def describe(pid: int, proc: Path = PROC) -> SchedulerProcess | None:
    try:
        argv = (proc / str(pid) / "cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    except OSError:
        return None
    ticks = _start_ticks(pid, proc)
    if ticks is None:
        return None
    return SchedulerProcess(pid, tuple(a.decode(errors="replace") for a in argv), ticks)


def _holds_struct_ops(pid_dir: Path) -> bool:
    try:
        fds = list((pid_dir / "fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd) != "anon_inode:bpf_link":
                continue
            info = (pid_dir / "fdinfo" / fd.name).read_text()
        except OSError:
            continue
        if any(line.split() == ["link_type:", "struct_ops"] for line in info.splitlines()):
            return True
    return False


def struct_ops_holders(proc: Path = PROC) -> list[SchedulerProcess]:
    """Processes holding a struct_ops BPF link (a sched_ext scheduler, in practice)."""
    holders = []
    for pid_dir in proc.iterdir():
        if pid_dir.name.isdigit() and int(pid_dir.name) != os.getpid() and _holds_struct_ops(pid_dir):
            found = describe(int(pid_dir.name), proc)
            if found:
                holders.append(found)
    return holders


def alive(process: SchedulerProcess, proc: Path = PROC) -> bool:
    return _start_ticks(process.pid, proc) == process.start_ticks


def stop_process(
    process: SchedulerProcess, timeout: float, progress: Callable[[str], None] = lambda _: None
) -> str | None:
    """SIGINT, then SIGTERM, then SIGKILL, each given `timeout` (the last 2 s) to end it.

    Returns the signal that ended it, None when it was already gone.
    """
    for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
        if not alive(process):
            return None
        progress(f"sending {sig.name} to pid {process.pid}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(process.pid)
            if not alive(process):
                return sig.name
            time.sleep(0.02)
    return None


def _reap(pid: int) -> None:
    """Collect our own exited children so they do not linger as zombies."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
