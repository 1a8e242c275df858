"""`scxtop compare` on this host: its bad inputs (each a one-line error, nothing run) and its
table logic. The switching runs themselves need sched_ext: tests/vm/test_vm_compare.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from restricted import as_nobody

from scxtop.comparecmd import SignalGate, _run_command, _signals_ignored, _Terminated
from scxtop.model import CpuStats, LatencyBucket, LatencyHistogram, Sample
from scxtop.sched_ext import compare
from scxtop.sched_ext.compare import RunResult, run_order
from scxtop.sched_ext.report import window_stats

HOST_HAS_SCHED_EXT = Path("/sys/kernel/sched_ext").is_dir()


def scxtop(*args: str, runner=lambda c: c) -> subprocess.CompletedProcess:
    return subprocess.run(runner([sys.executable, "-m", "scxtop", "compare", *args]), capture_output=True,
                          text=True, timeout=60, cwd="/")


def one_line_error(done: subprocess.CompletedProcess, status: int) -> str:
    assert done.returncode == status, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scxtop: "), done.stderr
    assert done.stdout == ""
    return lines[0]


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    """A file the command would create if it ran (in a directory anyone may write)."""
    tmp_path.chmod(0o777)
    return tmp_path / "ran"


@pytest.mark.skipif(HOST_HAS_SCHED_EXT, reason="this host has sched_ext; the guest covers the rest")
def test_kernel_without_sched_ext_is_exit_2(marker):
    if os.geteuid() != 0:
        pytest.skip("the sched_ext check comes after the root check")
    line = one_line_error(scxtop("default", "--runs", "1", "--", "touch", str(marker)), 2)
    assert "no sched_ext" in line and "CONFIG_SCHED_CLASS_EXT" in line
    assert not marker.exists()


def test_not_root_is_one_line_and_nothing_runs(marker):
    done = scxtop("default", "--runs", "1", "--", "touch", str(marker), runner=as_nobody)
    line = one_line_error(done, 1)
    assert "needs root" in line and "sudo" in line
    assert not marker.exists()


def test_unknown_scheduler_names_the_known_ones(marker):
    if os.geteuid() != 0:
        pytest.skip("the scheduler check comes after the root check")
    line = one_line_error(scxtop("default", "scx_nosuch", "--", "touch", str(marker)), 2)
    assert "unknown scheduler 'scx_nosuch'" in line and "default" in line
    assert not marker.exists()


def test_command_not_found():
    if os.geteuid() != 0:
        pytest.skip("the command check comes after the root check")
    line = one_line_error(scxtop("default", "--", "no-such-program-here", "x"), 2)
    assert "'no-such-program-here'" in line and "not found" in line


@pytest.mark.parametrize(("args", "words"), [
    (("default",), "give a command after --"),
    (("default", "--duration", "2", "--", "true"), "either a command or --duration"),
    (("default", "--source", "replay:/x", "--duration", "1"), "compare measures live"),
])
def test_missing_or_conflicting_arguments(args, words):
    assert words in one_line_error(scxtop(*args), 2)


@pytest.mark.parametrize("bad", [["--runs", "0"], ["--warmup", "-1"], ["--duration", "x"]])
def test_bad_numbers_are_usage_errors(bad):
    done = scxtop("default", *bad, "--", "true")
    assert done.returncode == 2 and "usage: scxtop compare" in done.stderr


def test_order_is_interleaved_and_rotated():
    assert run_order(["a", "b", "c"], 3) == [
        (1, "a"), (1, "b"), (1, "c"), (2, "b"), (2, "c"), (2, "a"), (3, "c"), (3, "a"), (3, "b")]
    assert run_order(["a"], 2) == [(1, "a"), (2, "a")]


def _samples(start: float, n: int, lat_us: int) -> list[Sample]:
    hist = LatencyHistogram((LatencyBucket(lat_us // 2, lat_us, 10),))
    return [Sample(time=start + i + 1, elapsed_s=i + 1.0, interval_s=1.0, source="t",
                   cpus=(CpuStats(0, rq=1.0, csw=100),), wakeup_latency=hist) for i in range(n)]


def test_window_takes_the_samples_that_overlap_the_run():
    samples = _samples(100.0, 10, 64)  # intervals (100,101] ... (109,110]
    assert compare.window(samples, 102.5, 104.2).samples == 3  # (102,103], (103,104], (104,105]
    assert compare.window(samples, 120.0, 121.0).samples == 0


def test_table_median_range_and_ratio_to_the_first():
    def result(run: int, name: str, wall: float, lat: int, error: str = "") -> RunResult:
        stats = window_stats(_samples(0.0, 2, lat))
        return RunResult(0.0, run, name, True, "ok", 0 if not error else 1, wall, stats, error)

    results = [result(1, "default", 2.0, 64), result(1, "scx_a", 3.0, 128),
               result(2, "scx_a", 5.0, 128), result(2, "default", 4.0, 64),
               result(3, "default", 3.0, 64), result(3, "scx_a", 4.0, 256, "command exited with status 1"),
               RunResult(0.0, 4, "scx_a", False, "switch to scx_a failed: x; default runs again",
                         error="switch to scx_a failed: x; default runs again")]  # fmt: skip
    lines = compare.format_table(results, ["default", "scx_a"])
    assert lines[0].split() == ["default", "scx_a"]
    wall = next(line for line in lines if line.startswith("wall time"))
    assert wall.split()[3:5] == ["3", "(2..4)"]  # default: median and range
    assert wall.split()[-1] == "x1.33"  # median 4 over median 3
    p50 = next(line for line in lines if line.startswith("wakeup latency p50"))
    assert p50.split()[-1] == "x2.00"
    assert lines[-1].split() == ["runs", "ok", "3/3", "2/4"]
    assert compare.failures(results) == [
        "run 3 scx_a: command exited with status 1",
        "run 4 scx_a: switch to scx_a failed: x; default runs again"]
    row = compare.csv_row(results[0])
    assert row[:5] == ["1", "default", "1", "0", "2"] and len(row) == len(compare.CSV_HEADER)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_signal_stops_the_command_and_unwinds_as_ctrl_c(sig: signal.Signals):
    """SIGTERM and SIGHUP (a closed terminal) are raised as a KeyboardInterrupt of their own: the
    command is stopped, and no `except Exception` between the signal and the restore can swallow
    it (SIGHUP used to kill compare outright, leaving the scheduler under test running)."""
    gate = SignalGate()
    me = psutil.Process()
    before = signal.getsignal(sig)
    with gate.installed():
        timer = threading.Timer(0.5, os.kill, (os.getpid(), sig))
        timer.start()
        with pytest.raises(KeyboardInterrupt) as stopped:
            _run_command(["sleep", "300"], gate)
        timer.join()
    assert isinstance(stopped.value, _Terminated) and stopped.value.name == sig.name
    assert [child.name() for child in me.children()] == [], "the command outlived the signal"
    assert signal.getsignal(sig) is before, "the gate did not give the handler back"


def test_a_stop_signal_inside_a_switch_waits_for_the_switch():
    gate = SignalGate()
    finished = []
    with gate.installed(), pytest.raises(_Terminated), gate.critical():
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(0.2)  # handled here, and held until the switch is over
        finished.append("switch")
    assert finished == ["switch"]


def test_while_the_previous_scheduler_is_put_back_stop_signals_are_ignored():
    """A second Ctrl-C, SIGTERM or SIGHUP must not stop the restore (`_signals_ignored` once raised
    a TypeError here instead, and the restore never ran)."""
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    with _signals_ignored():
        for sig in before:
            os.kill(os.getpid(), sig)
        time.sleep(0.1)  # each is delivered here: ignored, so none raises or ends the process
    assert {sig: signal.getsignal(sig) for sig in before} == before
