"""The CSV that the rqlen.bt script (Proxy Execution review) prints: runqueue length per CPU.

A header `[Timestamp],CPU  0,CPU  1,...`, then one row per interval with a time and each CPU's
runqueue length.
"""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from scxtop.model import CpuStats, Sample
from scxtop.recording.common import RecordError, recording_lines

CPU_HEADER = re.compile(r"^\s*CPU\s*(\d+)\s*$", re.IGNORECASE)
RQLEN_LIMITATION = "rqlen.bt recording: runqueue length only"


def is_rqlen_header(cells: list[str]) -> bool:
    return (
        len(cells) >= 2
        and cells[0].strip().strip("[]").lower() == "timestamp"
        and all(CPU_HEADER.match(c) for c in cells[1:])
    )


def dialect(line: str) -> type[csv.Dialect]:
    return csv.excel_tab if "\t" in line and "," not in line else csv.excel


def _rqlen_time(text: str, day: datetime, previous: float | None) -> float:
    text = text.strip().strip("[]").strip()
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        return value / 1e9 if value > 1e14 else value  # nanoseconds or seconds
    if re.fullmatch(r"\d{1,2}:\d{2}:\d{2}(\.\d+)?", text):
        clock = datetime.strptime(text.split(".")[0], "%H:%M:%S")
        fraction = float("0." + text.split(".")[1]) if "." in text else 0.0
        t = day.replace(hour=clock.hour, minute=clock.minute, second=clock.second).timestamp() + fraction
        while previous is not None and t < previous:  # passed midnight
            t += timedelta(days=1).total_seconds()
        return t
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def read_rqlen(path: Path) -> list[Sample]:
    """rqlen.bt's CSV as Samples carrying only each CPU's runqueue length."""
    day = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    samples: list[Sample] = []
    lines = [(n, line) for n, line in recording_lines(path) if line.strip()]
    header = lines[0][1]
    cells = next(csv.reader([header], dialect=dialect(header)))
    # load() calls this only after is_rqlen_header matched every cell.
    cpus = [int(CPU_HEADER.match(c).group(1)) for c in cells[1:]]  # type: ignore[union-attr]
    times: list[float] = []
    for lineno, line in lines[1:]:
        row = next(csv.reader([line], dialect=dialect(header)))
        if len(row) != len(cells):
            raise RecordError(f"{path}:{lineno}: broken rqlen.bt row ({len(row)} cells, header {len(cells)})")
        try:
            t = _rqlen_time(row[0], day, times[-1] if times else None)
            values = [float(v) for v in row[1:]]
        except ValueError as err:
            raise RecordError(f"{path}:{lineno}: broken rqlen.bt row ({str(err)[:80]})") from None
        times.append(t)
        samples.append(Sample(
            time=t, elapsed_s=0.0, interval_s=1.0, source="rqlen.bt",
            cpus=tuple(CpuStats(cpu=c, rq=v, rq_max=int(v) if v.is_integer() else None)
                       for c, v in zip(cpus, values, strict=True)),
            limitations=(RQLEN_LIMITATION,),
        ))
    return _with_intervals(samples, times)


def _with_intervals(samples: list[Sample], times: list[float]) -> list[Sample]:
    """Elapsed time and interval from the row times (the first row borrows the second's interval)."""
    gaps = [b - a for a, b in pairwise(times)]
    first_gap = gaps[0] if gaps and gaps[0] > 0 else 1.0
    out = []
    for i, sample in enumerate(samples):
        gap = gaps[i - 1] if i > 0 and gaps[i - 1] > 0 else first_gap
        out.append(replace(sample, elapsed_s=times[i] - times[0] + first_gap, interval_s=gap))
    return out
