"""One switch at a time on the machine: an flock on /run/scxtop/switch.lock.

Every transaction (the CLI's `scxtop switch`, a dashboard's `s`/`n`, in any process) holds it
from the first step to the last; a second one is refused at once with the holder's name, never
queued behind a switch the user may no longer want. The kernel drops the lock when its holder
dies, so a crashed scxtop never blocks the next switch.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from scxtop.kernel.scx_journal import RUN_DIR
from scxtop.sched_ext.errors import SwitchError
from scxtop.sched_ext.rundir import ensure_run_dir

LOCK_NAME = "switch.lock"
HOLDER_MAX = 200
"""Bytes of the lock file read for the error message."""


class SwitchBusy(SwitchError):
    """Another switch transaction holds the lock."""

    status = 1


@contextlib.contextmanager
def switch_lock(target: str, run_dir: Path = RUN_DIR) -> Iterator[None]:
    """Hold the machine's switch lock while switching to `target`; SwitchBusy if it is taken."""
    path = run_dir / LOCK_NAME
    try:
        ensure_run_dir(run_dir)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except OSError as err:
        raise SwitchError(f"cannot open the switch lock {path}: {err.strerror} (scxtop switches as root)",
                          status=1) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, HOLDER_MAX, 0).decode(errors="replace").strip() or "unknown"
            raise SwitchBusy(
                f"another switch is in flight ({_printable(holder)}): wait for it to finish, "
                "then switch again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} switching to {target}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text.splitlines()[0])
