"""Load a whole recording of any format we read: scxtop JSONL or CSV, or rqlen.bt's CSV.

Recordings are read whole up front (one line per interval), so a dashboard can pause, step and
seek by index.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from scxtop.model import Sample
from scxtop.recording.common import RecordError, recording_lines
from scxtop.recording.csvfile import read_csv
from scxtop.recording.jsonl import read_jsonl
from scxtop.recording.rqlen import dialect, is_chatter, is_rqlen_header, read_rqlen


@dataclass(frozen=True, slots=True)
class Recording:
    path: Path
    format: str
    """'jsonl', 'csv' (ours) or 'rqlen' (rqlen.bt)."""
    samples: tuple[Sample, ...]
    warnings: tuple[str, ...] = ()
    """What was skipped while loading (a cut-off last line), one line each, for stderr."""

    @property
    def interval_s(self) -> float:
        """The typical interval, for a playback timer (see `typical_interval`)."""
        return typical_interval(self.samples)


def typical_interval(samples: Iterable[Sample]) -> float:
    """The median recorded interval, ignoring intervals <= 0 (a first row may span nothing); 1 s if none.

    The one rule for the replay source's interval and the dashboard's playback period.
    """
    intervals = sorted(s.interval_s for s in samples if s.interval_s > 0)
    return intervals[len(intervals) // 2] if intervals else 1.0


def _first_line(path: Path) -> str:
    for _, line in recording_lines(path):
        # bpftrace's "Attaching N probes..." may stand above rqlen.bt's header
        if line.strip() and not is_chatter(line):
            return line
    raise RecordError(f"{path}: the recording is empty")


def load_recording(path: str | Path) -> Recording:
    """Every sample of a recording; a one-line RecordError naming the line when it is broken."""
    path = Path(path)
    first = _first_line(path)
    warnings: list[str] = []
    if first.lstrip().startswith("{"):
        fmt, samples = "jsonl", read_jsonl(path, warnings)
    else:
        try:
            cells = next(csv.reader([first.rstrip("\r\n")], dialect=dialect(first)))
        except csv.Error as err:
            raise RecordError(f"{path}:1: not a recording scxtop can replay ({str(err)[:80]})") from None
        if cells[:2] == ["time", "elapsed_s"]:
            fmt, samples = "csv", read_csv(path, warnings)
        elif is_rqlen_header(cells):
            fmt, samples = "rqlen", read_rqlen(path, warnings)
        else:
            raise RecordError(
                f"{path}:1: not a recording scxtop can replay (scxtop CSV/JSONL, or rqlen.bt CSV)"
            )
    if not samples:
        raise RecordError(f"{path}: the recording holds no samples")
    return Recording(path=path, format=fmt, samples=tuple(samples), warnings=tuple(warnings))

