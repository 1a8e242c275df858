"""What a user can switch to: `default`, entries from the config file, and `scx_*` on PATH.

A scheduler's name is what the user types (`scx_bpfland`); the kernel's `root/ops` names the
BPF side (`bpfland`, or `bpfland_1.0.8_...`), so `ops_matches` drops the `scx_` prefix and
accepts a version suffix.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from scxtop.model import SchedExtState
from scxtop.sched_ext.config import Config
from scxtop.sched_ext.errors import SwitchError
from scxtop.sched_ext.safety import unsafe_reason
from scxtop.sched_ext.types import DEFAULT_SCHEDULER, Refusal, SchedulerEntry

PREFIX = "scx_"
NOT_SCHEDULERS = frozenset({"scx_loader", "scx_loadctl"})
"""scx_* programs that manage schedulers instead of being one."""


def ops_stem(name: str) -> str:
    return name[len(PREFIX):] if name.startswith(PREFIX) else name


def ops_matches(name: str, ops: str | None) -> bool:
    """Does the kernel's `root/ops` name the scheduler called `name`?"""
    if not ops:
        return False
    return any(ops == stem or ops.startswith(stem + "_") for stem in {name, ops_stem(name)})


def scan_path(path_env: str | None = None) -> tuple[list[SchedulerEntry], list[Refusal]]:
    """`scx_*` executables on PATH: those safe to run, and those refused with the reason.
    The first directory wins (like a shell), whether its program is safe or not."""
    seen: dict[str, SchedulerEntry] = {}
    refused: dict[str, Refusal] = {}
    for directory in (path_env if path_env is not None else os.environ.get("PATH", "")).split(":"):
        if not directory or not os.path.isabs(directory):
            continue
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            if not name.startswith(PREFIX) or name in NOT_SCHEDULERS or name in seen or name in refused:
                continue
            program = Path(directory) / name
            if not (os.path.isfile(program) and os.access(program, os.X_OK)):
                continue
            reason = unsafe_reason(program)
            if reason:
                refused[name] = Refusal(name, program, reason)
            else:
                seen[name] = SchedulerEntry(name, program, origin="path")
    return list(seen.values()), list(refused.values())


def path_schedulers(path_env: str | None = None) -> list[SchedulerEntry]:
    """`scx_*` executables on PATH that are safe to run."""
    return scan_path(path_env)[0]


def config_schedulers(config: Config) -> list[SchedulerEntry]:
    return [
        SchedulerEntry(
            s.name, s.program, s.args, tuple(mode for mode, _ in s.mode_args), origin="config"
        )
        for s in config.schedulers
    ]


def merge(*groups: list[SchedulerEntry]) -> list[SchedulerEntry]:
    """`default` first, then each group in order; a name seen earlier wins."""
    default = SchedulerEntry(DEFAULT_SCHEDULER, None, origin="default")
    entries: dict[str, SchedulerEntry] = {DEFAULT_SCHEDULER: default}
    for group in groups:
        for entry in group:
            entries.setdefault(entry.name, entry)
    return list(entries.values())


def mark(
    entries: list[SchedulerEntry], state: SchedExtState, last_switch: dict[str, float]
) -> list[SchedulerEntry]:
    """Which entry runs now (none on a kernel without sched_ext) and when each was switched to."""
    def running(entry: SchedulerEntry) -> bool:
        if not state.supported:
            return False
        return not state.ops if entry.name == DEFAULT_SCHEDULER else ops_matches(entry.name, state.ops)

    return [replace(e, running=running(e), last_switch=last_switch.get(e.name)) for e in entries]


def find_entry(entries: list[SchedulerEntry], name: str, refused: Sequence[Refusal] = ()) -> SchedulerEntry:
    """The entry called `name` (or `scx_<name>`); a refused program is named with its reason."""
    for entry in entries:
        if entry.name == name:
            return entry
    for entry in entries:  # 'bpfland' for 'scx_bpfland'
        if entry.name == PREFIX + name:
            return entry
    for refusal in refused:
        if name in (refusal.name, ops_stem(refusal.name)):
            raise SwitchError(f"refusing to run {refusal.name}: {refusal.reason}")
    known = ", ".join(e.name for e in entries)
    raise SwitchError(f"unknown scheduler {name!r}: choose one of {known} (see `scxtop schedulers`)")


def entry_for_ops(entries: list[SchedulerEntry], ops: str | None) -> SchedulerEntry | None:
    """The entry whose program is running, judged by the kernel's `root/ops`."""
    if not ops:
        return None
    matches = [e for e in entries if e.name != DEFAULT_SCHEDULER and ops_matches(e.name, ops)]
    return max(matches, key=lambda e: len(ops_stem(e.name)), default=None)
