"""The benchmark keeps working: `bench/run.py --quick` runs every section on the real kernel and
prints every expected row with finite, sane values. No timing thresholds: speed is what the
benchmark reports, not what a test judges."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from workloads import bpf_skip_reason, marked_env, processes_with

ROOT = Path(__file__).resolve().parent.parent

LOADS = ("messaging -g 2", "messaging -g 20", "messaging -g 10 -p", "forced migrations")
EXPECTED = {
    "Probe overhead on perf bench sched messaging": [
        f"{load} · {v}" for load in ("messaging -g 10", "messaging -g 10 -p -t")
        for v in ("bare", "bare again (A/A)", "plain bpftrace", "scxtop log 1s", "scxtop log 0.1s")],
    "Probe cost against the context-switch and migration rate": [
        f"{load} · {v}" for load in LOADS for v in ("bare", "plain bpftrace", "scxtop log 1s")],
    "scxtop's own cost (bpftrace source)": [
        f"{kind} {interval}, {load}" for kind in ("scxtop log", "dashboard (tmux)")
        for interval in ("1s", "0.1s") for load in ("idle", "load")],
    "Time to first data": [
        "scxtop log, bpftrace 1s", "scxtop log, bpftrace 0.1s", "scxtop log, procfs 1s",
        "dashboard, bpftrace 1s", "dashboard, procfs 1s", "plain bpftrace (1s maps)"],
    "Recording rate (scxtop.recording writers to a temporary file)": [
        f"{fmt}, {n} CPUs" for fmt in ("CSV", "JSONL") for n in (2, 1024)],
    "Dashboard refresh (bench/dashboard_refresh.py)": [f"{n} CPUs" for n in (2, 64, 256, 1024)],
    "Scrape render (scxtop.export, OpenMetrics, a new interval each time)": [
        "2 CPUs", "2 CPUs again (A/A)", "256 CPUs", "1024 CPUs", "1024 CPUs, over HTTP (loopback)",
        "1024 CPUs + CPU pairs (16 per CPU)"],
    "scxtop serve's own cost, scraped every 15s (bpftrace source)": [
        "scxtop serve 1s, scraped every 15s", "scxtop serve 15s, scraped every 15s",
        "scxtop log 1s (same collection, no HTTP)"],
}
POSITIVE = {"median s", "ratio", "paired ratio", "csw/s", "mig/s", "load cpu s", "cpu ratio",
            "scxtop peak MiB", "bpftrace peak MiB", "rows/s", "MB/s", "KB/row", "ms/refresh", "p90 ms",
            "panels ms", "vs 2 CPUs", "peak RSS MiB", "heap MiB", "ms/render", "KiB", "series", "scrapes"}
"""Columns that can only be above zero in a working run (CPU seconds may round to 0 in a short window)."""


def skip_reason() -> str | None:
    missing = [tool for tool in ("perf", "tmux") if shutil.which(tool) is None]
    return bpf_skip_reason() or (f"the benchmark needs {' and '.join(missing)}" if missing else None)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, dict, list]:
    if reason := skip_reason():
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("bench") / "tables.json"
    env, mark = marked_env()
    done = subprocess.run([sys.executable, "bench/run.py", "--quick", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900, env=env)
    tables = {t["title"]: t for t in json.loads(out.read_text())} if out.exists() else {}
    return done, tables, processes_with(mark)


@pytest.mark.bpf
def test_quick_run_succeeds_and_leaves_nothing_running(quick_run) -> None:
    done, _, leftovers = quick_run
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "ANOMALY" not in done.stdout, done.stdout
    assert leftovers == [], f"processes left behind by the benchmark: {leftovers}"


@pytest.mark.bpf
@pytest.mark.parametrize("title", list(EXPECTED))
def test_table_has_expected_rows_with_sane_values(quick_run, title: str) -> None:
    done, tables, _ = quick_run
    assert title in tables, done.stderr[-3000:]
    table = tables[title]
    rows = dict(table["rows"])
    assert list(rows) == EXPECTED[title]
    for name, cells in rows.items():
        for column, cell in zip(table["columns"], cells, strict=True):
            if isinstance(cell, float | int):
                assert math.isfinite(cell) and cell >= 0, (name, column, cell)
                if column in POSITIVE:
                    assert cell > 0, (name, column, cell)
    if title.startswith("Probe"):
        for name, cells in rows.items():
            if name.endswith("· bare"):
                assert cells[table["columns"].index("ratio")] == 1.0


@pytest.mark.bpf
def test_table_is_printed_with_the_machine(quick_run) -> None:
    done, tables, _ = quick_run
    assert "kernel " in done.stdout and "bpftrace v" in done.stdout
    for title in tables:
        assert f"== {title} ==" in done.stdout
