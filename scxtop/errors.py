"""The one error type users see: every failure a user can act on subclasses `ScxtopError`.

The CLI prints `scxtop: <message>` on one line and exits with `status`; the message names the fix.
`say` and `print_line` write such lines where a closed terminal must not stop what scxtop is doing.
"""

from __future__ import annotations

import sys
from contextlib import suppress
from typing import TextIO


def print_line(line: str, out: TextIO) -> None:
    """One line, flushed; a terminal closed under us (SIGHUP, then EIO) is not an error: the switch
    or restore in progress must go on."""
    with suppress(OSError):
        print(line, file=out, flush=True)


def say(message: str) -> None:
    """Progress or a notice as `scxtop: <message>` on stderr, as `print_line` writes it."""
    print_line(f"scxtop: {message}", sys.stderr)


class ScxtopError(Exception):
    status: int = 2

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class ConfigError(ScxtopError):
    """scxtop's config file is unreadable, malformed or unsafe (scxtop.configfile, scxtop.settings)."""
