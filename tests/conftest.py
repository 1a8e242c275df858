"""Fixtures shared by the core tests (the dashboard's live in tests/tui/conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from workloads import stop_gently

pytest_plugins = ["sigterm_as_interrupt"]

RUN_TMP = Path(tempfile.mkdtemp(prefix="scxtop-tests-"))
"""This run's temporary directory (TMPDIR for the tests and every process they start): whatever
a test leaves in it other than pytest's own tmp_path tree fails that test."""
os.environ["TMPDIR"] = str(RUN_TMP)
tempfile.tempdir = str(RUN_TMP)


def _left_in_run_tmp() -> set[str]:
    return {name for name in os.listdir(RUN_TMP) if not name.startswith("pytest-of-")}


@pytest.fixture(autouse=True)
def no_temporary_file_outlives_the_test():
    before = _left_in_run_tmp()
    yield
    left = _left_in_run_tmp() - before
    for name in left:
        path = RUN_TMP / name
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    if left:
        pytest.fail(f"temporary files outlived the test: {sorted(left)}")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(RUN_TMP, ignore_errors=True)


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A real 16 KiB tmpfs, to fill up: the full-disk case without mocking the file system."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (/dev/full covers the full-disk error without it)")
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def private_bus(tmp_path: Path):
    """The address of a private dbus-daemon whose socket is in `tmp_path`: the session config's
    `unix:tmpdir=/tmp` ignores TMPDIR, and left a /tmp/dbus-* socket behind every run."""
    socket = tmp_path / "bus"
    daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address",
                               f"--address=unix:path={socket}"], stdout=subprocess.PIPE, text=True)
    assert daemon.stdout is not None
    try:
        yield daemon.stdout.readline().strip()
    finally:
        stop_gently(daemon)
        daemon.stdout.close()
