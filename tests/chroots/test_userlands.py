"""The live tests and the dashboard tests again, inside Debian trixie (bpftrace 0.23, Python 3.13)
and sid (bpftrace 0.27, Python 3.14) chroots, on this kernel.

Each case runs one pytest subset in one chroot (tests/chroots/userland.py) and fails with the tail
of its output. The chroots are built by tests/chroots/prepare.sh (./bootstrap.sh test calls it);
a case skips, saying why, only when its chroot could not be prepared.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from userland import not_ready_reason, pytest_argv, refresh, run, userland, venv_current

pytestmark = pytest.mark.chroot

LIVE = [
    "tests/test_probes_live.py",  # the bpftrace source: each probe file, pinned loops, the flipper, pipes
    "tests/test_chains.py",  # the userfaultfd mutex chain, priority inversion
    "tests/test_log_cli.py",  # scxtop log end to end, signals, fallbacks
    "tests/chroots/test_log_round_trip.py",  # live JSONL replayed to the same CSV
    "tests/test_procfs.py",
    "tests/test_bpftrace_wrapper.py",
    "tests/test_replay.py",
    "tests/test_record.py",
    # Not bpftrace, and already run on the host: the procfs variant of the slowest log test.
    "--deselect", "tests/test_log_cli.py::test_pinned_busy_loops_raise_that_cpus_rq_in_the_csv[procfs]",
]
DASHBOARD = ["tests/tui"]  # Pilot tests and the SVG snapshots

CASES = [
    pytest.param("trixie", LIVE, id="trixie-live"),
    pytest.param("sid", LIVE, id="sid-live"),
    pytest.param("sid", DASHBOARD, id="sid-dashboard"),
]

TIMEOUT_S = 1800  # a bound for a wedged run on a loaded machine, not a speed expectation
TAIL_LINES = 60

# A skip in the chroot for one of these reasons means the chroot, not the machine, lacks something:
# that would hide exactly what these cases exist to run.
ENVIRONMENT_SKIPS = re.compile(r"not installed|not mounted|need root|needs root|cannot run here")


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


@pytest.mark.parametrize(("suite", "paths"), CASES)
def test_userland(suite: str, paths: list[str]):
    if os.environ.get("SCXTOP_CHROOT_RUN"):
        pytest.skip("already inside a chroot run")
    if reason := not_ready_reason(suite):
        pytest.skip(reason)
    if not venv_current(suite) and (reason := refresh(suite)):  # pyproject.toml changed since
        pytest.fail(reason, pytrace=False)
    info = userland(suite)
    print(f"{suite}: {info.bpftrace}, {info.python}")
    try:
        done = run(suite, pytest_argv(paths), timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{suite} ({info.bpftrace}, {info.python}): no result within {TIMEOUT_S} s\n"
                    f"{tail(e.output or '')}", pytrace=False)
    print(tail(done.stdout))
    summary = f"{suite} ({info.bpftrace}, {info.python}) exit {done.returncode}:\n{tail(done.stdout)}"
    if done.returncode != 0 or not re.search(r"\d+ passed", done.stdout):
        pytest.fail(summary, pytrace=False)
    env_skips = [line for line in done.stdout.splitlines()
                 if line.startswith("SKIPPED") and ENVIRONMENT_SKIPS.search(line)]
    assert not env_skips, f"{suite}: skipped for want of something the chroot should have:\n" + "\n".join(
        env_skips)
