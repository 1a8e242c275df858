"""scxtop's switch journal as the sched_ext tracker reads it: which changes scxtop itself made.

Every switch transaction, in any scxtop process on the machine, appends a `begin` record when it
starts and an `end` record when it is over (/run/scxtop/switches.jsonl, written by
scxtop.sched_ext.journal). A kernel change seen while a transaction ran, or that landed between
two reads around its end, is scxtop's own; an `end` that failed is a timeline event of its own.
The reader lives here, below both the tracker and the switcher, so that both use one format.
"""

from __future__ import annotations

import enum
import json
import os
import time
from dataclasses import dataclass, fields
from pathlib import Path

from scxtop.kernel.bounds import MAX_TIME, number_problem

RUN_DIR = Path(os.environ.get("SCXTOP_RUN_DIR", "/run/scxtop"))
MAX_BYTES = 256 * 1024
"""The journal is rotated past this size, and never read past it at once."""
KEEP_S = 300.0
"""How long the tracker remembers transactions (a dashboard interval is at most 10 s)."""


class Phase(enum.StrEnum):
    BEGIN = "begin"
    END = "end"


@dataclass(frozen=True, slots=True)
class SwitchRecord:
    time: float
    """When the record was written (seconds since the epoch)."""
    target: str
    previous: str | None
    ok: bool
    seconds: float
    backend: str
    enable_seq_after: int | None
    """The kernel's enable_seq right after the transaction (None in a `begin` record)."""
    message: str
    pid: int = 0
    """The scxtop process that ran the transaction."""
    started: float = 0.0
    """When the transaction began; with `pid`, pairs a `begin` with its `end`."""
    phase: Phase = Phase.END

    @property
    def key(self) -> tuple[int, float]:
        return (self.pid, self.started or self.time)


def journal_path(run_dir: Path = RUN_DIR) -> Path:
    return run_dir / "switches.jsonl"


_FIELDS = frozenset(f.name for f in fields(SwitchRecord))


def _not_finite(name: str) -> float:
    raise ValueError(f"{name} is not a time")


def parse(line: str) -> SwitchRecord | None:
    """One journal line; None for anything that is not a well-formed record (the file is shared)."""
    try:
        raw = json.loads(line, parse_constant=_not_finite)
        if not isinstance(raw, dict) or not _FIELDS.issuperset(raw):
            return None
        raw["phase"] = Phase(raw.get("phase", Phase.END))
        record = SwitchRecord(**raw)
    except (ValueError, TypeError, RecursionError):
        return None
    return record if _well_formed(record) else None


PID_LIMIT = 1 << 22
"""The kernel's PID_MAX_LIMIT: a pid at or above it is garbage (and os.kill overflows on huge ones)."""


def _well_formed(record: SwitchRecord) -> bool:
    times = (record.time, record.seconds, record.started)
    numbers_ok = all(number_problem(v, 0, MAX_TIME) is None for v in times)
    numbers_ok = numbers_ok and type(record.pid) is int and 0 <= record.pid < PID_LIMIT
    texts_ok = all(isinstance(v, str) for v in (record.target, record.backend, record.message))
    return (numbers_ok and texts_ok and isinstance(record.ok, bool)
            and (record.previous is None or isinstance(record.previous, str))
            and (record.enable_seq_after is None or type(record.enable_seq_after) is int))


def _read_from(path: Path, offset: int) -> tuple[bytes, int, int]:
    """At most MAX_BYTES from `offset` (from the end when the file shrank): data, new offset, inode."""
    with path.open("rb") as f:
        info = os.fstat(f.fileno())
        if offset > info.st_size:
            offset = 0
        offset = max(offset, info.st_size - MAX_BYTES)
        f.seek(offset)
        data = f.read(MAX_BYTES)
    return data, offset, info.st_ino


def records(run_dir: Path = RUN_DIR) -> list[SwitchRecord]:
    """Every record in the journal's last MAX_BYTES."""
    try:
        data, _, _ = _read_from(journal_path(run_dir), 0)
    except OSError:
        return []
    lines = data.decode(errors="replace").splitlines()
    return [r for r in map(parse, lines) if r is not None]


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SwitchJournal:
    """Follows the journal: new records since the last `poll`, and the transactions still
    worth remembering."""

    def __init__(self, run_dir: Path = RUN_DIR) -> None:
        self._path = journal_path(run_dir)
        self._offset = 0
        self._inode: int | None = None
        self._rest = b""
        self._recent: dict[tuple[int, float], SwitchRecord] = {}
        self._begun: dict[tuple[int, float], SwitchRecord] = {}
        self.opened_at = time.time()

    def poll(self) -> list[SwitchRecord]:
        """Records appended since the last call (the first call reads what is there)."""
        try:
            data, start, inode = _read_from(self._path, self._offset if self._inode is not None else 0)
        except OSError:
            return []
        if inode != self._inode:  # rotated (or first read): start over on the new file
            if self._inode is not None:
                data, start, _ = _read_from(self._path, 0)
            self._rest = b""
        elif start != self._offset:  # more than MAX_BYTES at once: a partial first line
            self._rest = b""
        self._inode, self._offset = inode, start + len(data)
        *lines, self._rest = (self._rest + data).split(b"\n")
        new = [r for r in (parse(line.decode(errors="replace")) for line in lines) if r is not None]
        for record in new:
            if record.phase is Phase.BEGIN:
                self._begun[record.key] = record
            else:
                self._begun.pop(record.key, None)
                self._recent[record.key] = record
        cutoff = time.time() - KEEP_S
        self._recent = {k: r for k, r in self._recent.items() if r.time >= cutoff}
        return new

    def active_between(self, since: float, until: float) -> bool:
        """Did a scxtop switch transaction run at some moment in [since, until]?"""
        for key, begun in list(self._begun.items()):
            if begun.started <= until and _pid_alive(begun.pid):
                return True
            if not _pid_alive(begun.pid):  # it died mid-switch: its end never comes
                del self._begun[key]
        return any((r.started or r.time) <= until and r.time >= since for r in self._recent.values())
