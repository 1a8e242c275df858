"""Fixtures shared by the core tests (the dashboard's live in tests/tui/conftest.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


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
