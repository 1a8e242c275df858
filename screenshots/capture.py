"""Record the shipped recording: `scxtop log --jsonl` on this machine under an interesting load.

    sudo .venv/bin/python screenshots/capture.py [OUT.jsonl] [--seconds 30]

The load, from tests/workloads.py, comes in phases so the history sparklines have a shape:
  0s   nothing of ours (the baseline)
  5s   three busy loops pinned to CPU 1 (one overloaded runqueue next to a quieter one)
  15s  + a process flipping its affinity between CPU 0 and 1 (migrations both ways)
  25s  + four processes contending on one pipe's mutex (blocked-on edges)
Every workload process is killed and reaped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from workloads import flipping_task, pinned_busy_loops, pipe_writers  # noqa: E402

DEFAULT_OUT = ROOT / "tests/fixtures/recordings/contention.jsonl"


def capture(out: Path, seconds: float, interval: float) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    log = subprocess.Popen(
        [sys.executable, "-m", "scxtop", "log", "--source", "bpftrace", "--interval", str(interval),
         "--duration", str(seconds), "--jsonl", str(out), "--csv", "/dev/null"],
        cwd=ROOT,
    )
    try:
        with contextlib.ExitStack() as load:
            time.sleep(5)
            load.enter_context(pinned_busy_loops(cpu=1, count=3))
            time.sleep(10)
            load.enter_context(flipping_task((0, 1), 0.002))
            time.sleep(10)
            load.enter_context(pipe_writers(writers=4))
            log.wait(timeout=seconds + 30)
    finally:
        if log.poll() is None:
            log.terminate()
            log.wait()
    if log.returncode != 0:
        raise SystemExit(f"capture: scxtop log failed with status {log.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    capture(args.out, args.seconds, args.interval)
    print(f"wrote {args.out} ({sum(1 for _ in args.out.open())} samples)")


if __name__ == "__main__":
    main()
