"""The CSV that the rqlen.bt script (Proxy Execution review) prints: runqueue length per CPU.

The script's own format, from its printf()s:

    [   Timestamp],CPU  0,CPU  1,CPU128,      header: `[%12s],` then `CPU%3d,` per CPU
    [    20012345],  1,  0,  3,               rows: `[%12lld],` bpftrace `elapsed`, `%3d,` per CPU

Every line ends with a comma; `elapsed` is nanoseconds since the script started; the CPU numbers
need not be contiguous (a run pinned to 0-7 and 128-135 lists exactly those). A capture of the
script's stdout also holds bpftrace's "Attaching N probes..." first and its map dump at exit
(`@runqlen[0]: 5`); both are skipped.

Also read, as long as they stay unambiguous: no trailing comma, tabs, `[Timestamp]`, and times
as clock times (`23:59:58`, across midnight), ISO times, epoch seconds or epoch nanoseconds.
Integer times whose rows are at least 1e5 apart are nanoseconds (no recording has rows a day
apart); others are seconds.
"""

from __future__ import annotations

import csv
import re
import statistics
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from scxtop.kernel.bounds import MAX_COUNT
from scxtop.model import CpuStats, Sample
from scxtop.recording.common import (
    MAX_CPUS,
    RecordError,
    check_number,
    check_sample,
    drop_cut_off,
    is_cut_off,
    recording_lines,
)

CPU_HEADER = re.compile(r"^\s*CPU\s*(\d+)\s*$", re.IGNORECASE)
RQLEN_LIMITATION = "rqlen.bt recording: runqueue length only"
ATTACHING = re.compile(r"^Attaching \d+ probes?\.\.\.\s*$")
MAP_DUMP = re.compile(r"^@\w*(\[[^\]]*\])?:")
NS_GAP = 1e5
"""Integer times this far apart (or more) are nanoseconds."""
EPOCH_S = 1e8
"""Seconds above this are epoch times (1973 on), below it elapsed times."""
EPOCH_NS = 1e17


def is_chatter(line: str) -> bool:
    """bpftrace's own lines around a script's output: "Attaching 3 probes...", the map dump at exit."""
    return bool(ATTACHING.match(line) or MAP_DUMP.match(line))


def cells_of(line: str, dialect_: type[csv.Dialect]) -> list[str]:
    """A line's cells without the empty last one that the script's trailing comma leaves."""
    cells = next(csv.reader([line.rstrip("\r\n")], dialect=dialect_), [])
    if len(cells) > 1 and cells[-1].strip() == "":
        cells.pop()
    return cells


def is_rqlen_header(cells: list[str]) -> bool:
    if cells and len(cells) > 1 and cells[-1].strip() == "":
        cells = cells[:-1]
    return (
        len(cells) >= 2
        and cells[0].strip().strip("[]").strip().lower() == "timestamp"
        and all(CPU_HEADER.match(c) for c in cells[1:])
    )


def dialect(line: str) -> type[csv.Dialect]:
    return csv.excel_tab if "\t" in line and "," not in line else csv.excel


def _clock_or_iso(text: str, day: datetime, previous: float | None) -> float:
    if re.fullmatch(r"\d{1,2}:\d{2}:\d{2}(\.\d+)?", text):
        clock = datetime.strptime(text.split(".")[0], "%H:%M:%S")
        fraction = float("0." + text.split(".")[1]) if "." in text else 0.0
        t = day.replace(hour=clock.hour, minute=clock.minute, second=clock.second).timestamp() + fraction
        while previous is not None and t < previous:  # passed midnight
            t += timedelta(days=1).total_seconds()
        return t
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _numbers_in_seconds(raw: list[float], integers: bool) -> tuple[list[float], bool]:
    """Numeric row times in seconds, and whether they are relative (elapsed) rather than epoch."""
    gaps = [b - a for a, b in pairwise(raw) if b > a]
    if gaps:
        nanoseconds = integers and statistics.median(gaps) >= NS_GAP
    else:  # one row: only its size tells
        nanoseconds = integers and (NS_GAP <= raw[0] < 1e9 or raw[0] >= EPOCH_NS / 1000)
    if nanoseconds:
        return [v / 1e9 for v in raw], raw[0] < EPOCH_NS
    return list(raw), raw[0] < EPOCH_S


def read_rqlen(path: Path, warnings: list[str] | None = None) -> list[Sample]:
    """rqlen.bt's CSV as Samples carrying only each CPU's runqueue length; a cut-off last line is
    dropped with a warning."""
    mtime = path.stat().st_mtime
    day = datetime.fromtimestamp(mtime, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    # Lazily: the header is checked before any row is read (a file of a million CPUs, or one of
    # many gigabytes, is refused at its first line).
    lines = ((n, line) for n, line in recording_lines(path) if line.strip() and not is_chatter(line))
    try:
        header_lineno, header = next(lines)
    except StopIteration:
        raise RecordError(f"{path}: the recording is empty") from None
    kind = dialect(header)
    cells = cells_of(header, kind)
    # load() calls this only after is_rqlen_header matched every cell.
    cpus = [int(CPU_HEADER.match(c).group(1)) for c in cells[1:]]  # type: ignore[union-attr]
    if len(cpus) > MAX_CPUS or max(cpus) >= MAX_CPUS:  # refused before a row is read, not after
        raise RecordError(f"{path}:{header_lineno}: {len(cpus)} CPUs up to cpu {max(cpus)} is beyond the "
                          f"limit of {MAX_CPUS} CPUs")
    stamps: list[str] = []
    rows: list[list[float]] = []
    linenos: list[int] = []
    for lineno, line in lines:
        if is_cut_off(line):
            drop_cut_off(path, lineno, len(rows), warnings)
            break
        try:
            row = cells_of(line, kind)
            if len(row) != len(cells):
                raise ValueError(f"{len(row)} cells, header {len(cells)}")
            values = [float(v) for v in row[1:]]
            for cpu, value in zip(cpus, values, strict=True):
                check_number(value, f"cpu{cpu}_rq", 0.0)
            stamp = row[0].strip().strip("[]").strip()
            _check_stamp(stamp)
        except (ValueError, csv.Error) as err:
            raise RecordError(f"{path}:{lineno}: broken rqlen.bt row ({str(err)[:80]})") from None
        rows.append(values)
        stamps.append(stamp)
        linenos.append(lineno)
    if not rows:
        return []
    times, relative = _row_times(path, linenos, stamps, day)
    if relative:  # elapsed since the script started: anchor the last row at the file's mtime
        elapsed = times
        times = [mtime - (times[-1] - t) for t in times]
    else:
        elapsed = None
    samples = [
        Sample(
            time=t, elapsed_s=0.0, interval_s=1.0, source="rqlen.bt",
            cpus=tuple(CpuStats(cpu=c, rq=v, rq_max=int(v) if v.is_integer() else None)
                       for c, v in zip(cpus, values, strict=True)),
            limitations=(RQLEN_LIMITATION,),
        )
        for t, values in zip(times, rows, strict=True)
    ]
    samples = _with_intervals(samples, times, elapsed)
    for lineno, sample in zip(linenos, samples, strict=True):  # what the times came to
        try:
            check_sample(sample)
        except ValueError as err:
            raise RecordError(f"{path}:{lineno}: broken rqlen.bt row ({str(err)[:80]})") from None
    return samples


def _check_stamp(stamp: str) -> None:
    """A numeric time must be finite: one infinite time made every row's time infinite."""
    try:
        number = float(stamp)
    except ValueError:
        return  # a clock or ISO time, parsed (and checked) later
    check_number(number, f"time {stamp[:40]!r}", -float(MAX_COUNT), float(MAX_COUNT))


def _row_times(path: Path, linenos: list[int], stamps: list[str], day: datetime) -> tuple[list[float], bool]:
    try:
        raw = [float(s) for s in stamps]
    except ValueError:
        pass
    else:
        return _numbers_in_seconds(raw, all(re.fullmatch(r"[+-]?\d+", s) for s in stamps))
    times: list[float] = []
    for lineno, stamp in zip(linenos, stamps, strict=True):
        try:
            times.append(_clock_or_iso(stamp, day, times[-1] if times else None))
        except ValueError:
            raise RecordError(f"{path}:{lineno}: broken rqlen.bt row (time {stamp[:40]!r})") from None
    return times, False


def _with_intervals(samples: list[Sample], times: list[float], elapsed: list[float] | None) -> list[Sample]:
    """Elapsed time and interval from the row times (the first row borrows the second's interval).

    `elapsed` holds the script's own elapsed time per row where the file has it."""
    gaps = [b - a for a, b in pairwise(elapsed if elapsed is not None else times)]
    first_gap = gaps[0] if gaps and gaps[0] > 0 else 1.0
    out = []
    for i, sample in enumerate(samples):
        gap = gaps[i - 1] if i > 0 and gaps[i - 1] > 0 else first_gap
        since = elapsed[i] if elapsed is not None else times[i] - times[0] + first_gap
        out.append(replace(sample, elapsed_s=since, interval_s=gap))
    return out
