"""Types shared by the switching backends, the CLI and the dashboard's scheduler picker."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class Mode(enum.IntEnum):
    """scx_loader's scheduler modes (`SchedulerMode`)."""

    AUTO = 0
    GAMING = 1
    POWERSAVE = 2
    LOWLATENCY = 3
    SERVER = 4


SWITCH_TIMEOUT_S = 10.0
"""How long a switch waits for the kernel by default (`scxtop switch --timeout`, the dashboard's
`[dashboard] switch_timeout`)."""

DEFAULT_SCHEDULER = "default"
"""The pseudo-scheduler 'no sched_ext scheduler': tasks go back to the kernel's fair class."""


@dataclass(frozen=True, slots=True)
class SchedulerEntry:
    """A scheduler the user can switch to."""

    name: str
    """What the user types and what the kernel's `root/ops` is expected to start with."""
    program: Path | None
    """Executable for the direct backend; None for 'default' or loader-only entries."""
    args: tuple[str, ...] = ()
    modes: tuple[Mode, ...] = ()
    origin: str = "path"
    """'path' (an scx_* on PATH), 'config', 'loader' (org.scx.Loader), or 'default'."""
    running: bool = False
    last_switch: float | None = None
    """When scxtop last switched to it (seconds since the epoch)."""

    def last_switch_text(self, fmt: str = "%Y-%m-%d %H:%M:%S", never: str = "-") -> str:
        """`last_switch` as local time in `fmt`; `never` when scxtop has not switched to it."""
        if self.last_switch is None:
            return never
        try:
            return time.strftime(fmt, time.localtime(self.last_switch))
        except (OverflowError, ValueError, OSError):  # the journal is shared: a time may be garbage
            return "?"


@dataclass(frozen=True, slots=True)
class Refusal:
    """An `scx_*` program found on PATH that scxtop will not run, and why."""

    name: str
    program: Path
    reason: str


@dataclass(frozen=True, slots=True)
class SwitchResult:
    """The outcome of one switch transaction."""

    ok: bool
    target: str
    previous: str | None
    seconds: float
    message: str
    """One line for the user: what happened, and on failure what to do."""
    restored: str | None = None
    """On failure, the scheduler that was put back ('default' when none ran before)."""
    output_tail: str = ""
    """Last lines the failing scheduler printed."""


ProgressCallback = Callable[[str], None]
"""Called with short progress lines ('stopping scx_a', 'waiting for enabled', ...)."""


class Switcher(Protocol):
    backend: str
    """'direct' or 'scx_loader'."""

    def schedulers(self) -> list[SchedulerEntry]: ...

    def refused(self) -> list[Refusal]: ...

    def output(self, lines: int) -> tuple[str, ...]:
        """The last lines the running scheduler printed (empty where they cannot be read)."""

    def switch(
        self,
        name: str,
        mode: Mode | None = None,
        timeout: float = SWITCH_TIMEOUT_S,
        progress: ProgressCallback | None = None,
    ) -> SwitchResult: ...
