"""A SIGTERM or SIGHUP stops the test run the way Ctrl-C does.

Python's default for SIGTERM ends the process on the spot: no `finally`, no fixture teardown. A CI
timeout or a `pkill` then left the chroot suites' workloads spinning for half an hour, and guests
or bpftrace could outlive the run the same way. As a KeyboardInterrupt, pytest unwinds the running
test, tears the fixtures down and prints its summary, as it does for SIGINT."""

from __future__ import annotations

import signal
from types import FrameType

import pytest


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


def pytest_configure(config: pytest.Config) -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
