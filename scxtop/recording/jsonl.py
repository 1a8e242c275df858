"""scxtop's JSONL: one object per Sample with everything in it; reading gives the same Sample back.

The codec is generic over the model's dataclasses (their field names are the format), except
blocked edges, which are flat objects (waiter_tid, waiter_comm, owner_tid, ...) so that jq and
spreadsheets can read them.

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

from scxtop.model import BlockedEdge, OwnerState, Sample, TaskRef
from scxtop.recording.common import RecordError, iso_time, recording_lines
from scxtop.recording.sink import RowSink


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
        obj = {RECORD_KEY: kind.value, **to_json(record)}
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


def read_jsonl(path: Path) -> list[Sample]:
    """The samples of a recording; lines of other record kinds are skipped."""
    return read_records(path, RecordKind.SAMPLE, Sample)


def read_records(path: Path, kind: RecordKind, tp: type) -> list[Any]:
    """Every record of one kind, rebuilt as `tp` (a model-style dataclass)."""
    samples = []
    for lineno, line in recording_lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if record_kind(obj) != kind:
                continue
            samples.append(from_json(tp, obj))
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
            detail = str(err).splitlines()[0][:80] if str(err) else type(err).__name__
            raise RecordError(f"{path}:{lineno}: broken JSONL recording ({detail})") from None
    return samples
