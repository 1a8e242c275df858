"""scxtop's own footprint: CPU seconds per wall second and peak RSS of the scxtop process and of
its bpftrace child, separately, for `scxtop log` and the dashboard, at 1 s and 0.1 s, idle and
under a background `perf bench sched messaging`. Configurations run in rotating order each round.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator

from loads import perf_messaging_running
from observers import observing
from procstat import UsageMeter
from table import Table, median

COLUMNS = ["scxtop cpu/s", "bpftrace cpu/s", "total cpu/s", "scxtop peak MiB", "bpftrace peak MiB"]
SETTLE_S = 1.0


@contextlib.contextmanager
def background(load: str) -> Iterator[None]:
    if load == "idle":
        yield
        return
    with perf_messaging_running(loops=10**7, groups=4):
        yield


def configs() -> list[tuple[str, float, str]]:
    return [(kind, interval, load) for kind in ("log", "dashboard") for interval in (1.0, 0.1)
            for load in ("idle", "load")]


def measure(kind: str, interval: float, load: str, window_s: float) -> tuple[float, float, float, float]:
    with observing(kind, "bpftrace", interval) as obs, background(load):
        time.sleep(SETTLE_S)
        own, bpf = UsageMeter(obs.pid), UsageMeter(obs.bpftrace_pid)
        time.sleep(window_s)
        a, b = own.read(), bpf.read()
    return a.cpu_per_s, b.cpu_per_s, a.peak_rss_mb, b.peak_rss_mb


def table(rounds: int, window_s: float) -> Table:
    cases = configs()
    results: dict[tuple[str, float, str], list[tuple[float, float, float, float]]] = {c: [] for c in cases}
    for r in range(rounds):
        for case in cases[r % len(cases):] + cases[: r % len(cases)]:
            results[case].append(measure(*case, window_s))
            print(f"  round {r + 1}/{rounds} own cost {case}: {results[case][-1]}", file=sys.stderr)
    out = Table("scxtop's own cost (bpftrace source)", COLUMNS)
    for (kind, interval, load), ms in results.items():
        own, bpf = median([m[0] for m in ms]), median([m[1] for m in ms])
        name = f"{'scxtop log' if kind == 'log' else 'dashboard (tmux)'} {interval:g}s, {load}"
        out.add(name, own, bpf, own + bpf, max(m[2] for m in ms), max(m[3] for m in ms))
    out.notes.append(f"{window_s:g}s window after the first sample (+{SETTLE_S:g}s settle), median of "
                     f"{rounds} rounds; load = background perf bench sched messaging -g 4; 'idle' still has "
                     "whatever else runs on the machine")
    return out
