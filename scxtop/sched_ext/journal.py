"""Writing the switch journal: one `begin` and one `end` JSON line per switch transaction in
/run/scxtop/switches.jsonl, shared by every scxtop process on the machine.

The picker shows each scheduler's last switch time from it, and the sched_ext tracker
(scxtop.kernel.scx_journal reads it) marks kernel changes made during a transaction as scxtop's,
whichever scxtop process made them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, replace
from pathlib import Path

from scxtop.kernel.scx_journal import MAX_BYTES, RUN_DIR, Phase, SwitchRecord, journal_path, records
from scxtop.sched_ext.rundir import ensure_run_dir

__all__ = ["RUN_DIR", "Phase", "SwitchRecord", "append", "begin", "journal_path", "last_switch_times",
           "records"]


def append(record: SwitchRecord, run_dir: Path = RUN_DIR) -> None:
    """Best effort: a journal that cannot be written never fails a switch."""
    path = journal_path(run_dir)
    try:
        ensure_run_dir(run_dir)
        if path.exists() and path.stat().st_size > MAX_BYTES:
            path.replace(path.with_suffix(".jsonl.old"))
        with path.open("a") as f:
            f.write(json.dumps(asdict(record)) + "\n")
    except OSError:
        pass


def begin(target: str, previous: str | None, backend: str, started: float,
          run_dir: Path = RUN_DIR) -> SwitchRecord:
    """Write the `begin` record of a transaction; its `end` is `finished(...)` of the result."""
    record = SwitchRecord(
        time=started, target=target, previous=previous, ok=False, seconds=0.0, backend=backend,
        enable_seq_after=None, message="", pid=os.getpid(), started=started, phase=Phase.BEGIN,
    )
    append(record, run_dir)
    return record


def finished(begun: SwitchRecord, *, end: float, ok: bool, seconds: float, enable_seq_after: int | None,
             message: str, previous: str | None) -> SwitchRecord:
    """The `end` record pairing `begun`."""
    return replace(begun, time=end, ok=ok, seconds=round(seconds, 4), enable_seq_after=enable_seq_after,
                   message=message, previous=previous, phase=Phase.END)


def last_switch_times(run_dir: Path = RUN_DIR) -> dict[str, float]:
    """Scheduler name -> when scxtop last switched to it successfully."""
    return {r.target: r.time for r in records(run_dir) if r.ok and r.phase is Phase.END}
