"""Fuzzing the readers of what others control, with hypothesis: whatever the input, the result is a
sample (a record) or a ScxtopError, never another exception (issue 12).

Bounded for CI: FUZZ runs a fixed, derandomized set of examples per test (no example database,
no deadline), about 20 s for the file. HYPOTHESIS_EXAMPLES raises the count for a longer run.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from samples import full_sample

from scxtop.bpftrace.records import parse_record
from scxtop.errors import ScxtopError
from scxtop.kernel.bounds import MAX_TIME
from scxtop.kernel.scx_journal import SwitchJournal
from scxtop.model import Sample
from scxtop.recording import CsvWriter, JsonlWriter, Recording, load_recording
from scxtop.recording.jsonl import sample_to_json
from scxtop.sched_ext import journal

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
WORK = Path(tempfile.mkdtemp(prefix="scxtop-fuzz-"))

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=20)


def _good_lines(kind: str) -> list[str]:
    path = WORK / f"good.{kind}"
    writer = (JsonlWriter if kind == "jsonl" else CsvWriter)(path)
    for i in range(3):
        writer.write(full_sample(i))
    writer.close()
    return path.read_text().splitlines(keepends=True)


GOOD_JSONL = _good_lines("jsonl")
GOOD_CSV = _good_lines("csv")


def _load(data: bytes) -> Recording | None:
    path = WORK / "fuzzed"
    path.write_bytes(data)
    try:
        recording = load_recording(path)
    except ScxtopError as err:
        assert "\n" not in str(err)
        return None
    assert recording.samples and all(isinstance(s, Sample) for s in recording.samples)
    return recording


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes_load_or_fail_cleanly(data: bytes):
    _load(data)


def _mutated(lines: list[str], data: st.DataObject) -> bytes:
    text = "".join(lines)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 40)))
    insert = data.draw(st.one_of(st.text(max_size=20), st.sampled_from(
        ["NaN", "1e999", "-1", "9" * 40, "[", "{", "}", "\"", ",", "\n", "null", "\x00", "1e300", "\r",
         "\t", "CPU99999", "23:59:59", "9999-12-31T23:59:59"])))
    return (text[:start] + insert + text[end:]).encode("utf-8", "surrogatepass")


@FUZZ
@given(st.data())
def test_mutated_jsonl_recordings_load_or_fail_cleanly(data: st.DataObject):
    _load(_mutated(GOOD_JSONL, data))


@FUZZ
@given(st.data())
def test_mutated_csv_recordings_load_or_fail_cleanly(data: st.DataObject):
    _load(_mutated(GOOD_CSV, data))


GOOD_RQLEN = ["Attaching 3 probes...\n", "[   Timestamp],CPU  0,CPU  1,CPU128,\n",
              *(f"[{i * 20_000_000:12d}],  {i % 4},  0,  {i % 2},\n" for i in range(1, 4)),
              "@runqlen[0]: 5\n"]


@FUZZ
@given(st.data())
def test_mutated_rqlen_recordings_load_or_fail_cleanly(data: st.DataObject):
    _load(_mutated(GOOD_RQLEN, data))


@FUZZ
@given(st.sampled_from(sorted(sample_to_json(full_sample(0)).keys())), json_values)
def test_any_value_in_any_jsonl_field_loads_or_fails_cleanly(field: str, value: object):
    obj = sample_to_json(full_sample(5))
    obj[field] = value
    _load((GOOD_JSONL[0] + json.dumps(obj) + "\n").encode())


GOOD_RECORD = {"time": 1.0, "target": "scx_a", "previous": None, "ok": True, "seconds": 0.5,
               "backend": "direct", "enable_seq_after": 2, "message": "", "pid": 1, "started": 1.0,
               "phase": "begin"}
one_field_off = st.builds(lambda field, value: json.dumps({**GOOD_RECORD, field: value}).encode(),
                          st.sampled_from(sorted(GOOD_RECORD)), json_values)
"""A well-formed record but for one field: random dictionaries are almost never that close."""


@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode()),
                          one_field_off,
                          st.fixed_dictionaries({
                              "time": json_scalars, "target": json_values, "previous": json_values,
                              "ok": json_values, "seconds": json_scalars, "backend": json_values,
                              "enable_seq_after": json_values, "message": json_values,
                          }, optional={
                              "pid": json_values, "started": json_values,
                              "phase": st.one_of(st.sampled_from(["begin", "end"]), json_values),
                          }).map(lambda d: json.dumps(d).encode())), max_size=8))
def test_the_journal_reader_returns_only_well_formed_records(lines: list[bytes]):
    run_dir = WORK / "run"
    run_dir.mkdir(mode=0o700, exist_ok=True)
    journal.journal_path(run_dir).write_bytes(b"\n".join(lines) + b"\n")
    for record in journal.records(run_dir):
        assert isinstance(record.target, str) and isinstance(record.ok, bool)
        assert 0 <= record.time <= MAX_TIME
    journal.last_switch_times(run_dir)
    follower = SwitchJournal(run_dir)  # the sched_ext tracker's reader, in every source
    follower.poll()
    follower.active_between(0.0, MAX_TIME)


bpftrace_records = st.fixed_dictionaries(
    {"type": st.sampled_from(["attached_probes", "lost_events", "map", "hist", "stats", "printf", "time",
                              "value", "error", "helper_error", "other"])},
    optional={"data": json_values, "count": json_values},
)


@FUZZ
@given(st.one_of(st.text(max_size=200), bpftrace_records.map(json.dumps)))
def test_the_bpftrace_json_parser_gives_a_record_or_a_scxtop_error(line: str):
    try:
        parse_record(line)
    except ScxtopError as err:
        assert "\n" not in str(err)


def test_deep_nesting_in_bpftrace_output_is_a_scxtop_error():
    for line in ('{"type":"map","data":{"@m":' + "[" * 100_000 + "]" * 100_000 + "}}", "[" * 100_000):
        with pytest.raises(ScxtopError, match="nested too deeply"):
            parse_record(line)
