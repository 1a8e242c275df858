"""`scxtop log` from live bpftrace, then its JSONL replayed: the replay gives back the very CSV the
live run wrote. Runs on the host (bookworm's bpftrace) and inside each chroot (test_userlands.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from workloads import bpf_skip_reason, flipping_task, marked_env, pinned_busy_loops, processes_with

ROOT = Path(__file__).resolve().parents[2]


def scxtop(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scxtop", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=env)


@pytest.mark.bpf
def test_live_jsonl_replays_to_the_csv_the_live_run_wrote(tmp_path: Path):
    if reason := bpf_skip_reason():
        pytest.skip(reason)
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("needs two CPUs (busy loops on one, a task flipping between two)")
    busy, other = cpus[-1], cpus[0]
    live_csv, live_jsonl = tmp_path / "live.csv", tmp_path / "live.jsonl"
    env, mark = marked_env()
    with pinned_busy_loops(busy, 4), flipping_task((busy, other)):
        done = scxtop("log", "--source", "bpftrace", "--interval", "0.5", "--duration", "2",
                      "--csv", str(live_csv), "--jsonl", str(live_jsonl), env=env)
    assert done.returncode == 0, done.stderr
    assert processes_with(mark) == [], "bpftrace outlived scxtop log"
    live = live_csv.read_text().splitlines()
    assert len(live) == 1 + 4, live  # header and 2 s / 0.5 s rows
    header = live[0].split(",")
    first = dict(zip(header, live[1].split(","), strict=True))
    assert float(first[f"cpu{busy}_rq"]) >= 3, first  # the probes saw the busy loops
    assert first["migrations"] not in ("", "0"), first  # and the flipping task

    replayed = scxtop("log", "--source", f"replay:{live_jsonl}", "--csv", "-")
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.splitlines() == live
