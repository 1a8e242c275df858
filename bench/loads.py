"""The loads the probes are timed on, each a fixed amount of work whose runtime is the measure.

- `perf bench sched messaging` (tests/workloads.py): processes passing messages over sockets
  (or pipes), about 10^4 context switches per second here; the load of the Proxy Execution review.
- `forced_migrations`: one process moving itself between two CPUs with sched_setaffinity, N
  times; every call is a migration (sched_migrate_task fires once each), so its rate is known.

Each run also counts the machine's context switches (/proc/stat), to report the rate the probes
had to keep up with, and the CPU time the load itself used (its processes' user+system time,
from getrusage of the reaped children). The probes run in the context of the task that hits the
tracepoint, so their cost lands in that CPU time; unlike the runtime, it barely moves when other
work on the machine takes the CPUs away, which makes it the steadier measure here.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from procstat import context_switches

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # shared workloads, samples
from workloads import perf_messaging, perf_messaging_running, wait_gone

FLIP = """
import os, sys, time
n, cpus = int(sys.argv[1]), sorted(os.sched_getaffinity(0))[:2]
start = time.perf_counter()
for i in range(n):
    os.sched_setaffinity(0, {cpus[i % 2]})
print(time.perf_counter() - start)
"""
__all__ = ["Load", "LoadRun", "forced_migrations", "messaging", "perf_messaging_running", "wait_gone"]


@dataclass(frozen=True, slots=True)
class LoadRun:
    seconds: float
    """The load's own runtime (what the A/B ratio compares)."""
    csw_per_s: float
    """Context switches per second on the whole machine while it ran."""
    cpu_s: float
    """User+system CPU seconds of the load's processes."""


@dataclass(frozen=True, slots=True)
class Load:
    label: str
    """Short and the same in --quick and full runs (the row name)."""
    command: str
    """The exact work done (for the notes)."""
    work: Callable[[], float]
    migrations: int = 0
    """Migrations the load forces (0: not counted)."""

    def run(self) -> LoadRun:
        csw, wall, cpu = context_switches(), time.monotonic(), _children_cpu()
        seconds = self.work()
        wall = time.monotonic() - wall
        return LoadRun(seconds, (context_switches() - csw) / wall, _children_cpu() - cpu)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def messaging(groups: int, loops: int, pipes: bool = False, threads: bool = False) -> Load:
    flags = (" -p" if pipes else "") + (" -t" if threads else "")
    label = f"messaging -g {groups}{flags}"
    command = f"perf bench sched messaging -g {groups} -l {loops}{flags}"
    return Load(label, command,
                lambda: perf_messaging(loops=loops, groups=groups, pipes=pipes, threads=threads).seconds)


def forced_migrations(count: int) -> Load:
    def work() -> float:
        out = subprocess.run([sys.executable, "-c", FLIP, str(count)], capture_output=True, text=True,
                             check=True).stdout
        return float(out)

    if len(os.sched_getaffinity(0)) < 2:
        raise RuntimeError("forced migrations need two CPUs")
    return Load("forced migrations", f"{count} sched_setaffinity flips between two CPUs", work,
                migrations=count)
