"""Which programs root may run: files that nobody but root (or us) could have planted or swapped.

A path is trusted when every component of it, *as given*, is: each directory on the way, each
symlink met on the way (and then every component of its target, recursively), and the file at the
end are owned by root or the current user, and no directory or file is writable by group or
others (a sticky directory such as /tmp is safe for the entries others cannot rename). Checking
only the resolved path misses the directory that holds a symlink: whoever owns that directory
can point the link elsewhere after the check.

The check returns the resolved file and its inode; `recheck` is called right before running it,
and the resolved path is what gets executed. Every component of that path is trusted, so nobody
else can swap it between the recheck and exec. Standard library only (scxtop.bpftrace uses it).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

MAX_LINKS = 40
"""Symlinks followed in one path (the kernel's limit, ELOOP beyond)."""


class UntrustedPath(Exception):
    """Why a path must not be run; the message is one line that names the fix."""


@dataclass(frozen=True, slots=True)
class TrustedFile:
    given: Path
    resolved: Path
    """Symlink-free, every component checked: the path to execute."""
    dev: int
    ino: int


def _trusted_uids() -> frozenset[int]:
    return frozenset({0, os.geteuid()})


def _check_node(node: Path, info: os.stat_result, uids: frozenset[int]) -> None:
    if info.st_uid not in uids:
        raise UntrustedPath(f"{node} is owned by uid {info.st_uid}, not root")
    if stat.S_ISLNK(info.st_mode):
        return  # a link's own mode means nothing; its directory and owner decide who can change it
    sticky_dir = stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not sticky_dir:
        raise UntrustedPath(f"{node} is writable by other users (chmod go-w {node})")


def _lstat(node: Path) -> os.stat_result:
    try:
        return os.lstat(node)
    except OSError as err:
        raise UntrustedPath(f"{node}: {err.strerror}") from None


def resolve_trusted(path: Path) -> Path:
    """The symlink-free path of `path`, having checked every component met on the way."""
    if not path.is_absolute():
        raise UntrustedPath(f"{path} is not an absolute path")
    uids = _trusted_uids()
    current = Path("/")
    _check_node(current, _lstat(current), uids)
    pending = list(path.parts[1:])
    links = 0
    while pending:
        name = pending.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            current = current.parent  # `current` holds no symlink, so this is the real parent
            continue
        node = current / name
        info = _lstat(node)
        _check_node(node, info, uids)
        if stat.S_ISLNK(info.st_mode):
            links += 1
            if links > MAX_LINKS:
                raise UntrustedPath(f"{path}: too many levels of symbolic links")
            target = Path(os.readlink(node))
            if target.is_absolute():
                current = Path("/")
                pending = [*target.parts[1:], *pending]
            else:
                pending = [*target.parts, *pending]
            continue
        if pending and not stat.S_ISDIR(info.st_mode):
            raise UntrustedPath(f"{node} is not a directory")
        current = node
    return current


def check_executable(path: Path) -> TrustedFile:
    """`path` checked component by component; raises UntrustedPath saying why it must not run."""
    resolved = resolve_trusted(path)
    info = os.lstat(resolved)
    if not stat.S_ISREG(info.st_mode):
        raise UntrustedPath(f"{path} is not a regular file")
    if not os.access(resolved, os.X_OK):
        raise UntrustedPath(f"{path} is not executable")
    return TrustedFile(given=path, resolved=resolved, dev=info.st_dev, ino=info.st_ino)


def recheck(checked: TrustedFile) -> Path:
    """The path to execute, right before exec: the same file that was checked, checked again."""
    again = check_executable(checked.resolved)
    if (again.dev, again.ino) != (checked.dev, checked.ino):
        raise UntrustedPath(f"{checked.given} changed since it was checked; not running it")
    return again.resolved
