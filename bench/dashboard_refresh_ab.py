"""Dashboard refresh, old code against new, with an A/A control: dashboard_refresh.py interleaved.

    .venv/bin/python bench/dashboard_refresh_ab.py OLD_CHECKOUT [--rounds 4] [--cpus 2 256 1024]

Make the old checkout with `git worktree add /tmp/base main`. Each round measures old, new and
old again (the A/A control: how far two identical variants land apart), in an order that rotates
from round to round; each measurement is `dashboard_refresh.py --child N` in a fresh interpreter
with PYTHONPATH pointing at that checkout (checked before the run: the working directory must
not shadow it). Printed: a Markdown table of the medians over the rounds of each measurement's
median CPU ms per refresh, the ratio new / mean(old, old again) and the A/A ratio, and the load
average seen; then the same table net of the pilot's idle wait (`net ms`, see dashboard_refresh.py:
the harness's cost, measured in the same process). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve()
NEW = BENCH.parent.parent
REFRESH = BENCH.parent / "dashboard_refresh.py"


def _checked(name: str, checkout: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    where = subprocess.run([sys.executable, "-c", "import scxtop; print(scxtop.__file__)"], env=env,
                           cwd="/", capture_output=True, text=True, check=True).stdout.strip()
    if not where.startswith(str(checkout)):
        raise SystemExit(f"{name}: PYTHONPATH={checkout} imports {where}")
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="a checkout of the old code")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--cpus", type=int, nargs="+", default=[2, 256, 1024])
    parser.add_argument("--refreshes", type=int, default=20)
    args = parser.parse_args()
    variants = [("old", _checked("old", args.old.resolve())), ("new", _checked("new", NEW)),
                ("old again (A/A)", _checked("old", args.old.resolve()))]
    medians: dict[tuple[str, int], list[float]] = {(v, n): [] for v, _ in variants for n in args.cpus}
    nets: dict[tuple[str, int], list[float]] = {(v, n): [] for v, _ in variants for n in args.cpus}
    loads: list[float] = []
    for round_ in range(args.rounds):
        shift = round_ % len(variants)
        for name, env in variants[shift:] + variants[:shift]:
            for cpus in args.cpus:
                loads.append(os.getloadavg()[0])
                out = subprocess.run([sys.executable, str(REFRESH), "--child", str(cpus), "--refreshes",
                                      str(args.refreshes)], env=env, cwd="/", capture_output=True,
                                     text=True, check=True).stdout
                row = json.loads(out.strip().splitlines()[-1])
                medians[(name, cpus)].append(row["median_ms"])
                nets[(name, cpus)].append(row["median_ms"] - row["idle_ms"])
                print(f"round {round_} {name:16} {cpus:>5} CPUs {row['median_ms']:7.2f} ms "
                      f"(idle {row['idle_ms']:.2f}) load {loads[-1]:.2f}", file=sys.stderr, flush=True)
    print(f"load average (1 min) during the run: {min(loads):.2f}..{max(loads):.2f}")
    for title, table in (("CPU ms per refresh", medians), ("net of the pilot's idle wait", nets)):
        print(f"\n{title}\n")
        print("| CPUs | old | new | old again (A/A) | new / mean(old, old again) | A/A: old again / old |")
        print("|---|---|---|---|---|---|")
        for cpus in args.cpus:
            old, new, again = (statistics.median(table[(v, cpus)]) for v, _ in variants)
            print(f"| {cpus} | {old:.1f} | {new:.1f} | {again:.1f} | {new / ((old + again) / 2):.2f} | "
                  f"{again / old:.2f} |")


if __name__ == "__main__":
    main()
