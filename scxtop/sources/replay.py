"""Replay a recording: our JSONL or CSV, or the CSV that the rqlen.bt script prints.

`load_recording()` reads the whole file up front (recordings are small: one line per second),
so a dashboard can pause, step and seek by index; `ReplaySource` plays it as a `Source`,
paced by the recorded intervals divided by a speed factor (or as fast as it can be read).

The rqlen.bt format: a header `[Timestamp],CPU  0,CPU  1,...`, then one row per interval with
a time (`HH:MM:SS`, optionally bracketed; ISO 8601; or seconds since the epoch) and each CPU's
runqueue length.
"""

from __future__ import annotations

import csv
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from scxtop.model import CpuStats, Sample
from scxtop.record import RecordError, read_csv, read_jsonl, recording_lines

CPU_HEADER = re.compile(r"^\s*CPU\s*(\d+)\s*$", re.IGNORECASE)
RQLEN_LIMITATION = "rqlen.bt recording: runqueue length only"


@dataclass(frozen=True, slots=True)
class Recording:
    path: Path
    format: str
    """'jsonl', 'csv' (ours) or 'rqlen' (rqlen.bt)."""
    samples: tuple[Sample, ...]

    @property
    def interval_s(self) -> float:
        """The typical interval (the median), for a playback timer."""
        intervals = sorted(s.interval_s for s in self.samples)
        return intervals[len(intervals) // 2] if intervals else 1.0


def _first_line(path: Path) -> str:
    for _, line in recording_lines(path):
        if line.strip():
            return line
    raise RecordError(f"{path}: the recording is empty")


def _is_rqlen_header(cells: list[str]) -> bool:
    return (
        len(cells) >= 2
        and cells[0].strip().strip("[]").lower() == "timestamp"
        and all(CPU_HEADER.match(c) for c in cells[1:])
    )


def load_recording(path: str | Path) -> Recording:
    """Every sample of a recording; a one-line RecordError naming the line when it is broken."""
    path = Path(path)
    first = _first_line(path)
    if first.lstrip().startswith("{"):
        fmt, samples = "jsonl", read_jsonl(path)
    else:
        cells = next(csv.reader([first], dialect=_dialect(first)))
        if cells[:2] == ["time", "elapsed_s"]:
            fmt, samples = "csv", read_csv(path)
        elif _is_rqlen_header(cells):
            fmt, samples = "rqlen", read_rqlen(path)
        else:
            raise RecordError(
                f"{path}:1: not a recording scxtop can replay (scxtop CSV/JSONL, or rqlen.bt CSV)"
            )
    if not samples:
        raise RecordError(f"{path}: the recording holds no samples")
    return Recording(path=path, format=fmt, samples=tuple(samples))


def _dialect(line: str) -> type[csv.Dialect]:
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
    cells = next(csv.reader([header], dialect=_dialect(header)))
    cpus = [int(CPU_HEADER.match(c).group(1)) for c in cells[1:]]  # type: ignore[union-attr]
    times: list[float] = []
    for lineno, line in lines[1:]:
        row = next(csv.reader([line], dialect=_dialect(header)))
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


class ReplaySource:
    """A recording played as a live source: each sample after its recorded interval / speed."""

    name = "replay"

    def __init__(self, recording: Recording | str | Path, speed: float = 1.0, paced: bool = True) -> None:
        self.recording = recording if isinstance(recording, Recording) else load_recording(recording)
        self.interval_s = self.recording.interval_s
        self.speed = speed
        self.paced = paced
        self.position = 0
        """Index of the next sample to play; a dashboard may move it to seek."""
        self._stop = threading.Event()

    def samples(self) -> Iterator[Sample]:
        samples = self.recording.samples
        while self.position < len(samples) and not self._stop.is_set():
            sample = samples[self.position]
            if self.paced and self._stop.wait(sample.interval_s / self.speed):
                return
            self.position += 1
            yield sample

    def close(self) -> None:
        self._stop.set()
