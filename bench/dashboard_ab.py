"""The dashboard, old against new, side by side: its own CPU in a real terminal and its first
screen, with an A/A control (the old checkout run twice).

    sudo .venv/bin/python bench/dashboard_ab.py OLD_CHECKOUT [--window 60] [--rounds 2] [--intervals 1 0.1]

OLD_CHECKOUT is a copy of the code to compare with, e.g. `git worktree add /tmp/base main`. Each
round runs `old`, `new` and `old again` in a rotating order, for each interval, in a 200x50 tmux
pane (bench/observers.py), the bpftrace source. Printed per interval: scxtop's CPU seconds per
second (median over rounds; its bpftrace child separately), time to the first sample on screen, and
the ratios new/old and old-again/old: the second is the noise floor the first must be read against.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import observers
from observers import DashboardRun
from procstat import UsageMeter
from table import median

NEW = Path(__file__).resolve().parent.parent
SETTLE_S = 2.0


def _command_for(checkout: Path):
    def command(*args: str) -> list[str]:
        inner = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "scxtop", *args))
        return ["env", f"PYTHONPATH={checkout}", "sh", "-c", shlex.quote(f"cd {checkout} && exec {inner}")]
    return command


def measure(checkout: Path, interval: float, window_s: float) -> tuple[float, float, float, float]:
    """(scxtop cpu/s, bpftrace cpu/s, first data s, bpftrace data s) of one dashboard run from
    `checkout`; the CPU window starts once bpftrace's samples are on screen (a warm start shows
    procfs ones while bpftrace compiles, which would count the compile)."""
    observers.scxtop_command = _command_for(checkout)
    started = time.monotonic()
    run = DashboardRun("bpftrace", interval)
    try:
        deadline = time.monotonic() + 120
        while "bpftrace · every" not in run.screen() and time.monotonic() < deadline:
            time.sleep(0.05)
        bpftrace_s = time.monotonic() - started
        time.sleep(SETTLE_S)
        own, bpf = UsageMeter(run.pid), UsageMeter(run.bpftrace_pid)
        time.sleep(window_s)
        return own.read().cpu_per_s, bpf.read().cpu_per_s, run.first_data_s, bpftrace_s
    finally:
        run.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--intervals", type=float, nargs="+", default=[1.0, 0.1])
    args = parser.parse_args()
    variants = [("old", args.old.resolve()), ("new", NEW), ("old again", args.old.resolve())]
    results: dict[tuple[str, float], list[tuple[float, float, float, float]]] = {}
    try:
        for r in range(args.rounds):
            for interval in args.intervals:
                order = variants[r % 3:] + variants[: r % 3]
                for name, checkout in order:
                    try:
                        got = measure(checkout, interval, args.window)
                    except (FileNotFoundError, observers.ObserverError) as err:  # a run died: say so, go on
                        print(f"  round {r + 1} {interval:g}s {name}: lost ({err})", file=sys.stderr)
                        continue
                    results.setdefault((name, interval), []).append(got)
                    print(f"  round {r + 1} {interval:g}s {name}: cpu/s {got[0]:.4f} bpftrace {got[1]:.4f} "
                          f"first {got[2]:.2f}s bpftrace data {got[3]:.2f}s", file=sys.stderr, flush=True)
    finally:
        DashboardRun.shutdown()
    print(f"dashboard in tmux 200x50, bpftrace source, {args.window:g}s window, "
          f"median of {args.rounds} rounds")
    print(f"{'interval':>8} {'variant':>10} {'scxtop cpu/s':>13} {'bpftrace cpu/s':>15} {'first data s':>13} "
          f"{'bpftrace data s':>16} {'cpu vs old':>11} {'first vs old':>13}")
    for interval in args.intervals:
        if any((name, interval) not in results for name, _ in variants):
            continue
        base = results[("old", interval)]
        base_cpu, base_first = median([x[0] for x in base]), median([x[2] for x in base])
        for name, _ in variants:
            rows = results[(name, interval)]
            cpu, bpf, first, bpf_first = (median([x[i] for x in rows]) for i in range(4))
            print(f"{interval:>8g} {name:>10} {cpu:>13.4f} {bpf:>15.4f} {first:>13.2f} {bpf_first:>16.2f} "
                  f"{cpu / base_cpu:>10.2f}x {first / base_first:>12.2f}x")


if __name__ == "__main__":
    main()
