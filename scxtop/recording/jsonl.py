"""scxtop's JSONL: one object per Sample with everything in it; reading gives the same Sample back.

The codec is generic over the model's dataclasses (their field names are the format), except
blocked edges, which are flat objects (waiter_tid, waiter_comm, owner_tid, ...) so that jq and
spreadsheets can read them. Every record carries `format_version`; records without one (written
before it existed) are version 1.

A line may also be another kind of record, named by its `record` key (`RecordKind`): a
`switch_report` after a scheduler change, a `compare_run` from `scxtop compare`. Sample lines
carry no such key, so files written before record kinds read as they did; readers of samples
skip the other kinds.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from scxtop.kernel.bounds import printable
from scxtop.model import BlockedEdge, OwnerState, Sample, TaskRef
from scxtop.recording.common import (
    RecordError,
    check_number,
    check_sample,
    drop_cut_off,
    is_cut_off,
    iso_time,
    recording_lines,
)
from scxtop.recording.sink import RowSink

FORMAT_VERSION = 1
"""Bump when a record changes in a way this reader's predecessors cannot read (a field renamed,
removed or retyped); new fields with defaults need no bump."""


class RecordKind(enum.StrEnum):
    SAMPLE = "sample"
    SWITCH_REPORT = "switch_report"
    COMPARE_RUN = "compare_run"


RECORD_KEY = "record"


def record_kind(obj: dict[str, Any]) -> str:
    """The kind of a decoded line; a line without a `record` key is a Sample."""
    return str(obj.get(RECORD_KEY, RecordKind.SAMPLE))


class JsonlWriter:
    """One JSON object per Sample with everything in it; `read_jsonl` gives the same Sample back."""

    def __init__(self, target: str | Path) -> None:
        self._sink = RowSink(target)

    def write(self, sample: Sample) -> None:
        self._sink.write_line(json.dumps(sample_to_json(sample), separators=(",", ":")))

    def write_record(self, kind: RecordKind, record: Any) -> None:
        """Another kind of record (a model-style frozen dataclass with a `time` field)."""
        obj = {RECORD_KEY: kind.value, **to_json(record), "format_version": FORMAT_VERSION}
        if isinstance(obj.get("time"), float):
            obj["time_iso"] = iso_time(obj["time"])
        self._sink.write_line(json.dumps(obj, separators=(",", ":")))

    def close(self) -> None:
        self._sink.close()


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
        owner_comm = printable(str(obj.get("owner_comm") or ""))
        owner = TaskRef(int(obj["owner_tid"]), owner_comm, obj.get("owner_prio"))
    return BlockedEdge(
        waiter=TaskRef(int(obj["waiter_tid"]), printable(str(obj["waiter_comm"])), obj.get("waiter_prio")),
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
    obj: dict[str, Any] = to_json(sample)
    obj["format_version"] = FORMAT_VERSION
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
        kwargs = {}
        for name in _field_names(tp)[0]:
            if name in value:
                try:
                    kwargs[name] = from_json(hints[name], value[name])
                except (ValueError, OverflowError) as err:  # name the field: "cpus: cpu: ..."
                    raise ValueError(f"{name}: {err}") from None
        return tp(**kwargs)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if tp is float:
        number = float(value)
        check_number(number, "the value")
        return number
    if tp is int and not isinstance(value, bool):
        number = int(value)
        check_number(number, "the value")
        return number
    if tp is str:
        if not isinstance(value, str):
            raise TypeError(f"expected text, got {value!r}")
        return printable(value)  # a recording's text reaches a terminal: no ESC, CR, ...
    return value


def check_format_version(obj: dict[str, Any]) -> None:
    """ValueError for a record of a format this reader does not know (absent: version 1)."""
    version = obj.get("format_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        raise ValueError(f"format_version {version!r}: written by a newer scxtop, this one reads "
                         f"up to {FORMAT_VERSION}; upgrade scxtop")


def sample_from_json(obj: dict[str, Any]) -> Sample:
    check_format_version(obj)
    sample: Sample = from_json(Sample, obj)
    return sample


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a finite number")


def _decode(line: str) -> dict[str, Any]:
    """One JSONL line as a JSON object; ValueError says what is wrong."""
    try:
        obj = json.loads(line, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(obj, dict):
        raise ValueError(f"a JSON object expected, got {type(obj).__name__}")
    return obj


def parse_sample_line(line: str) -> Sample | None:
    """One JSONL line as a checked Sample, None for a line of another record kind; ValueError (or
    RecordError) says what is wrong."""
    obj = _decode(line)
    if record_kind(obj) != RecordKind.SAMPLE:
        return None
    sample = sample_from_json(obj)
    check_sample(sample)
    return sample


def read_jsonl(path: Path, warnings: list[str] | None = None) -> list[Sample]:
    """Every sample of a JSONL recording (other record kinds skipped); a cut-off last line is
    dropped with a warning."""
    samples: list[Sample] = []
    for lineno, line in recording_lines(path):
        if not line.strip():
            continue
        if is_cut_off(line):
            drop_cut_off(path, lineno, len(samples), warnings)
            break
        try:
            sample = parse_sample_line(line)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError,
                RecursionError) as err:
            detail = str(err).splitlines()[0][:80] if str(err) else type(err).__name__
            raise RecordError(f"{path}:{lineno}: broken JSONL recording ({detail})") from None
        if sample is not None:
            samples.append(sample)
    return samples


def read_records(path: Path, kind: RecordKind, tp: type, warnings: list[str] | None = None) -> list[Any]:
    """Every record of one kind, rebuilt as `tp` (a model-style dataclass); a cut-off last line
    is dropped with a warning, as for samples."""
    samples: list[Any] = []
    for lineno, line in recording_lines(path):
        if not line.strip():
            continue
        if is_cut_off(line):
            drop_cut_off(path, lineno, len(samples), warnings, what="records")
            break
        try:
            obj = _decode(line)
            if record_kind(obj) != kind:
                continue
            check_format_version(obj)
            samples.append(from_json(tp, obj))
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError,
                RecursionError) as err:
            detail = str(err).splitlines()[0][:80] if str(err) else type(err).__name__
            raise RecordError(f"{path}:{lineno}: broken JSONL recording ({detail})") from None
    return samples
