"""Dashboard refresh time and memory at 2, 64, 256 and 1024 CPUs: runs bench/dashboard_refresh.py
(the dashboard engineer's benchmark) and brings its results into this run's tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from table import Table

SCRIPT = Path(__file__).resolve().parent / "dashboard_refresh.py"


def table(quick: bool) -> Table:
    if not SCRIPT.exists():
        raise FileNotFoundError(f"{SCRIPT.name} is missing: {SCRIPT}")
    command = [sys.executable, str(SCRIPT), *(["--quick"] if quick else [])]
    out = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {out.returncode}: {out.stderr.strip()[-400:]}")
    result = Table("Dashboard refresh (bench/dashboard_refresh.py)", ["output"])
    for line in out.stdout.strip().splitlines():
        result.add(line, None)
    return result
