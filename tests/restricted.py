"""Run a command with something taken away, without changing the machine: bpftrace or the
tracepoints hidden in a private mount namespace, or root dropped for the `nobody` user."""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BINARIES = ("/usr/bin/bpftrace", "/usr/sbin/bpftrace", "/usr/local/bin/bpftrace")


def without_bpftrace(command: list[str]) -> list[str]:
    """`command` where every bpftrace binary is an empty, non-executable file."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("hiding bpftrace needs root and unshare (a private mount namespace)")
    hide = "".join(f"mount --bind $e {p}; " for p in BINARIES if Path(p).exists())
    # The empty file is removed once mounted (the mounts keep it): no temporary file outlives the test.
    inner = f"e=$(mktemp); chmod 644 $e; {hide}rm -f $e; exec {shlex.join(command)}"
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", inner]


NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


HIDE_DEBUGFS = "umount -l /sys/kernel/debug 2>/dev/null || true"
"""For a private mount namespace: debugfs, and the tracefs it mounts at debug/tracing, gone."""


def without_tracepoints(command: list[str]) -> list[str]:
    """`command` where /sys/kernel/tracing is an empty tmpfs with an empty events/ directory: it
    looks mounted, so bpftrace starts, and then fails to attach any tracepoint.

    debugfs goes too: where it is mounted (most distributions mount it at boot), bpftrace finds
    tracefs again at /sys/kernel/debug/tracing, which debugfs mounts anew whenever it is read."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("hiding tracepoints needs root and unshare (a private mount namespace)")
    inner = (f"{HIDE_DEBUGFS}; mount -t tmpfs none /sys/kernel/tracing; mkdir /sys/kernel/tracing/events; "
             f"exec {shlex.join(command)}")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", inner]


@functools.cache
def _nobody_can_run_python() -> bool:
    probe = [*NOBODY, sys.executable, "-c", "import scxtop"]
    return subprocess.run(probe, capture_output=True, cwd="/", timeout=60).returncode == 0


def as_nobody(command: list[str]) -> list[str]:
    """`command` run as the unprivileged `nobody` user (no root, no capabilities)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("dropping privileges needs root and setpriv")
    if not _nobody_can_run_python():
        pytest.skip("user nobody cannot run this virtual environment's python")
    return [*NOBODY, *command]
