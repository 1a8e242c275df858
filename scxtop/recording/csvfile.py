"""scxtop's CSV: one spreadsheet-friendly summary row per interval, stable columns.

Lossy by design: per-CPU values and a few totals. A cell is empty where the source cannot see
the value (never a fake 0).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

from scxtop.kernel.bounds import printable
from scxtop.model import CpuStats, Sample, SchedExtEnableState, SchedExtState
from scxtop.recording.common import (
    MAX_CPUS,
    RecordError,
    check_number,
    check_sample,
    drop_cut_off,
    is_cut_off,
    iso_time,
    recording_lines,
)
from scxtop.recording.sink import RowSink

CPU_COLUMNS = ("rq", "util", "csw", "mig_in", "mig_out")
TAIL_COLUMNS = (
    "migrations", "blocked_tasks", "chains", "max_chain_depth", "inversions", "scx_state", "scx_ops",
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(round(value, 3))
    return str(value)


def csv_header(ncpus: int) -> list[str]:
    cols = ["time", "elapsed_s"]
    for cpu in range(ncpus):
        cols += [f"cpu{cpu}_{name}" for name in CPU_COLUMNS]
    return cols + list(TAIL_COLUMNS)


def csv_row(sample: Sample, ncpus: int) -> list[str]:
    by_cpu = {c.cpu: c for c in sample.cpus}
    row = [iso_time(sample.time), _cell(round(sample.elapsed_s, 3))]
    for cpu in range(ncpus):
        stats = by_cpu.get(cpu)
        row += [_cell(getattr(stats, name) if stats else None) for name in CPU_COLUMNS]
    chains = None if sample.chains is None else len(sample.chains)
    row += [
        _cell(v)
        for v in (sample.total_migrations, sample.blocked_tasks, chains, sample.max_chain_depth,
                  sample.inversions, sample.scx.state, sample.scx.ops)
    ]
    return row


def _csv_line(cells: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    return buf.getvalue()


class CsvWriter:
    """One row per Sample, header first; the CPU columns are fixed by the first sample."""

    def __init__(self, target: str | Path) -> None:
        self._sink = RowSink(target)
        self._ncpus: int | None = None

    def ensure_header(self, ncpus: int) -> None:
        """The header alone, for a log stopped before its first row (a no-op after one)."""
        if self._ncpus is None:
            self._ncpus = ncpus
            self._sink.write_line(_csv_line(csv_header(ncpus)))

    def write(self, sample: Sample) -> None:
        if self._ncpus is None:
            self._ncpus = max((c.cpu for c in sample.cpus), default=-1) + 1
            self._sink.write_line(_csv_line(csv_header(self._ncpus)))
        self._sink.write_line(_csv_line(csv_row(sample, self._ncpus)))

    def close(self) -> None:
        self._sink.close()


def _parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _opt(cast: type, text: str, what: str = "a cell") -> Any:
    if text == "":
        return None
    value = cast(text)
    check_number(value, what, 0.0)
    return value


def _csv_sample(row: dict[str, str], ncpus: int, previous: Sample | None) -> Sample:
    elapsed = float(row["elapsed_s"])
    interval = elapsed - previous.elapsed_s if previous else elapsed
    cpus = tuple(
        CpuStats(
            cpu=cpu,
            rq=_opt(float, row[f"cpu{cpu}_rq"], f"cpu{cpu}_rq"),
            util=_opt(float, row[f"cpu{cpu}_util"], f"cpu{cpu}_util"),
            csw=_opt(int, row[f"cpu{cpu}_csw"], f"cpu{cpu}_csw"),
            mig_in=_opt(int, row[f"cpu{cpu}_mig_in"], f"cpu{cpu}_mig_in"),
            mig_out=_opt(int, row[f"cpu{cpu}_mig_out"], f"cpu{cpu}_mig_out"),
        )
        for cpu in range(ncpus)
    )
    state = row["scx_state"] or None
    # A state name this version does not know reads as None (cannot see), not as an error.
    scx = SchedExtState(supported=state is not None, state=SchedExtEnableState.parse(state),
                        ops=printable(row["scx_ops"]) or None)
    return Sample(
        time=_parse_time(row["time"]),
        elapsed_s=elapsed,
        interval_s=interval if interval > 0 else 1.0,
        source="csv",
        cpus=cpus,
        scx=scx,
        limitations=("CSV recording: per-CPU values only (migrations, chains, latency need JSONL)",),
    )


def read_csv(path: Path, warnings: list[str] | None = None) -> list[Sample]:
    """Our CSV back as Samples (per-CPU values and sched_ext state; the summary columns are derived);
    a cut-off last line is dropped with a warning."""
    lines = recording_lines(path)
    samples: list[Sample] = []
    header: list[str] | None = None
    ncpus = 0
    for lineno, line in lines:
        if not line.strip():
            continue
        if header is not None and is_cut_off(line):
            drop_cut_off(path, lineno, len(samples), warnings)
            break
        try:
            cells = next(csv.reader([line]))
        except csv.Error as err:
            raise RecordError(f"{path}:{lineno}: broken CSV line ({str(err)[:80]})") from None
        if header is None:
            header = cells
            ncpus = (len(cells) - 2 - len(TAIL_COLUMNS)) // len(CPU_COLUMNS)
            if ncpus > MAX_CPUS:
                raise RecordError(f"{path}:{lineno}: {ncpus} CPUs is beyond the limit of {MAX_CPUS} CPUs")
            if ncpus < 0 or cells != csv_header(ncpus):
                raise RecordError(f"{path}:{lineno}: not an scxtop CSV header (time,elapsed_s,cpu0_rq,...)")
            continue
        try:
            if len(cells) != len(header):
                raise ValueError(f"{len(cells)} cells, header {len(header)}")
            row = dict(zip(header, cells, strict=True))
            sample = _csv_sample(row, ncpus, samples[-1] if samples else None)
            check_sample(sample)
            samples.append(sample)
        except (ValueError, OverflowError) as err:
            raise RecordError(f"{path}:{lineno}: broken CSV row ({str(err)[:80]})") from None
    return samples
