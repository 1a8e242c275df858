"""Shared pieces for the dashboard tests: fixed samples, a fake switcher, a helper to wait."""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from scxtop.sched_ext.types import DEFAULT_SCHEDULER, SchedulerEntry, SwitchResult


@pytest.fixture
def utc():
    """The sched_ext timeline prints local clock times; snapshots need one zone everywhere."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


class FakeSwitcher:
    """A Switcher test double: the kernel side is tested by the sched_ext suite, this one checks
    that the dashboard asks for the right switch and shows what comes back."""

    backend = "direct"

    def __init__(self, fail: bool = False) -> None:
        self.running = DEFAULT_SCHEDULER
        self.calls: list[str] = []
        self.fail = fail

    def schedulers(self) -> list[SchedulerEntry]:
        names = [DEFAULT_SCHEDULER, "scx_alpha", "scx_beta"]
        return [SchedulerEntry(name=n, program=None, origin="path", running=n == self.running)
                for n in names]

    def switch(self, name, mode=None, timeout=10.0, progress=None) -> SwitchResult:
        self.calls.append(name)
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


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run `async def` tests in a fresh event loop (no asyncio plugin needed for Pilot tests)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True
