"""`scxtop doctor` on this machine, and with bpftrace hidden in a private mount namespace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from restricted import as_nobody, without_bpftrace

from scxtop.doctor import run_checks

ROOT = Path(__file__).resolve().parent.parent


def doctor(prefix: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, sys.executable, "-m", "scxtop", "doctor"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_every_check_reports_one_line_with_a_fix_when_missing():
    checks = run_checks()
    names = [c.name for c in checks]
    assert names == ["privileges", "bpftrace", "tracefs", "tracepoints", "BTF", "BPF load", "sched_ext",
                     "taskstats", "kernel log"]
    for check in checks:
        assert check.detail and "\n" not in check.detail
    sched_ext = next(c for c in checks if c.name == "sched_ext")
    assert sched_ext.ok == Path("/sys/kernel/sched_ext").is_dir()


def test_exit_0_when_bpftrace_can_run():
    from scxtop.sources.bpftrace import bpf_unavailable_reason

    if reason := bpf_unavailable_reason():
        pytest.skip(f"bpftrace cannot run here: {reason}")
    done = doctor([])
    assert done.returncode == 0, done.stdout
    assert "MISSING" not in done.stdout and "can use bpftrace" in done.stdout
    lines = done.stdout.splitlines()
    assert any(line.startswith("ok") and "bpftrace" in line and " v0." in line for line in lines)


def test_missing_bpftrace_says_how_to_install_and_exits_1():
    done = subprocess.run(without_bpftrace([sys.executable, "-m", "scxtop", "doctor"]),
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert any(line.startswith("MISSING") and "apt-get install bpftrace" in line for line in lines)
    assert "falls back to procfs" in lines[-1]


def test_without_root_it_says_run_with_sudo_and_exits_1():
    done = subprocess.run(as_nobody([sys.executable, "-m", "scxtop", "doctor"]), capture_output=True,
                          text=True, cwd="/", timeout=120)
    assert done.returncode == 1 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].startswith("MISSING") and "privileges" in lines[0] and "sudo" in lines[0]
    assert any(line.startswith("--") and "kernel log" in line for line in lines)
