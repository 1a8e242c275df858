"""The switch transaction, and `make_switcher()` choosing the backend.

stop the current scheduler -> wait for `state == disabled` (attaching before that fails with
EBUSY) -> start the new one -> wait for `state == enabled`, `root/ops` naming it and enable_seq
moving -> keep watching for a moment (a scheduler that dies right after attaching is a failure).
When any step fails, the new one is stopped and the previous one put back; the result says why,
with the tail of the failed scheduler's output. sysfs is the only judge: a backend saying
"started" proves nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scxtop.kernel.scx_state import read_state
from scxtop.kernel.scx_tracker import KernelLog, parse_disable
from scxtop.model import SchedExtEnableState, SchedExtState
from scxtop.sched_ext import journal
from scxtop.sched_ext.backend import Backend, Launch, Running, Started
from scxtop.sched_ext.config import Config
from scxtop.sched_ext.config import load as load_config
from scxtop.sched_ext.discovery import find_entry, mark, ops_matches
from scxtop.sched_ext.errors import SwitchError
from scxtop.sched_ext.safety import require_root
from scxtop.sched_ext.types import DEFAULT_SCHEDULER, Mode, ProgressCallback, SchedulerEntry, SwitchResult

SYSTEM_BUS_SOCKET = Path("/run/dbus/system_bus_socket")
POLL_S = 0.02
RESTORE_MIN_TIMEOUT_S = 30.0
"""Putting the previous scheduler back matters more than failing fast: wait at least this long."""
SETTLE_S = 1.0
"""How long a newly enabled scheduler must stay up to count as switched."""
GRACE_S = 0.5
"""How long to wait for a process exit or a kernel log line that trails a state change."""
SETTLED = (SchedExtEnableState.ENABLED, SchedExtEnableState.DISABLED)
"""States that are not half-way through a change."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    error: str | None
    state: SchedExtState
    enabled_at: float = 0.0
    """time.monotonic() when the kernel first showed the scheduler enabled (before settling)."""


class TransactionSwitcher:
    """A `Switcher` (types.py) running the transaction over one backend."""

    def __init__(
        self,
        backend: Backend,
        read: Callable[[], SchedExtState] = read_state,
        settle_s: float = SETTLE_S,
        run_dir: Path = journal.RUN_DIR,
        kernel_log: Callable[[], KernelLog] = KernelLog,
        need_root: bool = True,
    ) -> None:
        self._backend = backend
        self._read = read
        self._settle_s = settle_s
        self._run_dir = run_dir
        self._kernel_log = kernel_log
        self._need_root = need_root
        self.backend = backend.name

    def schedulers(self) -> list[SchedulerEntry]:
        """What can be switched to, marked with what runs and when scxtop last switched to each."""
        return mark(self._backend.entries(), self._read(), journal.last_switch_times(self._run_dir))

    # --- waiting on sysfs ---------------------------------------------------------------------
    def _wait(self, done: Callable[[SchedExtState], bool], timeout: float) -> SchedExtState | None:
        deadline = time.monotonic() + timeout
        while True:
            state = self._read()
            if done(state):
                return state
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_S)

    def _confirm(self, name: str, started: Started, seq: int, timeout: float) -> _Outcome:
        """Wait for the kernel to run `name`, then watch it for settle_s."""
        deadline = time.monotonic() + timeout
        while True:
            state = self._read()
            status = started.exit_status()
            if state.state == SchedExtEnableState.ENABLED and (state.enable_seq or 0) > seq and state.ops:
                if not ops_matches(name, state.ops):
                    return _Outcome(f"another scheduler ({state.ops}) was enabled instead", state)
                break
            if status is not None:
                return _Outcome(f"{name} exited with status {status} before the kernel enabled it", state)
            if time.monotonic() >= deadline:
                return _Outcome(
                    f"the kernel did not enable {name} within {timeout:g}s (state {state.state})", state
                )
            time.sleep(POLL_S)
        enabled, enabled_at = state, time.monotonic()
        settle_end = enabled_at + self._settle_s
        while time.monotonic() < settle_end:
            time.sleep(POLL_S)
            state = self._read()
            status = started.exit_status()
            if status is not None:
                return _Outcome(f"{name} exited with status {status} right after attaching", enabled)
            if state.state != SchedExtEnableState.ENABLED or state.enable_seq != enabled.enable_seq:
                status = _exit_status_soon(started)  # a dying scheduler is unregistered first
                if status is not None:
                    return _Outcome(f"{name} exited with status {status} right after attaching", enabled)
                return _Outcome(f"the kernel disabled {name} right after enabling it", enabled)
        return _Outcome(None, enabled, enabled_at)

    # --- the transaction ----------------------------------------------------------------------
    def switch(
        self,
        name: str,
        mode: Mode | None = None,
        timeout: float = 10.0,
        progress: ProgressCallback | None = None,
    ) -> SwitchResult:
        say = progress or (lambda _line: None)
        if self._need_root:
            require_root()
        before = self._read()
        if not before.supported:
            raise SwitchError(
                "this kernel has no sched_ext (/sys/kernel/sched_ext is missing): "
                "boot a kernel built with CONFIG_SCHED_CLASS_EXT=y"
            )
        entries = self._backend.entries()
        target = find_entry(entries, name)
        started_at = time.monotonic()
        if before.state not in SETTLED:
            say(f"waiting for sched_ext to settle (state {before.state})")
            before = self._wait(lambda s: s.state in SETTLED, timeout) or self._read()
        running = self._backend.current(before, entries)
        previous = running.name if running else DEFAULT_SCHEDULER
        if target.name == DEFAULT_SCHEDULER and running is None:
            note = "no sched_ext scheduler runs: already default"
            return self._finish(SwitchResult(True, target.name, previous, 0.0, note), before)
        if running and ops_matches(target.name, running.ops) and mode is None:
            note = f"{target.name} already runs ({running.ops})"
            return self._finish(SwitchResult(True, target.name, previous, 0.0, note), before)
        launch = None if target.name == DEFAULT_SCHEDULER else self._backend.prepare(target, mode)
        restore = self._restore_plan(running, entries)
        log = self._kernel_log()
        try:
            if running:
                say(f"stopping {running.name}")
                self._backend.stop(running, timeout, say)
                say("waiting for sched_ext to read disabled")
                if self._wait(lambda s: s.state == SchedExtEnableState.DISABLED, timeout) is None:
                    return self._finish(SwitchResult(
                        False, target.name, previous, time.monotonic() - started_at,
                        f"{running.name} did not stop within {timeout:g}s: sched_ext still reads "
                        f"{self._read().state}; nothing was started",
                    ))  # fmt: skip
            if launch is None:
                state = self._read()
                return self._finish(SwitchResult(
                    True, target.name, previous, time.monotonic() - started_at,
                    f"switched to default (no sched_ext scheduler) in {time.monotonic() - started_at:.2f}s",
                ), state)  # fmt: skip
            return self._start_new(
                target.name, launch, previous, running, restore, timeout, started_at, say, log
            )
        finally:
            log.close()

    def _start_new(
        self, name: str, launch: Launch, previous: str, running: Running | None,
        restore: Launch | None, timeout: float, started_at: float, say: ProgressCallback, log: KernelLog,
    ) -> SwitchResult:  # fmt: skip
        seq = self._read().enable_seq or 0
        say(f"starting {name}")
        try:
            started = launch.start()
        except (OSError, SwitchError) as err:  # not even started: put the previous one back
            seconds = time.monotonic() - started_at
            return self._rollback(name, f"could not start {name}: {err}", None, previous, running, restore,
                                  timeout, seconds, say)  # fmt: skip
        say(f"waiting for the kernel to enable {name}")
        outcome = self._confirm(name, started, seq, timeout)
        seconds = (outcome.enabled_at or time.monotonic()) - started_at
        if outcome.error is None:
            message = f"switched to {name} ({outcome.state.ops}) in {seconds:.2f}s"
            return self._finish(SwitchResult(True, name, previous, seconds, message), outcome.state)
        reason = outcome.error + _kernel_reason(log, name)
        return self._rollback(name, reason, started, previous, running, restore, timeout, seconds, say)

    def _rollback(
        self, name: str, reason: str, started: Started | None, previous: str, running: Running | None,
        restore: Launch | None, timeout: float, seconds: float, say: ProgressCallback,
    ) -> SwitchResult:  # fmt: skip
        """Stop what failed to come up and start what ran before."""
        tail = ""
        if started is not None:
            say(f"{reason}; stopping {name}")
            tail = started.output_tail()
            started.abort(timeout)
        self._wait(lambda s: s.state == SchedExtEnableState.DISABLED, timeout)
        restored = self._restore(running, restore, timeout, say)
        if restored:
            fix = f"{restored} runs again"
        else:
            fix = f"could not restore {previous} (sched_ext reads {self._read().state}): start it yourself"
        message = f"switch to {name} failed: {reason}; {fix}"
        return self._finish(SwitchResult(False, name, previous, seconds, message, restored, tail))

    def _restore_plan(self, running: Running | None, entries: list[SchedulerEntry]) -> Launch | None:
        """How to put back what runs now; a previous one that cannot be restored does not block."""
        if running is None:
            return None
        try:
            return self._backend.prepare_restore(running, entries)
        except SwitchError:
            return None

    def _restore(
        self, running: Running | None, restore: Launch | None, timeout: float, say: ProgressCallback
    ) -> str | None:
        if running is None:
            return DEFAULT_SCHEDULER if self._read().state == SchedExtEnableState.DISABLED else None
        if restore is None:
            return None
        say(f"restoring {running.name}")
        seq = self._read().enable_seq or 0
        try:
            started = restore.start()
        except (OSError, SwitchError):
            return None
        outcome = self._confirm(running.name, started, seq, max(timeout, RESTORE_MIN_TIMEOUT_S))
        return running.name if outcome.error is None else None

    def _finish(self, result: SwitchResult, state: SchedExtState | None = None) -> SwitchResult:
        seq = (state or self._read()).enable_seq
        journal.append(
            journal.SwitchRecord(
                time.time(), result.target, result.previous, result.ok, round(result.seconds, 4),
                self.backend, seq, result.message,
            ),
            self._run_dir,
        )  # fmt: skip
        return result



def _exit_status_soon(started: Started, wait_s: float = GRACE_S) -> int | None:
    deadline = time.monotonic() + wait_s
    while (status := started.exit_status()) is None and time.monotonic() < deadline:
        time.sleep(POLL_S)
    return status


def _kernel_reason(log: KernelLog, name: str, wait_s: float = GRACE_S) -> str:
    """' (kernel: <reason>)' from the kernel log's disable line for `name`, if there is one
    (it can trail the state change by a moment)."""
    deadline = time.monotonic() + wait_s
    while True:
        for line in reversed(log.new_lines()):
            disable = parse_disable(line)
            if disable and ops_matches(name, disable.ops):
                return f" (kernel: {disable.reason})"
        if not log.available or time.monotonic() >= deadline:
            return ""
        time.sleep(POLL_S)


def make_switcher(config: Config | None = None, bus_address: str | None = None) -> TransactionSwitcher:
    """scx_loader's backend when org.scx.Loader is on the system bus, else the direct one."""
    from scxtop.sched_ext.direct import DirectBackend

    config = config if config is not None else load_config()
    if _system_bus_present(bus_address):
        from scxtop.sched_ext.loader import LoaderBackend, loader_available  # loads dbus-fast

        if loader_available(bus_address):
            return TransactionSwitcher(LoaderBackend(config, bus_address))
    return TransactionSwitcher(DirectBackend(config))


def _system_bus_present(bus_address: str | None) -> bool:
    """Cheap test before loading the D-Bus library: is there a system bus to ask at all?"""
    return bool(bus_address or os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")) or SYSTEM_BUS_SOCKET.exists()
