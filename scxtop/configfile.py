"""scxtop's config file on disk: where it is, reading it so that nobody else can steer it, and TOML.

scxtop runs as root and the file names programs that root will start, so it is read the way a
local user cannot influence:
- every directory on the way is opened in turn, relative to the one before, with O_NOFOLLOW, and
  checked while it is open: owned by root (or, when not running as root, by us), and not writable
  by group or others unless sticky. A symlink on the way is followed only when its owner is
  trusted too (then nobody else can swap it);
- the file is opened once, with O_NOFOLLOW, checked with fstat, and that same descriptor is read;
- as root only root's files count: `sudo -E` keeps a user's HOME and XDG_CONFIG_HOME, and a config
  found through them is refused unless the file and every directory above it are root's (where
  there is no file, there is nothing to refuse: the defaults apply);
- the read is bounded (MAX_BYTES), and TOML that nests too deeply is an error, not a crash.
"""

from __future__ import annotations

import errno
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from scxtop.errors import ConfigError

MAX_BYTES = 1 << 20
"""A config is a few hundred bytes; anything over a mebibyte is not one."""
MAX_LINKS = 40
"""Symlinks followed on the way to the file, as the kernel's own limit."""


def default_path() -> Path:
    """$SCXTOP_CONFIG, else $XDG_CONFIG_HOME/scxtop/config.toml, else ~/.config/scxtop/config.toml."""
    if os.environ.get("SCXTOP_CONFIG"):
        return Path(os.environ["SCXTOP_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "scxtop" / "config.toml"


def trusted_uids() -> frozenset[int]:
    """Who may own the file and its directories: root, and ourselves when we are not root."""
    euid = os.geteuid()
    return frozenset({0}) if euid == 0 else frozenset({0, euid})


def _check(info: os.stat_result, shown: str, *, directory: bool) -> None:
    trusted = trusted_uids()
    if info.st_uid not in trusted:
        owner = "root" if trusted == {0} else "root or you"
        raise ConfigError(f"not trusting {shown}: owned by uid {info.st_uid}, not {owner} "
                          f"(move the config somewhere {owner} owns, or point SCXTOP_CONFIG at it)")
    sticky = directory and info.st_mode & stat.S_ISVTX
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not sticky:
        raise ConfigError(f"not trusting {shown}: writable by other users (chmod go-w {shown})")


def _read_fd(fd: int, shown: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BYTES:
            raise ConfigError(f"{shown} is larger than {MAX_BYTES} bytes: not a scxtop config")
    return b"".join(chunks)


def read_config(path: Path) -> str | None:
    """The text of the config at `path`, None when there is none; a one-line ConfigError when it is
    unreadable, not a regular file, or could have been written by someone we do not trust."""
    full = path if path.is_absolute() else Path.cwd() / path
    parts = list(full.parts[1:])
    shown = "/"
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    links = 0
    try:
        _check(os.fstat(fd), shown, directory=True)
        while parts:
            name = parts.pop(0)
            last = not parts
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_NONBLOCK if last else os.O_DIRECTORY)
            where = os.path.join(shown, name)
            try:
                child = os.open(name, flags, dir_fd=fd)
            except FileNotFoundError:
                return None
            except OSError as err:
                if err.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise ConfigError(f"cannot read config {path}: {where}: {err.strerror}") from None
                # A symlink (ELOOP; ENOTDIR where O_DIRECTORY asked for a directory): follow it
                # only if nobody but a trusted owner could have placed it.
                link = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISLNK(link.st_mode):
                    why = "not a directory" if err.errno == errno.ENOTDIR else err.strerror
                    raise ConfigError(f"cannot read config {path}: {where}: {why}") from None
                if link.st_uid not in trusted_uids():
                    if not os.path.lexists(full):
                        return None  # nothing there to refuse (see below)
                    raise ConfigError(f"not trusting {where}: a symlink owned by uid {link.st_uid} "
                                      f"(give the real path of the config)") from None
                links += 1
                if links > MAX_LINKS:
                    raise ConfigError(f"cannot read config {path}: too many symlinks") from None
                target = os.readlink(name, dir_fd=fd)
                parts = list(Path(target).parts) + parts
                if os.path.isabs(target):
                    os.close(fd)
                    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                    parts, shown = parts[1:], "/"
                continue
            info = os.fstat(child)
            os.close(fd)
            fd = child
            if not last:
                try:
                    _check(info, where, directory=True)
                except ConfigError:
                    # `sudo -E` with a user's HOME and no config in it: no config, not an error.
                    # Only an existing file is refused (whoever owns the directory can make it
                    # appear or vanish, but never makes root read it).
                    if not os.path.lexists(full):
                        return None
                    raise
                shown = where
                continue
            if not stat.S_ISREG(info.st_mode):
                raise ConfigError(f"config {path} is not a regular file")
            _check(info, where, directory=False)
            try:
                data = _read_fd(fd, str(path))
            except OSError as err:
                raise ConfigError(f"cannot read config {path}: {err.strerror}") from None
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError as err:
                line = data.count(b"\n", 0, err.start) + 1
                raise ConfigError(f"{path}:{line}: not UTF-8 text") from None
        raise ConfigError(f"config {path} is a directory, not a file")
    finally:
        os.close(fd)


def parse_toml(text: str, where: str) -> dict[str, Any]:
    """TOML as a dict; a one-line ConfigError naming the line for broken or absurdly nested TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{where}: {err}") from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply to be a scxtop config") from None


def line_of(text: str, table: str, key: str) -> int | None:
    """The line where `key` is set inside `[table]` ('' for the top level), for error messages;
    for a key that is itself a table, the line of its `[table.key]` header.

    A plain scan, good enough to point at a line: headers `[t]`/`[[t]]` switch the table, and a
    line `key = ...` (bare or quoted key) in the current table is the answer.
    """
    current = ""
    wanted = f"{table}.{key}" if table else key
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("["):
            current = line.strip("[] \t").split("]")[0].strip()
            if current == wanted:
                return number
            continue
        name = line.split("=", 1)[0].strip().strip("\"'") if "=" in line else None
        if current == table and name == key:
            return number
    return None
