"""Turn consecutive sched_ext state reads into timeline events: loaded, unloaded, switched, ejected.

The kernel's `enable_seq` moves each time a BPF scheduler is enabled, so two reads a second apart
still show a switch that happened in between. When the state drops to disabled and scxtop did not
ask for it, the kernel log says why: `sched_ext: BPF scheduler "x" disabled (reason)`. A reason
other than a normal unregistration (a runtime error, the watchdog, sysrq-S) is an ejection.

This is the one place that decides sched_ext events, live (the sources run a tracker) and in a
replay (the timeline runs one over the recorded states). A change is scxtop's own (`by_us`) when
a switch transaction ran while it happened: in this process (`expect_change`) or in any other
scxtop process (the switch journal); an ejection never is. A failed switch in the journal is an
event of its own, since it may change nothing the kernel shows.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from scxtop.kernel.scx_journal import Phase, SwitchJournal
from scxtop.kernel.scx_state import SYSFS, read_state
from scxtop.model import SchedExtEnableState, SchedExtEvent, SchedExtEventKind, SchedExtState

KMSG = Path("/dev/kmsg")
DISABLED_RE = re.compile(r'sched_ext: BPF scheduler "(?P<ops>[^"]*)" disabled \((?P<reason>.*)\)\s*$')
NORMAL_REASONS = ("unregistered from user space", "unregistered from BPF")


class _InFlight:
    """Switch transactions of this process: how many run now, and when the last one ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0
        self.last_end = 0.0

    def active_between(self, since: float, until: float) -> bool:
        with self._lock:
            return self.running > 0 or self.last_end >= since


_IN_FLIGHT = _InFlight()


@contextlib.contextmanager
def expect_change() -> Iterator[None]:
    """The switch transaction runs inside this (from any thread): every tracker in the process
    marks changes seen while it runs, or that landed between the reads around its end, as ours.
    Other processes learn the same from the switch journal."""
    with _IN_FLIGHT._lock:
        _IN_FLIGHT.running += 1
    try:
        yield
    finally:
        with _IN_FLIGHT._lock:
            _IN_FLIGHT.running -= 1
            _IN_FLIGHT.last_end = time.time()


@dataclass(frozen=True, slots=True)
class Disable:
    """One 'BPF scheduler disabled' line of the kernel log."""

    ops: str
    reason: str

    @property
    def ejected(self) -> bool:
        return not self.reason.startswith(NORMAL_REASONS)


def parse_disable(line: str) -> Disable | None:
    match = DISABLED_RE.search(line)
    return Disable(match["ops"], match["reason"]) if match else None


class KernelLog:
    """New lines of the kernel log since we opened it (`/dev/kmsg`, or any appendable file in tests).

    Unreadable (no root, dmesg_restrict) means `available` is False and we never guess a reason.
    """

    def __init__(self, path: Path = KMSG) -> None:
        self._fd: int | None = None
        self._rest = b""
        try:
            self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            os.lseek(self._fd, 0, os.SEEK_END)
        except OSError:
            self.close()

    @property
    def available(self) -> bool:
        return self._fd is not None

    def new_lines(self) -> list[str]:
        if self._fd is None:
            return []
        chunks = []
        while True:
            try:
                chunk = os.read(self._fd, 8192)
            except BlockingIOError:
                break
            except BrokenPipeError:  # /dev/kmsg: records we had not read yet were overwritten
                continue
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        data = self._rest + b"".join(chunks)
        *lines, self._rest = data.split(b"\n")
        # /dev/kmsg records are "prio,seq,ts,flags;message"; continuation lines start with a space.
        return [line.decode(errors="replace").partition(";")[2] or line.decode(errors="replace")
                for line in lines if line and not line.startswith(b" ")]

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = None


class SchedExtTracker:
    """Feed it every state read (`update`); it returns what changed since the previous one.

    `log` is the kernel log (None: a recording, where no reason can be read); `journal` is
    scxtop's switch journal (None: only this process's switches count as ours).
    """

    def __init__(self, log: KernelLog | None = None, clock: Callable[[], float] = time.time,
                 journal: SwitchJournal | None = None) -> None:
        self._log = log
        self._clock = clock
        self._journal = journal
        self._previous: SchedExtState | None = None
        self._previous_wall = time.time()
        self._disables: list[Disable] = []
        if journal is not None:
            journal.poll()  # what happened before we started is not news

    def _ours(self, since: float, until: float) -> bool:
        if _IN_FLIGHT.active_between(since, until):
            return True
        return self._journal is not None and self._journal.active_between(since, until)

    def update(self, state: SchedExtState) -> tuple[SchedExtEvent, ...]:
        now = self._clock()
        self._disables += [d for d in map(parse_disable, self._log.new_lines() if self._log else []) if d]
        records = self._journal.poll() if self._journal is not None else []
        failed = [SchedExtEvent(r.time, SchedExtEventKind.SWITCH_FAILED, r.target, r.previous,
                                by_us=True, detail=r.message)
                  for r in records if r.phase is Phase.END and not r.ok]
        if state.state is SchedExtEnableState.DISABLING and self._previous is not None:
            # Not decided yet: the kernel logs why a scheduler goes before the state says
            # disabled, so the reason (and whether it was an ejection) waits for that read.
            return tuple(failed)
        since, until = self._previous_wall, time.time()
        previous, self._previous, self._previous_wall = self._previous, state, until
        disables, self._disables = self._disables, []
        if previous is None or not state.supported:
            return ()
        ours = self._ours(since, until)
        events = self._events(previous, state, disables, now, ours)
        if ours:
            events = [_mark_ours(e) for e in events]
        return tuple(events + failed)

    def _events(self, old: SchedExtState, new: SchedExtState, disables: list[Disable],
                now: float, ours: bool) -> list[SchedExtEvent]:
        was_on = old.state == SchedExtEnableState.ENABLED and old.ops is not None
        is_on = new.state == SchedExtEnableState.ENABLED and new.ops is not None
        seq_moved = (new.enable_seq or 0) > (old.enable_seq or 0)
        events: list[SchedExtEvent] = []
        ejections = [d for d in disables if d.ejected]
        if was_on and (not is_on or seq_moved):
            assert old.ops is not None  # was_on
            # The first line naming what ran is how that instance ended (a switch may start the
            # same scheduler again, and that one may fail too). scxtop ends schedulers only by
            # unregistering them, so an abnormal end of what ran is an ejection even while a
            # switch was in flight; a line that names something else may be the switch's own
            # target failing, which the switch journal reports.
            named = [d for d in disables if d.ops and old.ops.startswith(d.ops)]
            gone = named[0] if named else (disables[-1] if disables else None)
            if gone is not None and gone.ejected and (named or not ours):
                events.append(_ejected(now, Disable(old.ops, gone.reason)))
            elif not is_on:
                unreadable = self._log is not None and not self._log.available
                detail = gone.reason if gone else ("reason unknown: kernel log unreadable" if unreadable
                                                   else "")
                events.append(SchedExtEvent(now, SchedExtEventKind.UNLOADED, old.ops, detail=detail))
            if is_on:
                kind = SchedExtEventKind.LOADED if events else SchedExtEventKind.SWITCHED
                events.append(SchedExtEvent(now, kind, new.ops, previous=old.ops,
                                            detail="" if new.ops != old.ops else "restarted"))
        elif is_on and (not was_on or seq_moved):
            events.extend(_ejected(now, d) for d in ejections)
            events.append(SchedExtEvent(now, SchedExtEventKind.LOADED, new.ops, previous=None))
        elif not is_on and not ours:
            # A scheduler came and went between two reads: only the kernel log saw it.
            events.extend(_ejected(now, d) for d in ejections)
        return events


def _ejected(now: float, disable: Disable) -> SchedExtEvent:
    return SchedExtEvent(now, SchedExtEventKind.EJECTED, disable.ops, detail=disable.reason)


def _mark_ours(event: SchedExtEvent) -> SchedExtEvent:
    if event.kind is SchedExtEventKind.EJECTED:
        return event
    return SchedExtEvent(event.time, event.kind, event.ops, event.previous, by_us=True, detail=event.detail)


class SchedExtWatch:
    """What a source calls once per interval: the state now, and the events since the last call.

    The kernel log is opened only where the kernel has sched_ext.
    """

    def __init__(self, root: Path = SYSFS, kmsg: Path = KMSG, journal: SwitchJournal | None = None) -> None:
        self._root = root
        self._log = KernelLog(kmsg) if root.is_dir() else None
        if journal is None and root.is_dir():
            journal = SwitchJournal()
        self.tracker = SchedExtTracker(self._log, journal=journal)

    def poll(self) -> tuple[SchedExtState, tuple[SchedExtEvent, ...]]:
        state = read_state(self._root)
        return state, self.tracker.update(state)

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
