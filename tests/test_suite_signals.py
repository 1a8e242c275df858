"""The test suite itself, stopped by a signal: its fixtures still stop what they started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from workloads import alive, stop_gently

TESTS = Path(__file__).parent

INNER = '''
import os, subprocess, sys, time
from pathlib import Path
import pytest

@pytest.fixture
def spinner():
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    Path(os.environ["SPINNER_PID"]).write_text(str(proc.pid))
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()

def test_holds_a_spinner(spinner):
    time.sleep(120)
'''


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("plugin", [True, False], ids=["with-plugin", "without-plugin"])
def test_a_signalled_run_tears_its_fixtures_down(tmp_path: Path, sig: signal.Signals, plugin: bool):
    """With `sigterm_as_interrupt` (as tests/conftest.py loads it) the run stops as Ctrl-C stops it
    and the fixture kills its spinner; without it, the spinner outlives the run, as a CI timeout
    or a `pkill` left the chroot suites' workloads spinning."""
    (tmp_path / "test_inner.py").write_text(INNER)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    pidfile = tmp_path / "spinner.pid"
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
            "-c", str(tmp_path / "pytest.ini"), str(tmp_path / "test_inner.py")]
    if plugin:
        argv[3:3] = ["-p", "sigterm_as_interrupt"]
    inner_tmp = tmp_path / "tmp"  # a killed pytest leaves its own temporary files behind
    inner_tmp.mkdir()
    env = {**os.environ, "SPINNER_PID": str(pidfile), "PYTHONPATH": str(TESTS), "TMPDIR": str(inner_tmp)}
    run = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    spinner = 0
    try:
        deadline = time.monotonic() + 60
        while not pidfile.exists() or not pidfile.read_text():
            assert run.poll() is None, f"the inner run ended before its test began: {run.communicate()[0]}"
            assert time.monotonic() < deadline, "the inner test never started its spinner"
            time.sleep(0.05)
        spinner = int(pidfile.read_text())
        run.send_signal(sig)
        out, _ = run.communicate(timeout=60)
        time.sleep(0.2)  # the orphaned spinner's reaping by init, if it was killed at all
        if plugin:
            assert run.returncode == pytest.ExitCode.INTERRUPTED, out
            assert f"stopped by {sig.name}" in out, out
            assert not alive(spinner), f"the spinner outlived the run:\n{out}"
        else:
            assert run.returncode == -sig, out
            assert alive(spinner), "without the plugin the fixture should not have run (test of the test)"
    finally:
        if run.poll() is None:
            stop_gently(run)
        if spinner and alive(spinner):
            os.kill(spinner, signal.SIGKILL)
