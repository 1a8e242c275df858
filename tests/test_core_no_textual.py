"""The core never imports Textual or Rich: `scxtop log` runs on a server where they would never load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import importlib, pkgutil, sys
import scxtop
core = [m.name for m in pkgutil.walk_packages(scxtop.__path__, "scxtop.")
        if not m.name.startswith("scxtop.tui") and m.name != "scxtop.__main__"]
for name in core:
    importlib.import_module(name)
from scxtop.cli import main
status = main(["log", "--source", "procfs", "--interval", "0.2", "--duration", "0.4", "--csv", sys.argv[1]])
loaded = sorted(m for m in sys.modules if m.partition(".")[0] in ("textual", "rich"))
print(status, len(core), ",".join(loaded) or "-")
"""


def test_log_and_every_core_module_run_without_textual_or_rich(tmp_path: Path):
    out = tmp_path / "log.csv"
    done = subprocess.run([sys.executable, "-c", CHILD, str(out)], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    status, modules, loaded = done.stdout.split()
    assert status == "0"
    assert int(modules) >= 15  # cli, recording.*, chains, sources.*, sched_ext.*, bpftrace.*, ...
    assert loaded == "-"
    assert len(out.read_text().splitlines()) == 3


def test_textual_is_installed_so_the_check_above_means_something():
    done = subprocess.run([sys.executable, "-c", "import textual, rich"], capture_output=True, timeout=60)
    assert done.returncode == 0
