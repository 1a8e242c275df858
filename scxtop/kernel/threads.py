"""A cheap scan of every thread's `/proc/PID/task/TID/stat`: state, CPU, nice, policy.

Shared by the procfs source (runnable threads per CPU) and the delay tracker (who to ask about
run-queue delay). One `os.read` per thread and only the fields we use are split out, so a scan
of a few thousand threads costs milliseconds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

POLICIES = {0: "SCHED_OTHER", 1: "SCHED_FIFO", 2: "SCHED_RR", 3: "SCHED_BATCH", 5: "SCHED_IDLE",
            6: "SCHED_DEADLINE", 7: "SCHED_EXT"}

# Indexes into the fields after the ") " that closes comm (field 3, the state, is index 0).
_NICE, _CPU, _POLICY = 19 - 3, 39 - 3, 41 - 3


@dataclass(frozen=True, slots=True)
class ThreadStat:
    """One thread as /proc shows it at the moment of the scan."""

    pid: int
    tid: int
    comm: str
    state: str
    cpu: int
    nice: int
    policy: str


def parse_stat(pid: int, tid: int, data: bytes) -> ThreadStat | None:
    """Parse one stat line; comm may hold spaces and parentheses, so split at the last ')'."""
    head, _, rest = data.rpartition(b")")
    fields = rest.split()
    if len(fields) <= _POLICY:
        return None
    return ThreadStat(
        pid=pid,
        tid=tid,
        comm=head.partition(b"(")[2].decode(errors="replace"),
        state=fields[0].decode(),
        cpu=int(fields[_CPU]),
        nice=int(fields[_NICE]),
        policy=POLICIES.get(int(fields[_POLICY]), str(int(fields[_POLICY]))),
    )


def _read(path: str) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None  # the thread exited between listing and reading
    try:
        return os.read(fd, 1024)
    except OSError:
        return None
    finally:
        os.close(fd)


def _numeric_entries(path: str) -> list[int]:
    try:
        with os.scandir(path) as entries:
            return [int(e.name) for e in entries if e.name.isdigit()]
    except OSError:
        return []


def scan_threads(
    proc: str = "/proc", runnable_only: bool = True, skip_tid: int | None = None
) -> list[ThreadStat]:
    """Runnable threads (state R), or all with `runnable_only=False`; `skip_tid` (the scanner) left out."""
    found = []
    for pid in _numeric_entries(proc):
        task_dir = f"{proc}/{pid}/task"
        for tid in _numeric_entries(task_dir):
            if tid == skip_tid:
                continue
            data = _read(f"{task_dir}/{tid}/stat")
            if not data:
                continue
            if runnable_only:
                close = data.rfind(b")")
                if data[close + 2 : close + 3] != b"R":
                    continue
            stat = parse_stat(pid, tid, data)
            if stat is not None:
                found.append(stat)
    return found
