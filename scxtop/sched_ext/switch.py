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
from scxtop.kernel.scx_tracker import KernelLog, expect_change, parse_disable
from scxtop.model import SchedExtEnableState, SchedExtState
from scxtop.sched_ext import journal
from scxtop.sched_ext.backend import Backend, Launch, Running, Started
from scxtop.sched_ext.config import Config
from scxtop.sched_ext.config import load as load_config
from scxtop.sched_ext.discovery import find_entry, mark, ops_matches
from scxtop.sched_ext.errors import SwitchError
from scxtop.sched_ext.lock import switch_lock
from scxtop.sched_ext.safety import require_root
from scxtop.sched_ext.types import (
    DEFAULT_SCHEDULER,
    SWITCH_TIMEOUT_S,
    Mode,
    ProgressCallback,
    Refusal,
    SchedulerEntry,
    SwitchResult,
)

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

    def refused(self) -> list[Refusal]:
        """scx_* programs found but refused (unsafe), with the reason."""
        return self._backend.refused()

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
        timeout: float = SWITCH_TIMEOUT_S,
        progress: ProgressCallback | None = None,
    ) -> SwitchResult:
        """One transaction at a time on the machine (the switch lock), journalled from start to
        end so that every tracker, in any scxtop process, marks what it changes as ours."""
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
        target = find_entry(entries, name, self._backend.refused())
        with switch_lock(target.name, self._run_dir), expect_change():
            started_at = time.monotonic()
            begun = journal.begin(target.name, before.ops, self.backend, time.time(), self._run_dir)
            result, state = self._transaction(target, mode, timeout, say, started_at)
            seq = (state or self._read()).enable_seq
            journal.append(journal.finished(
                begun, end=time.time(), ok=result.ok, seconds=result.seconds, enable_seq_after=seq,
                message=result.message, previous=result.previous,
            ), self._run_dir)  # fmt: skip
            return result

    def _transaction(
        self, target: SchedulerEntry, mode: Mode | None, timeout: float, say: ProgressCallback,
        started_at: float,
    ) -> tuple[SwitchResult, SchedExtState | None]:  # fmt: skip
        """The steps; returns the result and, when known, the state it left."""
        entries = self._backend.entries()
        before = self._read()
        if before.state not in SETTLED:
            say(f"waiting for sched_ext to settle (state {before.state})")
            before = self._wait(lambda s: s.state in SETTLED, timeout) or self._read()
        running = self._backend.current(before, entries)
        previous = running.name if running else DEFAULT_SCHEDULER
        if target.name == DEFAULT_SCHEDULER and running is None:
            note = "no sched_ext scheduler runs: already default"
            return _unchanged(target.name, previous, note), before
        if running and ops_matches(target.name, running.ops) and mode is None:
            note = f"{target.name} already runs ({running.ops})"
            return _unchanged(target.name, previous, note), before
        launch = None if target.name == DEFAULT_SCHEDULER else self._backend.prepare(target, mode)
        log = self._kernel_log()
        attempt = _Attempt(
            name=target.name, launch=launch, previous=previous, running=running,
            restore=self._restore_plan(running, entries), timeout=timeout, started_at=started_at,
            say=say, log=log,
        )  # fmt: skip
        try:
            if running:
                say(f"stopping {running.name}")
                self._backend.stop(running, timeout, say)
                say("waiting for sched_ext to read disabled")
                if self._wait(lambda s: s.state == SchedExtEnableState.DISABLED, timeout) is None:
                    message = (f"{running.name} did not stop within {timeout:g}s: sched_ext still reads "
                               f"{self._read().state}; nothing was started")
                    return attempt.result(ok=False, message=message), None
            if launch is None:
                seconds = attempt.elapsed()
                message = f"switched to default (no sched_ext scheduler) in {seconds:.2f}s"
                return attempt.result(ok=True, message=message, seconds=seconds), self._read()
            return self._start_new(attempt, launch)
        finally:
            log.close()

    def _start_new(self, attempt: _Attempt, launch: Launch) -> tuple[SwitchResult, SchedExtState | None]:
        name = attempt.name
        seq = self._read().enable_seq or 0
        attempt.say(f"starting {name}")
        try:
            started = launch.start()
        except (OSError, SwitchError) as err:  # not even started: put the previous one back
            reason = f"could not start {name}: {err}"
            return self._rollback(attempt, reason, None, attempt.elapsed()), None
        attempt.say(f"waiting for the kernel to enable {name}")
        outcome = self._confirm(name, started, seq, attempt.timeout)
        seconds = (outcome.enabled_at or time.monotonic()) - attempt.started_at
        if outcome.error is None:
            message = f"switched to {name} ({outcome.state.ops}) in {seconds:.2f}s"
            return attempt.result(ok=True, message=message, seconds=seconds), outcome.state
        reason = outcome.error + _kernel_reason(attempt.log, name)
        return self._rollback(attempt, reason, started, seconds), None

    def _rollback(
        self, attempt: _Attempt, reason: str, started: Started | None, seconds: float
    ) -> SwitchResult:
        """Stop what failed to come up and start what ran before."""
        tail = ""
        if started is not None:
            attempt.say(f"{reason}; stopping {attempt.name}")
            tail = started.output_tail()
            started.abort(attempt.timeout)
        self._wait(lambda s: s.state == SchedExtEnableState.DISABLED, attempt.timeout)
        restored = self._restore(attempt)
        if restored:
            fix = f"{restored} runs again"
        else:
            state = self._read().state
            fix = f"could not restore {attempt.previous} (sched_ext reads {state}): start it yourself"
        return attempt.result(ok=False, message=f"switch to {attempt.name} failed: {reason}; {fix}",
                              seconds=seconds, restored=restored, output_tail=tail)

    def _restore_plan(self, running: Running | None, entries: list[SchedulerEntry]) -> Launch | None:
        """How to put back what runs now; a previous one that cannot be restored does not block."""
        if running is None:
            return None
        try:
            return self._backend.prepare_restore(running, entries)
        except SwitchError:
            return None

    def _restore(self, attempt: _Attempt) -> str | None:
        running, restore = attempt.running, attempt.restore
        if running is None:
            return DEFAULT_SCHEDULER if self._read().state == SchedExtEnableState.DISABLED else None
        if restore is None:
            return None
        attempt.say(f"restoring {running.name}")
        seq = self._read().enable_seq or 0
        try:
            started = restore.start()
        except (OSError, SwitchError):
            return None
        outcome = self._confirm(running.name, started, seq, max(attempt.timeout, RESTORE_MIN_TIMEOUT_S))
        return running.name if outcome.error is None else None

    def output(self, lines: int) -> tuple[str, ...]:
        """The last lines the running scheduler printed, where this backend keeps them."""
        return self._backend.output(self._read(), lines)


@dataclass(frozen=True, slots=True)
class _Attempt:
    """One switch in progress: what the steps after the first need to know."""

    name: str
    launch: Launch | None
    previous: str
    """The scheduler that ran before ('default' for none)."""
    running: Running | None
    restore: Launch | None
    """How to start `running` again; None when it cannot be."""
    timeout: float
    started_at: float
    """time.monotonic() when the transaction began."""
    say: ProgressCallback
    log: KernelLog

    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    def result(self, *, ok: bool, message: str, seconds: float | None = None, restored: str | None = None,
               output_tail: str = "") -> SwitchResult:
        return SwitchResult(
            ok=ok, target=self.name, previous=self.previous,
            seconds=self.elapsed() if seconds is None else seconds, message=message,
            restored=restored, output_tail=output_tail,
        )  # fmt: skip


def _unchanged(target: str, previous: str, note: str) -> SwitchResult:
    """Nothing to do: what was asked for already runs."""
    return SwitchResult(ok=True, target=target, previous=previous, seconds=0.0, message=note)


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
