"""`scxtop log` end to end, as a user runs it: a subprocess on the real kernel, real workloads."""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from restricted import as_nobody, without_bpftrace, without_tracepoints
from samples import full_sample
from workloads import (
    catches,
    flipping_task,
    loops_stand_out,
    marked_env,
    pinned_busy_loops,
    pipe_writers,
    processes_with,
)

from scxtop.recording import JsonlWriter, csv_header, read_jsonl

ROOT = Path(__file__).resolve().parent.parent
LOOPS = 10
"""Busy loops on one CPU: enough to stand out from what else runs on a shared test machine."""


def scxtop(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scxtop", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=env)


def bpftrace_started(mark: str) -> bool:
    for pid in processes_with(mark):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"bpftrace"):
                return True
    return False


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("scxtop: ")
    return lines[0]


def two_cpus() -> tuple[int, int]:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("needs two CPUs to compare a loaded one with an idle one")
    return cpus[-1], cpus[0]


def bpf_reason() -> str | None:
    from scxtop.sources.bpftrace import bpf_unavailable_reason

    return bpf_unavailable_reason()


@pytest.mark.parametrize("source", ["procfs", pytest.param("bpftrace", marks=pytest.mark.bpf)])
def test_pinned_busy_loops_raise_that_cpus_rq_in_the_csv(tmp_path: Path, source: str):
    if source == "bpftrace":
        needs_bpf()
    busy, idle = two_cpus()
    out = tmp_path / "log.csv"
    env, mark = marked_env()
    with pinned_busy_loops(busy, LOOPS):
        done = scxtop("log", "--source", source, "--interval", "0.5", "--duration", "2", "--csv", str(out),
                      env=env)
    assert done.returncode == 0, done.stderr
    assert processes_with(mark) == []
    header = out.read_text().splitlines()[0].split(",")
    assert header == csv_header(os.cpu_count() or 1)
    rows = rows_of(out)
    assert len(rows) == 4
    for row in rows:
        assert float(row[f"cpu{busy}_rq"]) >= LOOPS - 0.5, row
        assert loops_stand_out(float(row[f"cpu{busy}_rq"]), [float(row[f"cpu{idle}_rq"])], LOOPS), row
        assert float(row[f"cpu{busy}_util"]) > 90
        assert row["time"].endswith("Z")
    if source == "procfs":
        assert all(row["migrations"] == "" and row["chains"] == "" for row in rows)
    else:
        assert all(row["migrations"] != "" and row[f"cpu{busy}_csw"] != "" for row in rows)


def needs_bpf() -> None:
    if reason := bpf_reason():
        pytest.skip(f"bpftrace cannot run here: {reason}")


def log_jsonl(tmp_path: Path, *args: str) -> list:
    out = tmp_path / "log.jsonl"
    env, mark = marked_env()
    done = scxtop("log", "--source", "bpftrace", *args, "--jsonl", str(out), env=env)
    return logged(out, mark, done.returncode, done.stderr)


def logged(out: Path, mark: str, returncode: int | None, stderr: str) -> list:
    """A finished `scxtop log --jsonl` run's rows: it exited 0 and left no bpftrace behind."""
    assert returncode == 0, stderr
    assert processes_with(mark) == [], "bpftrace left behind"
    return [s for s in read_jsonl(out) if not s.gap]  # gap rows (bpftrace read late) hold no values


@pytest.mark.bpf
def test_a_task_flipping_between_two_cpus_migrates_both_ways(tmp_path: Path):
    needs_bpf()
    a, b = two_cpus()
    with flipping_task((a, b)) as pid:
        samples = log_jsonl(tmp_path, "--interval", "0.5", "--duration", "2")
    moved = {(m.src, m.dst): 0 for s in samples for m in s.migrations}
    for s in samples:
        for m in s.migrations:
            moved[(m.src, m.dst)] += m.count
    assert moved.get((a, b), 0) > 0 and moved.get((b, a), 0) > 0, moved
    assert any(m.pid == pid and m.count > 0 for s in samples for m in s.top_migrators)
    assert all(s.total_migrations == sum(c.mig_in for c in s.cpus) == sum(c.mig_out for c in s.cpus)
               for s in samples)


def log_until(tmp_path: Path, seen: Callable[[list], bool], *args: str, limit_s: float = 60.0) -> list:
    """`scxtop log --source bpftrace --jsonl` until `seen(samples)` holds (then SIGTERM) or for
    `limit_s`: on a loaded machine a workload may take a while to show what it makes, and a fixed
    duration long enough for the worst case would cost every quiet run the same."""
    out = tmp_path / "log.jsonl"
    env, mark = marked_env()
    command = [sys.executable, "-m", "scxtop", "log", "--source", "bpftrace", *args, "--jsonl", str(out)]
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=env)
    samples: list = []
    try:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            if out.exists():
                samples = [s for s in read_jsonl(out, warnings=[]) if not s.gap]
                if seen(samples):
                    break
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return logged(out, mark, proc.returncode, stderr)


@pytest.mark.bpf
def test_pipe_writers_show_blocked_edges_between_their_own_threads(tmp_path: Path):
    needs_bpf()

    def between_writers(samples: list) -> list:
        return [e for s in samples for e in s.blocked if e.waiter.tid in ours and e.owner is not None
                and e.owner.tid in ours and e.owner.tid != e.waiter.tid]

    with pipe_writers(4) as pids:
        ours = set(pids)
        # until they are seen to contend: beside a CPU-heavy job the writers barely run in some
        # intervals (no edge in 12 half-second rows once, at a load of 6 beside xz)
        samples = log_until(tmp_path, lambda samples: bool(between_writers(samples)), "--interval", "0.5")
        alive = sum(Path(f"/proc/{pid}").exists() for pid in pids)
    edges = [e for s in samples for e in s.blocked if e.waiter.tid in ours]
    assert between_writers(samples), (f"no blocked edge between the pipe writers in {len(samples)} rows "
                                      f"({len(edges)} edges with a writer waiting, "
                                      f"{sum(len(s.blocked) for s in samples)} edges in all; "
                                      f"{alive} of {len(pids)} workload processes alive at the end)")
    assert all(e.lock != 0 and e.wait_ns >= 0 for e in edges)


@pytest.mark.parametrize("source", ["procfs", pytest.param("bpftrace", marks=pytest.mark.bpf)])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=["SIGTERM", "SIGINT", "SIGHUP"])
def test_signal_ends_with_every_completed_row_on_disk_and_exit_0(tmp_path: Path, sig: signal.Signals,
                                                                 source: str):
    if source == "bpftrace":
        needs_bpf()
    out, jsonl = tmp_path / "log.csv", tmp_path / "log.jsonl"
    env, mark = marked_env()
    command = [sys.executable, "-m", "scxtop", "log", "--source", source, "--interval", "0.2",
               "--csv", str(out), "--jsonl", str(jsonl)]
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=env)
    try:
        while not out.exists() or len(out.read_text().splitlines()) < 4:
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert stderr == ""
    assert processes_with(mark) == [], "a child (bpftrace) outlived scxtop log"
    text = out.read_text()
    assert text.endswith("\n")
    rows = rows_of(out)
    assert len(rows) >= 3 and all(None not in row.values() and len(row) == len(rows[0]) for row in rows)
    assert len(read_jsonl(jsonl)) in (len(rows), len(rows) + 1)


@pytest.mark.bpf
def test_signal_while_bpftrace_starts_exits_0_and_leaves_nothing(tmp_path: Path):
    needs_bpf()
    env, mark = marked_env()
    out = tmp_path / "log.csv"
    command = [sys.executable, "-m", "scxtop", "log", "--source", "bpftrace", "--csv", str(out)]
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=env)
    try:
        while not bpftrace_started(mark):
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)  # bpftrace is starting: no row yet
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0 and stderr == ""
    assert processes_with(mark) == []


@pytest.mark.parametrize("source", ["procfs", pytest.param("bpftrace", marks=pytest.mark.bpf)])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_stop_signal_at_the_first_moment_it_is_caught_exits_0_with_the_header(tmp_path: Path, source: str,
                                                                              sig: signal.Signals):
    """The earliest a process can act on a signal is when its handler is in place: scxtop's first
    line installs it, before any import; from there on a stop is clean."""
    if source == "bpftrace":
        needs_bpf()
    env, mark = marked_env()
    out = tmp_path / "log.csv"
    command = [sys.executable, "-m", "scxtop", "log", "--source", source, "--csv", str(out)]
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=env)
    try:
        while not catches(proc.pid, sig):
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.001)
        caught_after = time.monotonic() - started
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0 and stderr == "", (caught_after, stderr)
    assert out.read_text().startswith("time,elapsed_s,cpu0_rq,")
    assert processes_with(mark) == []


def test_default_is_csv_on_stdout():
    done = scxtop("log", "--source", "procfs", "--interval", "0.25", "--duration", "0.5")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("time,elapsed_s,cpu0_rq,") and len(lines) == 3


def test_closed_stdout_ends_quietly():
    pipeline = subprocess.run(
        f"{sys.executable} -m scxtop log --source procfs --interval 0.1 | head -n 2; "
        "echo rc=${PIPESTATUS[0]}",
        shell=True, executable="/bin/bash", capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert pipeline.stdout.splitlines()[-1] == "rc=0"
    assert "Traceback" not in pipeline.stderr and pipeline.stderr == ""


def test_unwritable_path_is_a_one_line_error(tmp_path: Path):
    missing_dir = tmp_path / "no" / "such" / "x.csv"
    line = one_line_error(scxtop("log", "--source", "procfs", "--csv", str(missing_dir)))
    assert "create the directory" in line


def test_dev_full_is_a_one_line_error():
    line = one_line_error(scxtop("log", "--source", "procfs", "--interval", "0.1", "--csv", "/dev/full"))
    assert "No space left on device" in line


def big_recording(tmp_path: Path) -> Path:
    """100 full samples: more than the tiny disk holds."""
    recording = tmp_path / "big.jsonl"
    writer = JsonlWriter(recording)
    for n in range(100):
        writer.write(full_sample(n))
    writer.close()
    return recording


def test_full_disk_keeps_the_rows_written_so_far(tmp_path: Path, tiny_disk: Path):
    recording = big_recording(tmp_path)
    samples = read_jsonl(recording)
    out = tiny_disk / "out.jsonl"
    line = one_line_error(scxtop("log", "--source", f"replay:{recording}", "--jsonl", str(out)))
    assert "No space left on device" in line and str(out) in line
    kept = read_jsonl(out)
    assert 0 < len(kept) < len(samples)
    assert kept == samples[: len(kept)]


def test_full_disk_behind_appended_stdout_keeps_what_was_there(tmp_path: Path, tiny_disk: Path):
    recording = big_recording(tmp_path)
    out = tiny_disk / "appended.jsonl"
    out.write_text("earlier line\n")
    with out.open("a") as stdout:
        done = subprocess.run([sys.executable, "-m", "scxtop", "log", "--source", f"replay:{recording}",
                               "--jsonl", "-"], stdout=stdout, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                              timeout=120)
    assert "No space left on device" in one_line_error(done)
    assert out.read_text().startswith("earlier line\n{")


def test_replay_converts_a_recording_to_csv(tmp_path: Path):
    fixture = Path(__file__).parent / "fixtures" / "rqlen.csv"
    done = scxtop("log", "--source", f"replay:{fixture}", "--csv", "-")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(done.stdout.splitlines()))
    assert [r["cpu1_rq"] for r in rows] == ["0.0", "3.0", "4.0", "4.0"]
    assert rows[0]["cpu1_util"] == ""


def test_broken_recording_is_a_one_line_error_naming_the_line(tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    writer = JsonlWriter(bad)
    writer.write(full_sample(0))
    writer.close()
    with bad.open("a") as f:
        f.write('{"time": "soon"}\n')
    line = one_line_error(scxtop("log", "--source", f"replay:{bad}"))
    assert f"{bad}:2:" in line


def test_a_source_that_fails_to_open_writes_no_header(tmp_path: Path):
    """The CSV header was written on the way out whatever ended the run: a source that failed to
    open printed it to stdout ahead of its one-line error, or left a header-only file. (A stop
    signal before the first row still leaves the header: see the signal tests above.)"""
    done = scxtop("log", "--source", "replay:/dev/zero", "--csv", "-")
    assert "longer than 16 MiB" in one_line_error(done)
    assert done.stdout == ""
    out = tmp_path / "out.csv"
    done = scxtop("log", "--source", f"replay:{tmp_path / 'missing.jsonl'}", "--csv", str(out))
    assert "no such recording" in one_line_error(done)
    assert out.read_text() == ""


def test_csv_and_jsonl_cannot_both_take_stdout():
    assert "cannot both go to stdout" in one_line_error(scxtop("log", "--csv", "-", "--jsonl", "-"))


def test_unknown_source_is_a_one_line_error():
    line = one_line_error(scxtop("log", "--source", "ebpf-magic"))
    assert "unknown source 'ebpf-magic'" in line and "procfs" in line


def scxtop_without_bpftrace(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(without_bpftrace([sys.executable, "-m", "scxtop", *args]),
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_bpftrace_missing_is_a_one_line_error():
    done = scxtop_without_bpftrace("log", "--source", "bpftrace", "--duration", "1")
    assert "bpftrace is not installed" in one_line_error(done)


def test_auto_falls_back_to_procfs_and_says_why_once():
    done = scxtop_without_bpftrace("log", "--interval", "0.2", "--duration", "0.6")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("\n") == 1 and "using procfs" in done.stderr
    assert "bpftrace is not installed" in done.stderr
    rows = list(csv.DictReader(done.stdout.splitlines()))
    assert len(rows) == 3 and rows[0]["migrations"] == ""


def scxtop_as_nobody(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(as_nobody([sys.executable, "-m", "scxtop", *args]), capture_output=True, text=True,
                          cwd="/", timeout=60)


def test_bpftrace_without_privileges_is_a_one_line_error():
    line = one_line_error(scxtop_as_nobody("log", "--source", "bpftrace", "--duration", "1"))
    assert "root" in line and "sudo" in line


def test_auto_without_privileges_falls_back_to_procfs():
    done = scxtop_as_nobody("log", "--interval", "0.2", "--duration", "0.4")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("\n") == 1 and "using procfs" in done.stderr and "root" in done.stderr
    assert len(done.stdout.splitlines()) == 3


def scxtop_without_tracepoints(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(without_tracepoints([sys.executable, "-m", "scxtop", *args]), capture_output=True,
                          text=True, cwd=ROOT, timeout=120, env=env)


@pytest.mark.bpf
def test_bpftrace_failing_at_start_is_a_one_line_error_and_leaves_nothing_behind():
    needs_bpf()
    env, mark = marked_env()
    done = scxtop_without_tracepoints("log", "--source", "bpftrace", "--duration", "1", env=env)
    line = one_line_error(done)
    # 0.17-0.2x name the missing tracepoint; 0.27 first fails to read tracefs's list of events
    assert "tracepoint not found" in line or "available_events" in line
    assert "--source procfs" in line
    assert processes_with(mark) == []


@pytest.mark.bpf
def test_auto_falls_back_to_procfs_when_bpftrace_fails_at_start():
    needs_bpf()
    env, mark = marked_env()
    done = scxtop_without_tracepoints("log", "--interval", "0.2", "--duration", "0.4", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("\n") == 1 and "using procfs" in done.stderr and "bpftrace failed" in done.stderr
    rows = list(csv.DictReader(done.stdout.splitlines()))
    assert len(rows) == 2 and rows[0]["migrations"] == "" and rows[0]["cpu0_rq"] != ""
    assert processes_with(mark) == []


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "x"])
def test_an_interval_that_is_not_a_finite_positive_number_is_refused(value: str):
    done = scxtop("log", "--source", "procfs", "--interval", value, "--duration", "1", "--csv", "-")
    assert done.returncode == 2 and done.stdout == "", done.stdout
    assert done.stderr.splitlines()[-1].startswith("scxtop log: error: argument --interval: "), done.stderr
    assert "Traceback" not in done.stderr
