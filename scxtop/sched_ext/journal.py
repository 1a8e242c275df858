"""A record of the switches scxtop made, shared by every scxtop process on the machine.

One JSON line per switch in /run/scxtop/switches.jsonl: the picker shows each scheduler's last
switch time from it, and a timeline can tell changes scxtop made from changes by others
(`enable_seq_after` is the kernel's enable_seq right after a switch scxtop confirmed).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from scxtop.sched_ext.errors import SwitchError
from scxtop.sched_ext.rundir import private_dir

RUN_DIR = Path(os.environ.get("SCXTOP_RUN_DIR", "/run/scxtop"))
MAX_BYTES = 256 * 1024


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


def records(run_dir: Path = RUN_DIR) -> list[SwitchRecord]:
    try:
        lines = journal_path(run_dir).read_text().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            out.append(SwitchRecord(**json.loads(line)))
        except (ValueError, TypeError):
            continue
    return out


def last_switch_times(run_dir: Path = RUN_DIR) -> dict[str, float]:
    """Scheduler name -> when scxtop last switched to it successfully."""
    return {r.target: r.time for r in records(run_dir) if r.ok}
