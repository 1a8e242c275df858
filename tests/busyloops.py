"""Pinned busy loops for the procfs/taskstats/log tests (until tests/workloads.py offers the same)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

SPIN = "import os, sys\nos.sched_setaffinity(0, {int(sys.argv[1])})\nwhile True:\n    pass\n"


@contextlib.contextmanager
def pinned_busy_loops(cpu: int, count: int) -> Iterator[list[int]]:
    """`count` processes spinning on `cpu`; yields their pids and always kills them."""
    procs = [subprocess.Popen([sys.executable, "-c", SPIN, str(cpu)]) for _ in range(count)]
    try:
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
