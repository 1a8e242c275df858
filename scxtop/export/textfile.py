"""node_exporter's textfile collector: the same metrics, written to a `.prom` file each interval.

node_exporter may read the file at any moment, so it must never see half of one: each interval
goes to a new temporary file in the same directory (its name does not end in `.prom`, so the
collector ignores it), and a rename puts it in place in one step. Nothing follows a symbolic
link: the directory is opened with O_NOFOLLOW and kept open (and the directories above it are
walked and checked on the way, scxtop.output_dir), the temporary file is created with
O_EXCL|O_NOFOLLOW relative to it, and the rename replaces whatever name was there (a link is
replaced, never written through). A temporary file never outlives a failed write or the process.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path

from scxtop.errors import ScxtopError
from scxtop.export.exporter import Exporter
from scxtop.model import Sample
from scxtop.output_dir import UnsafeOutput, open_dir


class TextfileError(ScxtopError):
    """The textfile cannot be written: the message names the path and what to do."""


def _fix(err: OSError) -> str:
    return {
        errno.ENOENT: "create the directory first (node_exporter's --collector.textfile.directory)",
        errno.ENOTDIR: "give a path inside a directory",
        errno.ELOOP: "give the real path: symbolic links are not followed",
        errno.EACCES: "choose a directory you can write",
        errno.EPERM: "choose a directory you can write",
        errno.EROFS: "the file system is read-only; choose another directory",
        errno.ENOSPC: "free some space",
        errno.EDQUOT: "free some space",
    }.get(err.errno or 0, "check the path")


class TextfileWriter:
    """`write(sample)` after each interval; `close()` at the end. Same interface as the CSV writer."""

    def __init__(self, path: str | Path, exporter: Exporter | None = None) -> None:
        self.path = Path(path)
        self.exporter = exporter or Exporter()
        name = self.path.name
        if not name or name in (".", ".."):
            raise TextfileError(f"--textfile {path}: give a file name, e.g. {Path(path) / 'scxtop.prom'}")
        if not name.endswith(".prom"):
            raise TextfileError(f"--textfile {path}: node_exporter reads only files ending in .prom; "
                                f"use e.g. {self.path.with_name(name + '.prom')}")
        directory = str(self.path.parent)
        try:
            self._dir = open_dir(directory, follow_last=False)
        except UnsafeOutput as err:
            raise TextfileError(f"cannot write the textfile in {directory}: {err}") from None
        except OSError as err:
            raise TextfileError(f"cannot write the textfile in {directory}: {err.strerror} "
                                f"({_fix(err)})") from None
        self._name = name
        self._temp: str | None = None
        try:
            self._refuse_odd_target()
            self._publish(b"", probe=True)  # fail now, not at the first interval
        except TextfileError:
            self.close()
            raise

    def _refuse_odd_target(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            st = os.stat(self._name, dir_fd=self._dir, follow_symlinks=False)
            if not (st.st_mode & 0o170000 == 0o100000):  # not a regular file
                raise TextfileError(f"--textfile {self.path}: it exists and is not a regular file "
                                    "(a symbolic link or directory); remove it or choose another name")

    def write(self, sample: Sample) -> None:
        self.exporter.update(sample)
        self._publish(self.exporter.render_text())

    def _publish(self, data: bytes, probe: bool = False) -> None:
        """Write `data` to a fresh temporary file beside the target, then rename it over the target
        (or, for the probe at start, remove it again)."""
        temp = f".{self._name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(temp, flags, 0o644, dir_fd=self._dir)
            self._temp = temp
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fchmod(fd, 0o644)  # readable by node_exporter whatever our umask
            finally:
                os.close(fd)
            if probe:
                os.unlink(temp, dir_fd=self._dir)
            else:
                os.rename(temp, self._name, src_dir_fd=self._dir, dst_dir_fd=self._dir)
            self._temp = None
        except OSError as err:
            self._remove_temp()
            raise TextfileError(f"cannot write {self.path}: {err.strerror} ({_fix(err)})") from None

    def _remove_temp(self) -> None:
        if self._temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._temp, dir_fd=self._dir)
            self._temp = None

    def close(self) -> None:
        """Remove a temporary file a failed write may have left, and release the directory.
        The last complete .prom file stays: node_exporter reports its age (node_textfile_mtime_seconds)."""
        self._remove_temp()
        if self._dir >= 0:
            with contextlib.suppress(OSError):
                os.close(self._dir)
            self._dir = -1
