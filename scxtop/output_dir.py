"""The directory an output file goes in, opened so that nobody else can redirect the write.

O_NOFOLLOW guards only the last component of a path: `scxtop log --csv /tmp/evil/x.csv` where
/tmp/evil is another user's symlink (or their directory, which they can swap for one at any
moment) wrote wherever they pointed it. So the directories of an output path are walked as given,
each opened relative to the one before with O_NOFOLLOW|O_DIRECTORY and checked while it is open
(fstat, no second look at the path):
- a symlink on the way is followed only when root (or, when not running as root, we) owns it;
- a directory that others can write is refused unless it is sticky (like /tmp). Only world
  write counts: a group-writable directory's group is chosen by root (/var/log is 0775
  root:syslog on Ubuntu).
The caller then creates the file relative to the directory fd (openat), so what was checked is
where the file goes. Standard library only.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MAX_LINKS = 40
"""Symlinks followed on the way, as the kernel's own limit."""
_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
"""O_PATH: a directory we may search but not list (mode 0711) is opened too, as open(2) would pass it."""


class UnsafeOutput(Exception):
    """Why an output path is refused: one line that names the fix."""


def trusted_uids() -> frozenset[int]:
    """Who may own a symlink on the way: root, and ourselves when we are not root."""
    euid = os.geteuid()
    return frozenset({0}) if euid == 0 else frozenset({0, euid})


def _check_dir(fd: int, shown: str) -> None:
    info = os.fstat(fd)
    if info.st_mode & stat.S_IWOTH and not info.st_mode & stat.S_ISVTX:
        raise UnsafeOutput(f"{shown} is writable by other users and not sticky "
                           f"(chmod o-w {shown}, or write elsewhere)")


def open_parent(path: str | Path) -> tuple[int, str]:
    """(an fd of the checked directory that holds `path`, the file's name in it).

    Raises UnsafeOutput for a directory or symlink on the way that someone else could change, and
    OSError when a directory is missing or cannot be opened. The caller closes the fd."""
    path = Path(path)
    name = path.name
    if not name or name in (".", ".."):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    return open_dir(path.parent), name


def open_dir(path: str | Path, *, follow_last: bool = True) -> int:
    """An fd of the directory `path`, every directory and symlink on the way checked (see above).

    With follow_last=False the directory itself must not be a symlink, not even a trusted one
    (ELOOP). The caller closes the fd."""
    path = Path(path)
    parts = list(path.parts)
    if path.is_absolute():
        shown, parts = "/", parts[1:]
        fd = os.open("/", _DIR_FLAGS)
    else:  # from the working directory, named in messages by its real path
        fd = os.open(".", _DIR_FLAGS)
        try:
            shown = os.getcwd()
        except OSError:
            shown = "."
    links = 0
    try:
        _check_dir(fd, shown)
        while parts:
            part = parts.pop(0)
            where = os.path.join(shown, part)
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as err:
                if err.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise OSError(err.errno, err.strerror, where) from None
                # A symlink (ELOOP, or ENOTDIR where O_DIRECTORY asked for a directory)?
                link = os.stat(part, dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISLNK(link.st_mode):
                    raise OSError(err.errno, err.strerror, where) from None
                if not parts and not follow_last:
                    raise OSError(errno.ELOOP, "it is a symbolic link", where) from None
                if link.st_uid not in trusted_uids():
                    raise UnsafeOutput(f"{where} is a symlink owned by uid {link.st_uid}, which could point "
                                       f"it anywhere; give the real path") from None
                links += 1
                if links > MAX_LINKS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path)) from None
                target = os.readlink(part, dir_fd=fd)
                parts = list(Path(target).parts) + parts
                if os.path.isabs(target):
                    os.close(fd)
                    fd = -1
                    fd = os.open("/", _DIR_FLAGS)
                    parts, shown = parts[1:], "/"
                    _check_dir(fd, shown)
                continue
            os.close(fd)
            fd = child
            shown = where
            _check_dir(fd, shown)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        raise
    return fd
