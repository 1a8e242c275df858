"""Direct backend: scxtop starts scheduler programs itself and stops the one holding sched_ext.

A started scheduler runs from an argument list (never a shell) in its own session, so it
outlives scxtop and a Ctrl-C in scxtop's terminal does not reach it; its output goes to
`<run dir>/logs/<name>.log`, whose tail explains a failure.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scxtop.model import SchedExtEnableState, SchedExtState
from scxtop.sched_ext import journal, procs
from scxtop.sched_ext.backend import Running
from scxtop.sched_ext.config import Config
from scxtop.sched_ext.discovery import config_schedulers, entry_for_ops, merge, path_schedulers, scan_path
from scxtop.sched_ext.errors import SwitchError
from scxtop.sched_ext.rundir import private_dir
from scxtop.sched_ext.safety import check_program, recheck_program
from scxtop.sched_ext.types import Mode, Refusal, SchedulerEntry
from scxtop.trusted_path import TrustedFile

LINE_CHARS = 500
"""A failing scheduler's output lines are cut at LINE_CHARS."""
ERROR_LINE = re.compile(r"\berror\b|invalid|failed|panicked", re.IGNORECASE)
TAIL_BYTES = 256 * 1024
"""At most this much of a scheduler's log is read (a verifier log is long; statistics grow forever)."""
OUTPUT_BYTES = 8 * 1024
"""What the dashboard reads, every second, for the running scheduler's last lines."""


def read_tail(path: Path, max_bytes: int = TAIL_BYTES) -> list[str]:
    """The lines in the last `max_bytes` of `path` (a cut first line dropped); [] if unreadable."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - max_bytes))
            data = f.read(max_bytes)
    except OSError:
        return []
    lines = data.decode(errors="replace").rstrip("\n").splitlines()
    return lines[1:] if size > max_bytes and lines else lines


def tail(path: Path, lines: int) -> str:
    """The last `lines` lines, led by the last two error lines above them (a verifier log puts
    the actual rejection, e.g. `R4 invalid mem access 'scalar'`, far above its end)."""
    all_lines = [line if len(line) <= LINE_CHARS else line[:LINE_CHARS] + "…" for line in read_tail(path)]
    if not all_lines:
        return ""
    head, last = all_lines[:-lines], all_lines[-lines:]
    errors = [line for line in head if ERROR_LINE.search(line)][-2:]
    return "\n".join([*errors, "[...]", *last] if errors else last)


@dataclass
class DirectStarted:
    popen: subprocess.Popen[bytes]
    log: Path

    def exit_status(self) -> int | None:
        return self.popen.poll()

    def output_tail(self, lines: int = 25) -> str:
        return tail(self.log, lines)

    def abort(self, timeout: float) -> None:
        process = procs.describe(self.popen.pid)
        if process is not None:
            procs.stop_process(process, timeout)
        self.popen.poll()


@dataclass(frozen=True)
class DirectLaunch:
    name: str
    argv: tuple[str, ...]
    log_dir: Path
    checked: TrustedFile | None = None
    """What safety checked: the file that runs (argv[0] is only its name as given)."""

    def start(self) -> DirectStarted:
        executable = recheck_program(self.checked) if self.checked is not None else None
        log = private_dir(self.log_dir) / f"{self.name}.log"
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        with open(os.open(log, flags, 0o600), "wb") as out:
            popen = subprocess.Popen(
                self.argv,
                executable=executable,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                cwd="/",
            )
        return DirectStarted(popen, log)


def args_after_program(argv: tuple[str, ...], program: Path) -> tuple[str, ...] | None:
    """The arguments a running scheduler got (argv[0] is an interpreter for scripts)."""
    for i, arg in enumerate(argv[:3]):
        if arg == str(program) or (i == 0 and Path(arg).name == program.name):
            return argv[i + 1 :]
    return None


class DirectBackend:
    name = "direct"

    def __init__(self, config: Config, path_env: str | None = None, run_dir: Path = journal.RUN_DIR):
        self.config = config
        self.path_env = path_env
        self.log_dir = run_dir / "logs"

    def entries(self) -> list[SchedulerEntry]:
        return merge(config_schedulers(self.config), path_schedulers(self.path_env))

    def refused(self) -> list[Refusal]:
        return scan_path(self.path_env)[1]

    def output(self, state: SchedExtState, lines: int) -> tuple[str, ...]:
        """The tail of the log of the running scheduler, when an scxtop process started it."""
        enabled = state.state == SchedExtEnableState.ENABLED
        entry = entry_for_ops(self.entries(), state.ops) if enabled else None
        if entry is None:
            return ()
        return tuple(read_tail(self.log_dir / f"{entry.name}.log", OUTPUT_BYTES)[-lines:])

    def current(self, state: SchedExtState, entries: list[SchedulerEntry]) -> Running | None:
        if state.state == SchedExtEnableState.DISABLED or not state.ops:
            return None
        entry = entry_for_ops(entries, state.ops)
        holders = procs.struct_ops_holders()
        holder = None
        args: tuple[str, ...] | None = None
        for candidate in holders:
            found = args_after_program(candidate.argv, entry.program) if entry and entry.program else None
            if found is not None:
                holder, args = candidate, found
                break
        if holder is None:
            # Other struct_ops users exist (BPF TCP congestion control): only a lone `scx*` holder
            # is taken for the scheduler, never a guess among several.
            named = [h for h in holders if any(Path(a).name.startswith("scx") for a in h.argv[:2])]
            holder = named[0] if len(named) == 1 else None
        return Running(
            name=entry.name if entry else state.ops,
            ops=state.ops,
            restartable=entry is not None and entry.program is not None,
            args=args if args is not None else (entry.args if entry else ()),
            handle=holder,
        )

    def _configured_args(self, entry: SchedulerEntry, mode: Mode | None) -> tuple[str, ...]:
        configured = next((s for s in self.config.schedulers if s.name == entry.name), None)
        if mode is not None and (configured is None or mode not in dict(configured.mode_args)):
            raise SwitchError(
                f"{entry.name} has no {mode.name.lower()} mode: add [scheduler.modes] to the config "
                "file, or use scx_loader"
            )
        return configured.args_for(mode) if configured else entry.args

    def prepare(self, entry: SchedulerEntry, mode: Mode | None) -> DirectLaunch:
        if entry.program is None:
            raise SwitchError(f"{entry.name} has no program to run")
        checked = check_program(entry.program)
        argv = (str(entry.program), *self._configured_args(entry, mode))
        return DirectLaunch(entry.name, argv, self.log_dir, checked)

    def stop(self, running: Running, timeout: float, progress: Callable[[str], None]) -> None:
        process = running.handle
        if not isinstance(process, procs.SchedulerProcess):
            raise SwitchError(
                f"cannot stop {running.ops}: no process holds it (loaded by bpftool or scx_loader?); "
                "stop it yourself, then switch"
            )
        procs.stop_process(process, timeout, progress)

    def prepare_restore(self, running: Running, entries: list[SchedulerEntry]) -> DirectLaunch | None:
        entry = next((e for e in entries if e.name == running.name), None)
        if not running.restartable or entry is None or entry.program is None:
            return None
        checked = check_program(entry.program)
        return DirectLaunch(entry.name, (str(entry.program), *running.args), self.log_dir, checked)
