"""Who may be run as a scheduler: programs nobody but root (or us) could have planted.

A scheduler runs as root with the power to stall the machine, so scxtop only starts programs
whose file and every directory above it are owned by root or the current user and are not
writable by group or others (a sticky directory such as /tmp counts as safe for the entries
others cannot rename). It never goes through a shell: programs are started from argument lists.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from scxtop.sched_ext.errors import SwitchError


def require_root(action: str = "switch schedulers") -> None:
    if os.geteuid() != 0:
        raise SwitchError(f"{action} needs root (BPF and sched_ext): run it with sudo", status=1)


def unsafe_reason(path: Path) -> str | None:
    """Why `path` must not be run (None when it is safe)."""
    if not path.is_absolute():
        return f"{path} is not an absolute path"
    try:
        info = path.stat()
    except OSError as err:
        return f"{path}: {err.strerror}"
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file"
    if not os.access(path, os.X_OK):
        return f"{path} is not executable"
    trusted = {0, os.geteuid()}
    current = path.resolve()
    for node in (current, *current.parents):
        info = node.stat()
        if info.st_uid not in trusted:
            return f"{node} is owned by uid {info.st_uid}, not root"
        sticky_dir = stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not sticky_dir:
            return f"{node} is writable by other users (chmod go-w {node})"
    return None


def check_program(path: Path) -> None:
    reason = unsafe_reason(path)
    if reason:
        raise SwitchError(f"refusing to run {path}: {reason}")

