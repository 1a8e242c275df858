"""Run a command where bpftrace is not installed, without touching the machine: a private mount
namespace in which every bpftrace binary is an empty, non-executable file."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

BINARIES = ("/usr/bin/bpftrace", "/usr/sbin/bpftrace", "/usr/local/bin/bpftrace")


def without_bpftrace(command: list[str]) -> list[str]:
    if os.geteuid() != 0 or not Path("/usr/bin/unshare").exists():
        pytest.skip("hiding bpftrace needs root and unshare (a private mount namespace)")
    hide = "".join(f"mount --bind $e {p}; " for p in BINARIES if Path(p).exists())
    inner = f"e=$(mktemp); chmod 644 $e; {hide}exec {shlex.join(command)}"
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", inner]
