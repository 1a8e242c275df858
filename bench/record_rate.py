"""How fast scxtop.record writes: rows/s and MB/s of the CSV and JSONL writers for a 2-CPU and a
1024-CPU machine, into a temporary file (every row is its own write(2), as in `scxtop log`).

The samples are synthesised with every field a live bpftrace sample has (per-CPU values, a
migration pair per CPU, top migrators, a three-edge chain, a latency histogram), so the cost per
row is the real formatting cost.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from table import Table, median

from scxtop.chains import build_chains
from scxtop.model import (
    BlockedEdge,
    CpuStats,
    LatencyBucket,
    LatencyHistogram,
    MigrationPair,
    Migrator,
    OwnerState,
    Sample,
    TaskRef,
)
from scxtop.record import CsvWriter, JsonlWriter

WRITERS = {"CSV": CsvWriter, "JSONL": JsonlWriter}


def synthetic_sample(ncpus: int, n: int) -> Sample:
    a, b, c = TaskRef(4101, "writer", 100), TaskRef(4102, "middle", 120), TaskRef(4103, "owner", 139)
    blocked = (
        BlockedEdge(a, 0xFFFF888001230000, b, OwnerState.SLEEPING, None, 3_500_000 + n),
        BlockedEdge(b, 0xFFFF888004560000, c, OwnerState.RUNNABLE, 1, 12_000_000),
    )
    return Sample(
        time=1_790_000_000.0 + n, elapsed_s=1.0 + n, interval_s=1.0, source="bpftrace",
        cpus=tuple(CpuStats(cpu=i, rq=1.5 + i % 7, rq_max=3 + i % 5, util=42.125 + i % 50, csw=1000 + i + n,
                            mig_in=i % 11, mig_out=i % 13) for i in range(ncpus)),
        migrations=tuple(MigrationPair(i, (i + 1) % ncpus, 1 + i % 9) for i in range(ncpus)),
        top_migrators=tuple(Migrator(1000 + i, f"task-{i}", 50 - i) for i in range(10)),
        blocked=blocked, chains=build_chains(blocked),
        wakeup_latency=LatencyHistogram(tuple(LatencyBucket(1 << i, 2 << i, 100 >> i) for i in range(8))),
    )


def rate(writer_cls: type, ncpus: int, seconds: float) -> tuple[float, float]:
    """(rows/s, MB/s) writing distinct samples for about `seconds`."""
    samples = [synthetic_sample(ncpus, n) for n in range(16)]
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
    out = Table("Recording rate (scxtop.record writers to a temporary file)", ["rows/s", "MB/s", "KB/row"])
    for (fmt, ncpus), rs in results.items():
        rows, mb = median([x[0] for x in rs]), median([x[1] for x in rs])
        out.add(f"{fmt}, {ncpus} CPUs", rows, mb, mb * 1e3 / rows)
    out.notes.append(f"{rounds} rounds of {seconds:g}s each, medians")
    return out
