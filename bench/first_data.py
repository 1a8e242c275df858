"""Time to first data: from starting the process to the first CSV row (`scxtop log`) or to the
first sample on screen (the dashboard in tmux: its status line names the source), for the
bpftrace and procfs sources; plain bpftrace's first map print as the reference. Cases rotate.
"""

from __future__ import annotations

import sys

from observers import observing
from table import Table, median, spread

CASES = [
    ("scxtop log, bpftrace 1s", "log", "bpftrace", 1.0),
    ("scxtop log, bpftrace 0.1s", "log", "bpftrace", 0.1),
    ("scxtop log, procfs 1s", "log", "procfs", 1.0),
    ("dashboard, bpftrace 1s", "dashboard", "bpftrace", 1.0),
    ("dashboard, procfs 1s", "dashboard", "procfs", 1.0),
    ("plain bpftrace (1s maps)", "plain", "bpftrace", 1.0),
]


def table(rounds: int) -> Table:
    times: dict[str, list[float]] = {c[0]: [] for c in CASES}
    for r in range(rounds):
        for name, kind, source, interval in CASES[r % len(CASES):] + CASES[: r % len(CASES)]:
            with observing(kind, source, interval) as obs:
                times[name].append(obs.first_data_s)
            print(f"  round {r + 1}/{rounds} first data {name}: {times[name][-1]:.2f}s", file=sys.stderr)
    out = Table("Time to first data", ["median s", "rounds min..max"])
    for name, ts in times.items():
        out.add(name, median(ts), spread(ts))
    out.notes.append(f"{rounds} rounds; includes Python start-up and imports (and bpftrace compiling and "
                     "attaching its probes) plus one interval")
    return out
