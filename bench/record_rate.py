"""How fast scxtop.recording writes: rows/s and MB/s of the CSV and JSONL writers for a 2-CPU and a
1024-CPU machine, into a temporary file (every row is its own write(2), as in `scxtop log`).

The samples are the dashboard tests' synthetic ones (tests/tui/synthetic.py): every per-CPU
value, a migration pair per CPU, top migrators, a chain and a deadlock, delayed tasks, so the cost
per row is the real formatting cost.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import loads  # noqa: F401  (puts tests/ on sys.path for tui.synthetic)
from table import Table, median
from tui.synthetic import samples as synthetic_samples

from scxtop.recording import CsvWriter, JsonlWriter

WRITERS = {"CSV": CsvWriter, "JSONL": JsonlWriter}


def rate(writer_cls: type, ncpus: int, seconds: float) -> tuple[float, float]:
    """(rows/s, MB/s) writing distinct samples for about `seconds`."""
    samples = synthetic_samples(16, ncpus)
    with tempfile.TemporaryDirectory(prefix="scxtop-bench-") as tmp:
        path = Path(tmp, "out")
        writer = writer_cls(path)
        rows, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds or rows < 3:
            writer.write(samples[rows % len(samples)])
            rows += 1
        writer.close()
        return rows / elapsed, path.stat().st_size / elapsed / 1e6


def table(rounds: int, seconds: float) -> Table:
    cases = [(fmt, ncpus) for fmt in WRITERS for ncpus in (2, 1024)]
    results: dict[tuple[str, int], list[tuple[float, float]]] = {c: [] for c in cases}
    for r in range(rounds):
        for fmt, ncpus in cases:
            results[(fmt, ncpus)].append(rate(WRITERS[fmt], ncpus, seconds))
        print(f"  round {r + 1}/{rounds} record rate done", file=sys.stderr)
    out = Table("Recording rate (scxtop.recording writers to a temporary file)", ["rows/s", "MB/s", "KB/row"])
    for (fmt, ncpus), rs in results.items():
        rows, mb = median([x[0] for x in rs]), median([x[1] for x in rs])
        out.add(f"{fmt}, {ncpus} CPUs", rows, mb, mb * 1e3 / rows)
    out.notes.append(f"{rounds} rounds of {seconds:g}s each, medians")
    return out
