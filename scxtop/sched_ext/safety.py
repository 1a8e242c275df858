"""Who may be run as a scheduler: programs nobody but root (or us) could have planted.

A scheduler runs as root with the power to stall the machine, so scxtop only starts programs
whose file and every directory above it are owned by root or the current user and are not
writable by group or others (a sticky directory such as /tmp counts as safe for the entries
others cannot rename). Every component of the path *as given* is checked, symlinks and the
directories holding them included, and the resolved file is what runs (scxtop.trusted_path).
It never goes through a shell: programs are started from argument lists.
"""

from __future__ import annotations

import os
from pathlib import Path

from scxtop.sched_ext.errors import SwitchError
from scxtop.trusted_path import TrustedFile, UntrustedPath, check_executable, recheck


def require_root(action: str = "switch schedulers") -> None:
    if os.geteuid() != 0:
        raise SwitchError(f"{action} needs root (BPF and sched_ext): run it with sudo", status=1)


def unsafe_reason(path: Path) -> str | None:
    """Why `path` must not be run (None when it is safe): see scxtop.trusted_path."""
    try:
        check_executable(path)
    except UntrustedPath as err:
        return str(err)
    return None


def check_program(path: Path) -> TrustedFile:
    """`path` checked as given, component by component; run `trusted_path.recheck(...)` of the
    result, not `path` (which may be a symlink someone repoints)."""
    try:
        return check_executable(path)
    except UntrustedPath as err:
        raise SwitchError(f"refusing to run {path}: {err}") from None


def recheck_program(checked: TrustedFile) -> Path:
    """Right before exec: the checked file, unchanged, as a symlink-free trusted path."""
    try:
        return recheck(checked)
    except UntrustedPath as err:
        raise SwitchError(f"refusing to run {checked.given}: {err}") from None

