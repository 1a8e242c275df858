"""Recordings: write Samples as CSV (one summary row per interval) or JSONL (everything), and read them back.

Writers hand each row to the kernel in one `os.write` as soon as it is formatted, so a crash or
Ctrl-C loses at most the interval in progress. When a write fails (full disk, closed pipe) the
partial row is cut off again where the file allows it, so every row on disk stays whole, and the
failure becomes a one-line `ScxtopError`.

CSV is lossy by design (a spreadsheet-friendly summary); JSONL round-trips a `Sample` exactly.
"""

from __future__ import annotations

import contextlib
import csv
import enum
import errno
import io
import json
import os
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scxtop.errors import ScxtopError
from scxtop.model import (
    BlockedEdge,
    CpuStats,
    OwnerState,
    Sample,
    SchedExtState,
    TaskRef,
)

CPU_COLUMNS = ("rq", "util", "csw", "mig_in", "mig_out")
TAIL_COLUMNS = (
    "migrations", "blocked_tasks", "chains", "max_chain_depth", "inversions", "scx_state", "scx_ops",
)


class RecordError(ScxtopError):
    """A recording cannot be written or read; the message names the file (and line) and the fix."""


# --- output -------------------------------------------------------------------------------------


class RowSink:
    """An append-only line sink on a path or stdout ('-') that writes whole lines or nothing."""

    def __init__(self, target: str | Path) -> None:
        self.name = "stdout" if str(target) == "-" else str(target)
        self._own = str(target) != "-"
        try:
            self._fd = (
                os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
                if self._own
                else sys.stdout.fileno()
            )
        except OSError as err:
            raise RecordError(f"cannot write {self.name}: {err.strerror} ({_fix(err)})") from None
        except (AttributeError, io.UnsupportedOperation):
            raise RecordError("cannot write stdout: it is not a file (use --csv PATH)") from None
        self._good = 0
        self._closed = False

    def write_line(self, line: str) -> None:
        data = (line + "\n").encode()
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except BrokenPipeError:
            raise  # the reader left (`| head`): the caller ends quietly
        except OSError as err:
            self._cut_partial()
            raise RecordError(f"cannot write {self.name}: {err.strerror} ({_fix(err)})") from None
        self._good += len(data)

    def _cut_partial(self) -> None:
        """Drop a half-written row so the file ends on the last whole one.

        Only in a file we created: stdout may be a file opened for appending (`>> log.csv`),
        whose earlier contents are not ours to cut."""
        if self._own:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._good)

    def close(self) -> None:
        if not self._closed and self._own:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._closed = True


def _fix(err: OSError) -> str:
    return {
        errno.ENOSPC: "free some space or write elsewhere",
        errno.EDQUOT: "free some space or write elsewhere",
        errno.EACCES: "choose a path you can write",
        errno.EPERM: "choose a path you can write",
        errno.EROFS: "the file system is read-only; choose another path",
        errno.ENOENT: "create the directory first",
        errno.EISDIR: "give a file name, not a directory",
    }.get(err.errno or 0, "check the path")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(round(value, 3))
    return str(value)


def iso_time(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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

    def write(self, sample: Sample) -> None:
        if self._ncpus is None:
            self._ncpus = max((c.cpu for c in sample.cpus), default=-1) + 1
            self._sink.write_line(_csv_line(csv_header(self._ncpus)))
        self._sink.write_line(_csv_line(csv_row(sample, self._ncpus)))

    def close(self) -> None:
        self._sink.close()


class JsonlWriter:
    """One JSON object per Sample with everything in it; `read_jsonl` gives the same Sample back."""

    def __init__(self, target: str | Path) -> None:
        self._sink = RowSink(target)

    def write(self, sample: Sample) -> None:
        self._sink.write_line(json.dumps(sample_to_json(sample), separators=(",", ":")))

    def close(self) -> None:
        self._sink.close()


# --- JSON codec ---------------------------------------------------------------------------------
# Generic over the model's dataclasses, except blocked edges, which are flat objects
# (waiter_tid, waiter_comm, owner_tid, ...) so that jq and spreadsheets can read them.


def _edge_to_json(edge: BlockedEdge) -> dict[str, Any]:
    owner = edge.owner
    return {
        "waiter_tid": edge.waiter.tid,
        "waiter_comm": edge.waiter.comm,
        "waiter_prio": edge.waiter.prio,
        "lock": edge.lock,
        "owner_tid": owner.tid if owner else None,
        "owner_comm": owner.comm if owner else None,
        "owner_prio": owner.prio if owner else None,
        "owner_state": edge.owner_state.value,
        "owner_cpu": edge.owner_cpu,
        "wait_ns": edge.wait_ns,
        "ended": edge.ended,
    }


def _edge_from_json(obj: dict[str, Any]) -> BlockedEdge:
    owner = None
    if obj.get("owner_tid") is not None:
        owner = TaskRef(int(obj["owner_tid"]), str(obj.get("owner_comm") or ""), obj.get("owner_prio"))
    return BlockedEdge(
        waiter=TaskRef(int(obj["waiter_tid"]), str(obj["waiter_comm"]), obj.get("waiter_prio")),
        lock=int(obj["lock"]),
        owner=owner,
        owner_state=OwnerState(obj.get("owner_state", "unknown")),
        owner_cpu=obj.get("owner_cpu"),
        wait_ns=int(obj.get("wait_ns", 0)),
        ended=bool(obj.get("ended", False)),
    )


_SCALARS = frozenset({int, float, str, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[tuple[str, ...], bool]] = {}


def _field_names(cls: type) -> tuple[tuple[str, ...], bool]:
    """(field names, whether every field is a plain scalar), looked up once per dataclass.

    `fields()` per object, and recursing into every number, made a 1024-CPU row take 27 ms.
    """
    known = _FIELD_NAMES.get(cls)
    if known is None:
        names = tuple(f.name for f in fields(cls))
        flat = all(set(typing.get_args(tp) or (tp,)) <= _SCALARS for tp in _hints(cls).values())
        known = _FIELD_NAMES[cls] = (names, flat)
    return known


def to_json(value: Any) -> Any:
    if value is None or (isinstance(value, int | float | str) and not isinstance(value, enum.Enum)):
        return value
    if isinstance(value, BlockedEdge):
        return _edge_to_json(value)
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        names, flat = _field_names(type(value))
        if flat:
            return {name: getattr(value, name) for name in names}
        return {name: to_json(getattr(value, name)) for name in names}
    return value


def sample_to_json(sample: Sample) -> dict[str, Any]:
    obj = to_json(sample)
    obj["time_iso"] = iso_time(sample.time)
    return obj


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def from_json(tp: Any, value: Any) -> Any:
    """Rebuild a value of type `tp` (a model dataclass, enum, tuple, optional or scalar) from JSON."""
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return from_json(inner[0], value)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_json(args[0], v) for v in value)
        return tuple(from_json(a, v) for a, v in zip(args, value, strict=True))
    if tp is BlockedEdge:
        return _edge_from_json(value)
    if isinstance(tp, type) and is_dataclass(tp):
        hints = _hints(tp)
        kwargs = {f.name: from_json(hints[f.name], value[f.name]) for f in fields(tp) if f.name in value}
        return tp(**kwargs)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if tp is float:
        return float(value)
    if tp is int and not isinstance(value, bool):
        return int(value)
    if tp is str and not isinstance(value, str):
        raise TypeError(f"expected text, got {value!r}")
    return value


def sample_from_json(obj: dict[str, Any]) -> Sample:
    return from_json(Sample, obj)


# --- input --------------------------------------------------------------------------------------


def recording_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) of a recording; a missing or unreadable file is a one-line RecordError."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            yield from enumerate(handle, start=1)
    except FileNotFoundError:
        raise RecordError(f"{path}: no such recording (record one with: scxtop log --jsonl {path})") from None
    except IsADirectoryError:
        raise RecordError(f"{path}: is a directory, not a recording") from None
    except UnicodeDecodeError:
        raise RecordError(f"{path}: not a text recording (CSV or JSONL expected)") from None
    except OSError as err:
        raise RecordError(f"{path}: cannot read: {err.strerror}") from None


def read_jsonl(path: Path) -> list[Sample]:
    samples = []
    for lineno, line in recording_lines(path):
        if not line.strip():
            continue
        try:
            samples.append(sample_from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
            detail = str(err).splitlines()[0][:80] if str(err) else type(err).__name__
            raise RecordError(f"{path}:{lineno}: broken JSONL recording ({detail})") from None
    return samples


def _parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _opt(cast: type, text: str) -> Any:
    return None if text == "" else cast(text)


def _csv_sample(row: dict[str, str], ncpus: int, previous: Sample | None) -> Sample:
    elapsed = float(row["elapsed_s"])
    interval = elapsed - previous.elapsed_s if previous else elapsed
    cpus = tuple(
        CpuStats(
            cpu=cpu,
            rq=_opt(float, row[f"cpu{cpu}_rq"]),
            util=_opt(float, row[f"cpu{cpu}_util"]),
            csw=_opt(int, row[f"cpu{cpu}_csw"]),
            mig_in=_opt(int, row[f"cpu{cpu}_mig_in"]),
            mig_out=_opt(int, row[f"cpu{cpu}_mig_out"]),
        )
        for cpu in range(ncpus)
    )
    state = row["scx_state"] or None
    return Sample(
        time=_parse_time(row["time"]),
        elapsed_s=elapsed,
        interval_s=interval if interval > 0 else 1.0,
        source="csv",
        cpus=cpus,
        scx=SchedExtState(supported=state is not None, state=state, ops=row["scx_ops"] or None),
        limitations=("CSV recording: per-CPU values only (migrations, chains, latency need JSONL)",),
    )


def read_csv(path: Path) -> list[Sample]:
    """Our CSV back as Samples (per-CPU values and sched_ext state; the summary columns are derived)."""
    lines = recording_lines(path)
    samples: list[Sample] = []
    header: list[str] | None = None
    ncpus = 0
    for lineno, line in lines:
        if not line.strip():
            continue
        cells = next(csv.reader([line]))
        if header is None:
            header = cells
            ncpus = (len(cells) - 2 - len(TAIL_COLUMNS)) // len(CPU_COLUMNS)
            if ncpus < 0 or cells != csv_header(ncpus):
                raise RecordError(f"{path}:{lineno}: not an scxtop CSV header (time,elapsed_s,cpu0_rq,...)")
            continue
        if len(cells) != len(header):
            raise RecordError(f"{path}:{lineno}: broken CSV row ({len(cells)} cells, header {len(header)})")
        try:
            row = dict(zip(header, cells, strict=True))
            samples.append(_csv_sample(row, ncpus, samples[-1] if samples else None))
        except ValueError as err:
            raise RecordError(f"{path}:{lineno}: broken CSV row ({str(err)[:80]})") from None
    return samples

