"""scxtop's run directory (/run/scxtop) and its logs/: private to root whatever the umask.

The switch journal and the schedulers' output live there, and root writes into them: a directory
that someone else owns or can write would let them plant symlinks or forge the journal. So a new
one is made 0700 (chmod after mkdir: mkdir's mode is masked by the umask), and an existing one
that is a symlink, is not ours, or that group or others can write is refused.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from scxtop.kernel.scx_journal import RUN_DIR
from scxtop.sched_ext.errors import SwitchError

MODE = 0o700


def private_dir(path: Path) -> Path:
    """`path` as a directory only we can change, created 0700 (with its parents) when missing."""
    if not path.parent.exists():
        private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, MODE)
        os.chmod(path, MODE, follow_symlinks=False)  # the umask may have taken bits off mkdir's
    try:
        info = os.lstat(path)
    except OSError as err:
        raise SwitchError(f"cannot use {path}: {err.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise SwitchError(f"{path} is a symlink; remove it (scxtop recreates it as a private directory)")
    if not stat.S_ISDIR(info.st_mode):
        raise SwitchError(f"{path} is not a directory; remove it")
    if info.st_uid != os.geteuid():
        raise SwitchError(f"{path} is owned by uid {info.st_uid}, not us; remove it (rm -r {path})")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise SwitchError(f"{path} is writable by other users (chmod go-w {path})")
    return path


def ensure_run_dir(run_dir: Path | None = None) -> Path:
    """The run directory (/run/scxtop, or $SCXTOP_RUN_DIR) as a private directory, made in one place."""
    return private_dir(run_dir or RUN_DIR)
