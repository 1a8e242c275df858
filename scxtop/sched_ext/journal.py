"""A record of the switches scxtop made, shared by every scxtop process on the machine.

One JSON line per switch in /run/scxtop/switches.jsonl: the picker shows each scheduler's last
switch time from it, and a timeline can tell changes scxtop made from changes by others
(`enable_seq_after` is the kernel's enable_seq right after a switch scxtop confirmed).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from scxtop.sched_ext.errors import SwitchError
from scxtop.sched_ext.rundir import private_dir

RUN_DIR = Path(os.environ.get("SCXTOP_RUN_DIR", "/run/scxtop"))
MAX_BYTES = 256 * 1024
MAX_TIME = 253402300799.0
"""9999-12-31: a later switch time is garbage (and would overflow the clocks that show it)."""


@dataclass(frozen=True, slots=True)
class SwitchRecord:
    time: float
    target: str
    previous: str | None
    ok: bool
    seconds: float
    backend: str
    enable_seq_after: int | None
    message: str


def journal_path(run_dir: Path = RUN_DIR) -> Path:
    return run_dir / "switches.jsonl"


def append(record: SwitchRecord, run_dir: Path = RUN_DIR) -> None:
    """Best effort: a journal that cannot be written never fails a switch."""
    path = journal_path(run_dir)
    try:
        private_dir(run_dir)
        if path.exists() and path.stat().st_size > MAX_BYTES:
            path.replace(path.with_suffix(".jsonl.old"))
        with path.open("a") as f:
            f.write(json.dumps(asdict(record)) + "\n")
    except (OSError, SwitchError):
        pass


READ_LIMIT = 2 * MAX_BYTES
"""The journal is rotated past MAX_BYTES; a bigger one was not written by scxtop: only its tail
is read."""


def _record(line: bytes) -> SwitchRecord | None:
    """One journal line, or None when it is not a well-formed record (the file is shared)."""
    try:
        obj = json.loads(line.decode("utf-8"), parse_constant=_not_finite)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    try:
        record = SwitchRecord(**obj)
    except TypeError:
        return None
    numbers_ok = all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= MAX_TIME
        for v in (record.time, record.seconds)
    )
    texts_ok = all(isinstance(v, str) for v in (record.target, record.backend, record.message))
    if not (numbers_ok and texts_ok and isinstance(record.ok, bool)
            and (record.previous is None or isinstance(record.previous, str))
            and (record.enable_seq_after is None or type(record.enable_seq_after) is int)):
        return None
    return record


def _not_finite(name: str) -> float:
    raise ValueError(name)


def records(run_dir: Path = RUN_DIR) -> list[SwitchRecord]:
    """The well-formed records of the journal's last READ_LIMIT bytes; anything else is skipped."""
    try:
        with journal_path(run_dir).open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > READ_LIMIT:
                f.seek(size - READ_LIMIT)
                f.readline()  # a partial first line
            data = f.read(READ_LIMIT)
    except OSError:
        return []
    out = []
    for line in data.splitlines():
        record = _record(line)
        if record is not None:
            out.append(record)
    return out


def last_switch_times(run_dir: Path = RUN_DIR) -> dict[str, float]:
    """Scheduler name -> when scxtop last switched to it successfully."""
    return {r.target: r.time for r in records(run_dir) if r.ok}
