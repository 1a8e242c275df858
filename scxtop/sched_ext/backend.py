"""What the switch transaction needs from a backend (direct processes or scx_loader over D-Bus).

The transaction (switch.py) owns the order of steps and the waiting on sysfs; a backend only
knows how to find what runs, stop it, start something, and put the previous one back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from scxtop.model import SchedExtState
from scxtop.sched_ext.types import Mode, Refusal, SchedulerEntry


@dataclass(frozen=True, slots=True)
class Running:
    """The scheduler running before a switch, with what it takes to start it again."""

    name: str
    """Its entry name when known, else the kernel's ops name."""
    ops: str
    restartable: bool
    args: tuple[str, ...] = ()
    mode: Mode | None = None
    handle: object = None
    """Backend-specific (the holder process for direct)."""


class Started(Protocol):
    """A scheduler a backend has just started."""

    def exit_status(self) -> int | None:
        """Its exit status once it has exited; None while it runs (or when unknowable)."""

    def output_tail(self, lines: int = 25) -> str: ...

    def abort(self, timeout: float) -> None:
        """Stop it: it failed to come up."""


class Launch(Protocol):
    """A checked, ready-to-run start of one scheduler (checked before anything is stopped)."""

    def start(self) -> Started: ...


class Backend(Protocol):
    name: str

    def entries(self) -> list[SchedulerEntry]: ...

    def refused(self) -> list[Refusal]:
        """Programs this backend found but will not run, with the reason."""

    def output(self, state: SchedExtState, lines: int) -> tuple[str, ...]:
        """The last lines the running scheduler printed; empty when this backend cannot see them."""

    def current(self, state: SchedExtState, entries: list[SchedulerEntry]) -> Running | None: ...

    def prepare(self, entry: SchedulerEntry, mode: Mode | None) -> Launch:
        """Validate (safety, mode) and return how to start it; raises SwitchError."""

    def stop(self, running: Running, timeout: float, progress: Callable[[str], None]) -> None: ...

    def prepare_restore(self, running: Running, entries: list[SchedulerEntry]) -> Launch | None:
        """How to start `running` again; None when this backend cannot."""
