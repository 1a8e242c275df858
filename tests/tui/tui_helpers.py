"""Helpers for the dashboard tests: a fake switcher and a bounded wait for the app's state.

(Not in conftest.py: the core tests have a conftest module of their own, and `from conftest import`
would find whichever pytest loaded first.)
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from scxtop.sched_ext.types import DEFAULT_SCHEDULER, SchedulerEntry, SwitchResult


class FakeSwitcher:
    """A Switcher test double: the kernel side is tested by the sched_ext suite, this one checks
    that the dashboard asks for the right switch and shows what comes back."""

    backend = "direct"

    def __init__(self, fail: bool = False) -> None:
        self.running = DEFAULT_SCHEDULER
        self.calls: list[str] = []
        self.timeouts: list[float] = []
        self.fail = fail

    def schedulers(self) -> list[SchedulerEntry]:
        names = [DEFAULT_SCHEDULER, "scx_alpha", "scx_beta"]
        return [SchedulerEntry(name=n, program=None, origin="path", running=n == self.running)
                for n in names]

    def refused(self) -> list:
        return []

    def output(self, lines: int) -> tuple[str, ...]:
        return ()

    def switch(self, name, mode=None, timeout=10.0, progress=None) -> SwitchResult:
        self.calls.append(name)
        self.timeouts.append(timeout)
        if progress:
            progress(f"stopping {self.running}")
        if self.fail:
            return SwitchResult(ok=False, target=name, previous=self.running, seconds=0.5,
                                message=f"{name} exited during attach; {self.running} restored",
                                restored=self.running)
        previous, self.running = self.running, name
        return SwitchResult(ok=True, target=name, previous=previous, seconds=0.25, message="ok")


async def wait_for(pilot, condition: Callable[[], bool], limit_s: float = 20.0) -> None:
    """Let the app run until `condition()` holds; fail (not hang) if it never does."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the dashboard never reached the expected state")
        await pilot.pause(0.05)
    await pilot.pause(0.1)  # let the screen draw what the state says
