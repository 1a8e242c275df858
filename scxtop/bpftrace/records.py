"""bpftrace's NDJSON output (`-f json`) as typed records, for 0.17 and the 0.2x releases.

One line is one record. The shapes differ between generations: `attached_probes` and
`lost_events` carry `data.probes`/`data.events` up to 0.23 and a top-level `count` from 0.24
(the newest drop `data`); integers that a double cannot hold arrive as strings in 0.2x; floats
may be `null`; histogram buckets may lack `min` (the first) or `max` (the last). `parse_record`
accepts all of them and returns one dataclass per record type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TypeGuard

from scxtop.bpftrace.errors import BpftraceError

Scalar = int | float | str | bool | None
Value = Scalar | tuple["Value", ...] | dict[str, "Value"]


@dataclass(frozen=True, slots=True)
class AttachedProbes:
    count: int


@dataclass(frozen=True, slots=True)
class LostEvents:
    count: int


@dataclass(frozen=True, slots=True)
class MapEntry:
    """One key of a map; `key` is bpftrace's text (tuple keys joined by commas, "" for a scalar map)."""

    key: str
    value: Value

    def key_fields(self, n: int) -> tuple[str, ...]:
        """The key split into `n` fields; the last keeps any commas (string fields go last)."""
        return tuple(self.key.split(",", n - 1)) if n > 1 else (self.key,)


def by_int_key(entries: tuple[MapEntry, ...] | list[MapEntry]) -> dict[int, Value]:
    """Entries of a map keyed by one integer (a CPU, a tid), as {key: value}; other keys skipped."""
    out: dict[int, Value] = {}
    for e in entries:
        try:
            out[int(e.key)] = e.value
        except ValueError:
            continue
    return out


@dataclass(frozen=True, slots=True)
class MapRecord:
    name: str
    entries: tuple[MapEntry, ...]


@dataclass(frozen=True, slots=True)
class HistBucket:
    """Values in [low, high] (both inclusive, as bpftrace prints them); None = unbounded."""

    low: int | None
    high: int | None
    count: int


@dataclass(frozen=True, slots=True)
class HistRecord:
    name: str
    hists: tuple[tuple[str, tuple[HistBucket, ...]], ...]
    """(key, buckets) pairs; the key is "" for an unkeyed histogram."""

    def buckets(self, key: str = "") -> tuple[HistBucket, ...]:
        return next((b for k, b in self.hists if k == key), ())


@dataclass(frozen=True, slots=True)
class StatsValue:
    count: int | None
    average: float | None
    total: int | None


@dataclass(frozen=True, slots=True)
class StatsRecord:
    """stats() maps (count/average/total) and avg() maps (just the average)."""

    name: str
    entries: tuple[tuple[str, StatsValue], ...]


@dataclass(frozen=True, slots=True)
class PrintfRecord:
    text: str


@dataclass(frozen=True, slots=True)
class TextRecord:
    """time(), cat(), join(), system() output."""

    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class ValueRecord:
    """print() of a non-map value (0.2x)."""

    value: Value


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    """helper_error, runtime_error, print_error and any other `*error` record."""

    kind: str
    message: str
    helper: str | None = None
    retcode: int | None = None
    line: int | None = None
    col: int | None = None


@dataclass(frozen=True, slots=True)
class UnknownRecord:
    """A record type this module does not know (a newer bpftrace); kept, never fatal."""

    kind: str
    raw: str


Record = (
    AttachedProbes
    | LostEvents
    | MapRecord
    | HistRecord
    | StatsRecord
    | PrintfRecord
    | TextRecord
    | ValueRecord
    | ErrorRecord
    | UnknownRecord
)

TEXT_KINDS = frozenset({"time", "cat", "join", "syscall"})


def _number(v: object) -> Scalar:
    """0.2x prints integers a double cannot hold as strings: turn those back into ints."""
    if isinstance(v, str):
        try:
            return int(v)
        except ValueError:
            return v
    # Parsed JSON: a scalar here (lists and maps go to _value).
    return v  # type: ignore[return-value]


def _value(v: object) -> Value:
    if isinstance(v, list):
        return tuple(_value(x) for x in v)
    if isinstance(v, dict):
        return {k: _value(x) for k, x in v.items()}
    return _number(v)


def _int(v: object, default: int | None = 0) -> int | None:
    v = _number(v)
    if isinstance(v, bool) or v is None:
        return default
    if isinstance(v, int | float):
        return int(v)
    return default


def _count(obj: dict[str, object], data_key: str) -> int:
    if "count" in obj:
        return _int(obj["count"]) or 0
    data = obj.get("data")
    return _int(data.get(data_key)) or 0 if isinstance(data, dict) else 0


def _named(obj: dict[str, object]) -> tuple[str, object]:
    data = obj.get("data")
    if isinstance(data, dict) and len(data) == 1:
        ((name, value),) = data.items()
        return name, value
    raise ValueError(f"expected one named map in {obj.get('type')} record")


def _is_bucket_list(v: object) -> TypeGuard[list[dict[str, object]]]:
    return isinstance(v, list) and all(isinstance(b, dict) and "count" in b for b in v)


def _buckets(v: list[dict[str, object]]) -> tuple[HistBucket, ...]:
    return tuple(
        HistBucket(low=_int(b.get("min"), None), high=_int(b.get("max"), None), count=_int(b["count"]) or 0)
        for b in v
    )


def _hist(obj: dict[str, object]) -> HistRecord:
    name, value = _named(obj)
    if _is_bucket_list(value):
        return HistRecord(name, (("", _buckets(value)),))
    assert isinstance(value, dict)
    return HistRecord(name, tuple((k, _buckets(v)) for k, v in value.items()))


def _stats_value(v: object) -> StatsValue:
    if isinstance(v, dict):
        avg = _number(v.get("average"))
        return StatsValue(
            count=_int(v.get("count"), None),
            average=float(avg) if isinstance(avg, int | float) else None,
            total=_int(v.get("total"), None),
        )
    avg = _number(v)
    return StatsValue(count=None, average=float(avg) if isinstance(avg, int | float) else None, total=None)


def _stats(obj: dict[str, object]) -> StatsRecord:
    name, value = _named(obj)
    if isinstance(value, dict) and not {"count", "average", "total"} >= value.keys():
        return StatsRecord(name, tuple((k, _stats_value(v)) for k, v in value.items()))
    if isinstance(value, dict) and not value:
        return StatsRecord(name, ())
    return StatsRecord(name, (("", _stats_value(value)),))


def _map(obj: dict[str, object]) -> MapRecord:
    name, value = _named(obj)
    if isinstance(value, dict):
        return MapRecord(name, tuple(MapEntry(k, _value(v)) for k, v in value.items()))
    return MapRecord(name, (MapEntry("", _value(value)),))


def _error(obj: dict[str, object]) -> ErrorRecord:
    raw = obj.get("data")
    data: dict[str, object] = raw if isinstance(raw, dict) else obj
    return ErrorRecord(
        kind=str(obj.get("type")),
        message=str(data.get("msg", data.get("message", ""))),
        helper=None if data.get("helper") is None else str(data.get("helper")),
        retcode=_int(data.get("retcode"), None),
        line=_int(data.get("line"), None),
        col=_int(data.get("col"), None),
    )


class BadRecord(BpftraceError, ValueError):
    """A line that is not a bpftrace record (a ValueError too, for callers that catch that)."""


def parse_record(line: str) -> Record | None:
    """One NDJSON line -> a record; None for blank lines (bpftrace prints some at exit).

    Raises BadRecord (a ScxtopError and a ValueError) for a line that is not a record, whatever
    it holds (fuzzed in tests/test_fuzz_readers.py); the caller decides whether that is fatal.
    """
    try:
        return _parse_record(line)
    except BadRecord:
        raise
    except RecursionError:
        raise BadRecord(f"bpftrace record nested too deeply: {_excerpt(line)}") from None
    except (ValueError, TypeError, KeyError, AttributeError, AssertionError, OverflowError) as err:
        detail = str(err).splitlines()[0][:80] if str(err) else type(err).__name__
        raise BadRecord(f"not a bpftrace record ({_one_line(detail)}): {_excerpt(line)}") from None


def _parse_record(line: str) -> Record | None:
    line = line.strip()
    if not line:
        return None
    obj = json.loads(line)
    if not isinstance(obj, dict):
        raise ValueError(f"not a bpftrace record: {line[:80]}")
    kind = str(obj.get("type", ""))
    if kind == "attached_probes":
        return AttachedProbes(_count(obj, "probes"))
    if kind == "lost_events":
        return LostEvents(_count(obj, "events"))
    if kind == "map":
        return _map(obj)
    if kind == "hist":
        return _hist(obj)
    if kind == "stats":
        return _stats(obj)
    if kind == "printf":
        return PrintfRecord(str(obj.get("data", "")))
    if kind in TEXT_KINDS:
        return TextRecord(kind, str(obj.get("data", "")))
    if kind == "value":
        return ValueRecord(_value(obj.get("data")))
    if kind.endswith("error"):
        return _error(obj)
    return UnknownRecord(kind, line)


def _one_line(text: str) -> str:
    """`text` with every run of whitespace (newlines too) as one space: errors are one line."""
    return " ".join(text.split())


def _excerpt(line: str) -> str:
    return _one_line(line[:80])
