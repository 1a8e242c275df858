"""An append-only line sink that writes whole lines or nothing.

Each row goes to the kernel in one `os.write` as soon as it is formatted, so a crash or Ctrl-C
loses at most the interval in progress. When a write fails (full disk, closed pipe) the partial
row is cut off again where the file allows it, so every row on disk stays whole, and the failure
becomes a one-line `RecordError`.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import sys
from pathlib import Path

from scxtop.output_dir import UnsafeOutput, open_parent
from scxtop.recording.common import RecordError


class RowSink:
    """An append-only line sink on a path or stdout ('-') that writes whole lines or nothing."""

    def __init__(self, target: str | Path) -> None:
        self.name = "stdout" if str(target) == "-" else str(target)
        self._own = str(target) != "-"
        try:
            self._fd = _open_output(Path(target)) if self._own else sys.stdout.fileno()
        except UnsafeOutput as err:
            raise RecordError(f"cannot write {self.name}: {err}") from None
        except OSError as err:
            raise RecordError(f"cannot write {self.name}: {err.strerror} ({_fix(err)})") from None
        except (AttributeError, io.UnsupportedOperation):
            raise RecordError("cannot write stdout: it is not a file (use --csv PATH)") from None
        self._good = 0
        self._closed = False

    def write_line(self, line: str) -> None:
        data = (line + "\n").encode()
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except BrokenPipeError:
            raise  # the reader left (`| head`): the caller ends quietly
        except OSError as err:
            self._cut_partial()
            raise RecordError(f"cannot write {self.name}: {err.strerror} ({_fix(err)})") from None
        self._good += len(data)

    def _cut_partial(self) -> None:
        """Drop a half-written row so the file ends on the last whole one.

        Only in a file we created: stdout may be a file opened for appending (`>> log.csv`),
        whose earlier contents are not ours to cut."""
        if self._own:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._good)

    def close(self) -> None:
        if not self._closed and self._own:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._closed = True


def _open_output(path: Path) -> int:
    """An fd for writing `path` from the start, refusing what someone else may have planted.

    The directories on the way are walked and checked (scxtop.output_dir), and the file is
    created relative to the checked directory's fd: nothing between the check and the open
    can move the path elsewhere."""
    dir_fd, name = open_parent(path)
    try:
        return _open_in(dir_fd, name, path)
    finally:
        os.close(dir_fd)


def _open_in(dir_fd: int, name: str, path: Path) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, 0o644, dir_fd=dir_fd)
    except OSError:
        # ELOOP, or EACCES for another user's link in a sticky dir (fs.protected_symlinks)
        with contextlib.suppress(OSError):
            if stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                raise UnsafeOutput("it is a symlink; give the real path") from None
        raise
    try:
        info = os.fstat(fd)
        parent = os.fstat(dir_fd)
        shared = parent.st_mode & stat.S_ISVTX and parent.st_mode & stat.S_IWOTH
        if shared and info.st_uid != os.geteuid():
            raise RecordError(
                f"cannot write {path}: it is owned by uid {info.st_uid} in the shared directory "
                f"{path.parent}; choose another name"
            )
        if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
            # Another name for the same file, which anyone could have made where hard links to
            # others' files are allowed (fs.protected_hardlinks=0): /tmp/x.csv as /etc/shadow.
            raise RecordError(
                f"cannot write {path}: the file has {info.st_nlink} hard links (another name may be "
                f"another file's); remove it or choose another name"
            )
        if stat.S_ISREG(info.st_mode):
            os.ftruncate(fd, 0)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _fix(err: OSError) -> str:
    return {
        errno.ENOSPC: "free some space or write elsewhere",
        errno.EDQUOT: "free some space or write elsewhere",
        errno.EACCES: "choose a path you can write",
        errno.EPERM: "choose a path you can write",
        errno.EROFS: "the file system is read-only; choose another path",
        errno.ENOENT: "create the directory first",
        errno.EISDIR: "give a file name, not a directory",
        errno.ENXIO: "a FIFO with no reader; choose a regular file",
    }.get(err.errno or 0, "check the path")
