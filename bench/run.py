"""What scxtop costs the system it watches: one command, every measurement, one set of tables.

    sudo .venv/bin/python bench/run.py            # full run, about 15 minutes on 2 cores
    sudo .venv/bin/python bench/run.py --quick    # smoke run (CI), about 2.5 minutes
         [--json PATH] [--markdown PATH] [--only SECTION ...]

Sections (see bench/README.md): probe overhead on perf bench sched messaging (bare, plain
bpftrace, scxtop log), probe cost against the context-switch and migration rate, scxtop's own
CPU and memory (log and dashboard, 1 s and 0.1 s, idle and loaded), time to first data, the
recording rate, and dashboard refresh at 2..1024 CPUs (bench/dashboard_refresh.py).
Progress goes to stderr, the tables to stdout. A section that fails is reported and the others
still run; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dashboard_scale
import first_data
import own_cost
import probe_cost
import record_rate
import serve_cost
from loads import Load, forced_migrations, messaging
from observers import PROBLEMS, DashboardRun
from table import Table, as_json, as_markdown, as_text

from scxtop.sources.bpftrace import bpf_unavailable_reason

MAIN_VARIANTS = ("bare", "bare again (A/A)", "plain bpftrace", "scxtop log 1s", "scxtop log 0.1s")
SCALE_VARIANTS = ("bare", "plain bpftrace", "scxtop log 1s")


@dataclass(frozen=True, slots=True)
class Plan:
    main_load: Load
    rate_loads: list[Load]
    main_rounds: int
    rate_rounds: int
    own_rounds: int
    own_window_s: float
    first_rounds: int
    record_rounds: int
    record_seconds: float
    dashboard_quick: bool
    render_rounds: int = 15
    serve_rounds: int = 2
    serve_window_s: float = 45.0


def full_plan() -> Plan:
    return Plan(messaging(10, 150), [messaging(2, 500), messaging(20, 100), messaging(10, 300, pipes=True),
                                     forced_migrations(10000)],
                main_rounds=11, rate_rounds=7, own_rounds=2, own_window_s=8.0, first_rounds=3,
                record_rounds=3, record_seconds=1.0, dashboard_quick=False)


def quick_plan() -> Plan:
    return Plan(messaging(10, 20), [messaging(2, 50), messaging(20, 5), messaging(10, 20, pipes=True),
                                    forced_migrations(1000)],
                main_rounds=1, rate_rounds=1, own_rounds=1, own_window_s=1.0, first_rounds=1,
                record_rounds=1, record_seconds=0.2, dashboard_quick=True,
                render_rounds=2, serve_rounds=1, serve_window_s=2.0)


def sections(plan: Plan) -> dict[str, Callable[[], Table]]:
    return {
        "overhead": lambda: probe_cost.table("Probe overhead on perf bench sched messaging",
                                             [(plan.main_load, MAIN_VARIANTS)], plan.main_rounds),
        "rate": lambda: probe_cost.table("Probe cost against the context-switch and migration rate",
                                         [(load, SCALE_VARIANTS) for load in plan.rate_loads],
                                         plan.rate_rounds),
        "own": lambda: own_cost.table(plan.own_rounds, plan.own_window_s),
        "first": lambda: first_data.table(plan.first_rounds),
        "record": lambda: record_rate.table(plan.record_rounds, plan.record_seconds),
        "dashboard": lambda: dashboard_scale.table(plan.dashboard_quick),
        "scrape": lambda: serve_cost.render_table(plan.render_rounds),
        "serve": lambda: serve_cost.serve_table(plan.serve_rounds, plan.serve_window_s),
    }


def _first_line(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def machine() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    return [
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {os.cpu_count()} CPUs ({cpu}), kernel {platform.release()}, "
        f"{_first_line(['bpftrace', '--version'])}, {_first_line(['perf', '--version'])}, "
        f"Python {platform.python_version()}",
        f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny loads, one round (for CI)")
    parser.add_argument("--json", metavar="PATH", help="also write the tables as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="also write the tables as Markdown")
    parser.add_argument("--only", nargs="+", metavar="SECTION", help="run only these sections")
    args = parser.parse_args(argv)
    reason = bpf_unavailable_reason()
    missing = [tool for tool in ("perf", "tmux") if shutil.which(tool) is None]
    if reason or missing:
        print(f"bench: {reason or 'install ' + ' and '.join(missing) + ' (apt-get install linux-perf tmux)'}",
              file=sys.stderr)
        return 2
    plan = quick_plan() if args.quick else full_plan()
    todo = sections(plan)
    unknown = set(args.only or ()) - set(todo)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(todo)}")
    header = machine()
    tables, failures = [], []
    start = time.monotonic()
    try:
        for name, section in todo.items():
            if args.only and name not in args.only:
                continue
            print(f"[{name}] ...", file=sys.stderr)
            try:
                tables.append(section())
            except Exception as err:  # one broken section must not hide the others
                traceback.print_exc()
                failures.append(f"section {name} failed: {type(err).__name__}: {err}")
    finally:
        DashboardRun.shutdown()
    header.append(f"command: {' '.join(['bench/run.py', *(argv if argv is not None else sys.argv[1:])])} "
                  f"({time.monotonic() - start:.0f}s)")
    anomalies = sorted(PROBLEMS) + failures
    print("\n".join(header) + "\n")
    for t in tables:
        print(as_text(t) + "\n")
    for a in anomalies:
        print(f"ANOMALY: {a}")
    if args.json:
        Path(args.json).write_text(as_json(tables))
    if args.markdown:
        body = "\n\n".join(as_markdown(t) for t in tables)
        extra = "".join(f"- {a}\n" for a in anomalies)
        Path(args.markdown).write_text("\n".join(f"- {h}" for h in header) + "\n\n" + body + "\n"
                                       + (f"\n### Anomalies\n\n{extra}" if extra else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
