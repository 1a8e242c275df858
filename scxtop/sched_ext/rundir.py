"""The one place /run/scxtop is created: the switch journal, the switch lock and the schedulers'
logs live there, shared by every scxtop process on the machine."""

from __future__ import annotations

from pathlib import Path

from scxtop.kernel.scx_journal import RUN_DIR


def ensure_run_dir(run_dir: Path = RUN_DIR) -> Path:
    """Create the run directory (root's, not writable by others) if it is missing."""
    run_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
    return run_dir
