"""CSV and JSONL recordings: columns, exact JSONL round trip, whole rows on a full disk."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from samples import full_sample, procfs_like_sample

from scxtop.errors import ScxtopError
from scxtop.recording import CsvWriter, JsonlWriter, csv_header, read_csv, read_jsonl, sample_to_json
from scxtop.recording.jsonl import FORMAT_VERSION, RecordKind, read_records


def write_all(writer, samples) -> None:
    try:
        for s in samples:
            writer.write(s)
    finally:
        writer.close()


def test_csv_header_is_the_documented_stable_columns():
    assert csv_header(2) == [
        "time", "elapsed_s",
        "cpu0_rq", "cpu0_util", "cpu0_csw", "cpu0_mig_in", "cpu0_mig_out",
        "cpu1_rq", "cpu1_util", "cpu1_csw", "cpu1_mig_in", "cpu1_mig_out",
        "migrations", "blocked_tasks", "chains", "max_chain_depth", "inversions", "scx_state", "scx_ops",
    ]


def test_csv_rows_carry_values_and_empty_cells_for_unseen(tmp_path: Path):
    path = tmp_path / "out.csv"
    write_all(CsvWriter(path), [full_sample(0), procfs_like_sample(0)])
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 2
    full, bare = rows
    assert full["time"] == "2025-11-22T04:16:40.250Z"
    cpu0 = (full["cpu0_rq"], full["cpu0_util"], full["cpu0_csw"], full["cpu0_mig_in"])
    assert cpu0 == ("2.5", "97.25", "1200", "3")
    assert full["migrations"] == "4"
    assert full["blocked_tasks"] == "2"  # the ended wait is not counted
    # One chain A->B->C; C is runnable with an unknown prio: one 'preempted' inversion.
    assert (full["chains"], full["max_chain_depth"], full["inversions"]) == ("1", "3", "1")
    assert (full["scx_state"], full["scx_ops"]) == ("enabled", "bpfland_1.0.0")
    assert bare["cpu0_rq"] == "1.0" and bare["cpu0_csw"] == ""
    assert all(bare[k] == "" for k in ("migrations", "blocked_tasks", "chains", "inversions", "scx_state"))


def test_jsonl_round_trips_every_field_exactly(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    samples = [full_sample(0), full_sample(1), procfs_like_sample(0)]
    write_all(JsonlWriter(path), samples)
    assert read_jsonl(path) == samples


def test_jsonl_blocked_edges_and_migrators_use_flat_documented_keys(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    write_all(JsonlWriter(path), [full_sample(0)])
    obj = json.loads(path.read_text().splitlines()[0])
    edge = obj["blocked"][0]
    keys = ("waiter_tid", "waiter_comm", "owner_tid", "owner_comm", "lock", "wait_ns")
    assert {k: edge[k] for k in keys} == {
        "waiter_tid": 4101, "waiter_comm": "chainA", "owner_tid": 4102, "owner_comm": 'chain,B "q"',
        "lock": 0xFFFF88810A2B3C00, "wait_ns": 2_500_000}
    assert obj["top_migrators"] == [{"pid": 555, "comm": "flipper", "count": 4}]
    assert obj["wakeup_latency"]["buckets"][2] == {"low_us": 2, "high_us": 4, "count": 9}
    assert obj["cpus"][1]["util"] == 3.0
    assert obj["scx"]["ops"] == "bpfland_1.0.0" and obj["scx_events"][0]["kind"] == "switched"
    assert obj["time_iso"] == "2025-11-22T04:16:40.250Z"


def test_csv_reads_back_per_cpu_values(tmp_path: Path):
    path = tmp_path / "out.csv"
    write_all(CsvWriter(path), [full_sample(0), full_sample(1)])
    back = read_csv(path)
    assert [s.cpus[0].rq for s in back] == [2.5, 2.5]
    assert [s.cpus[1].csw for s in back] == [80, 81]
    assert back[1].interval_s == 1.0 and back[0].time == full_sample(0).time
    assert back[0].scx.ops == "bpfland_1.0.0"


def test_every_row_is_on_disk_as_soon_as_written(tmp_path: Path):
    path = tmp_path / "out.csv"
    writer = CsvWriter(path)
    writer.write(full_sample(0))
    # Read through another file description before close: nothing buffered in our process.
    assert len(path.read_text().splitlines()) == 2
    writer.write(full_sample(1))
    assert len(path.read_text().splitlines()) == 3
    writer.close()


def test_unwritable_path_is_a_one_line_error(tmp_path: Path):
    with pytest.raises(ScxtopError) as err:
        CsvWriter(tmp_path / "missing-dir" / "out.csv")
    assert "\n" not in str(err.value) and "create the directory" in str(err.value)


@pytest.mark.parametrize("writer_cls,reader", [(CsvWriter, read_csv), (JsonlWriter, read_jsonl)])
def test_full_disk_keeps_every_whole_row(tiny_disk: Path, writer_cls, reader):
    path = tiny_disk / "out"
    writer = writer_cls(path)
    written = []
    with pytest.raises(ScxtopError) as err:
        for n in range(10_000):
            sample = full_sample(n)
            writer.write(sample)
            written.append(sample)
    writer.close()
    assert "No space left on device" in str(err.value) and "\n" not in str(err.value)
    assert written, "the disk filled before the first row"
    text = path.read_text()
    assert text.endswith("\n")
    back = reader(path)
    assert len(back) == len(written)
    if reader is read_jsonl:
        assert back == written


def test_dev_full_is_a_one_line_error():
    writer = CsvWriter("/dev/full")
    with pytest.raises(ScxtopError) as err:
        writer.write(full_sample(0))
    writer.close()
    assert str(err.value).startswith("cannot write /dev/full: No space left on device")


@pytest.mark.parametrize("content", ['{"time": 1}\n', '{"x": 1}\n', "not json\n", '{"cpus": "x"}\n'])
def test_broken_jsonl_names_the_line(tmp_path: Path, content: str):
    path = tmp_path / "bad.jsonl"
    good = json.dumps(sample_to_json(full_sample(0)))
    path.write_text(good + "\n" + content)
    with pytest.raises(ScxtopError) as err:
        read_jsonl(path)
    assert ":2:" in str(err.value) and "\n" not in str(err.value)


def test_broken_csv_row_names_the_line(tmp_path: Path):
    path = tmp_path / "bad.csv"
    write_all(CsvWriter(path), [full_sample(0)])
    with path.open("a") as f:
        f.write("2025-11-22T04:16:41Z,2.0,1\n")
    with pytest.raises(ScxtopError, match=r"bad.csv:3: broken CSV row"):
        read_csv(path)


def test_every_jsonl_record_carries_the_format_version_and_old_records_still_read(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    write_all(JsonlWriter(path), [full_sample(0), full_sample(1)])
    lines = path.read_text().splitlines()
    assert [json.loads(line)["format_version"] for line in lines] == [FORMAT_VERSION] * 2
    old = tmp_path / "old.jsonl"  # written before the version existed
    old.write_text("".join(line.replace(f'"format_version":{FORMAT_VERSION},', "") + "\n" for line in lines))
    assert "format_version" not in old.read_text()
    assert read_jsonl(old) == [full_sample(0), full_sample(1)]


@dataclass(frozen=True, slots=True)
class _Note:
    """A record of another kind, as write_record takes them: a frozen dataclass with a `time`."""

    time: float
    text: str


def test_other_record_kinds_carry_the_format_version_too(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    writer = JsonlWriter(path)
    writer.write(full_sample(0))
    writer.write_record(RecordKind.SWITCH_REPORT, _Note(1.0, "switched"))
    writer.write_record(RecordKind.COMPARE_RUN, _Note(2.0, "compared"))
    writer.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [obj["format_version"] for obj in lines] == [FORMAT_VERSION] * 3
    assert read_records(path, RecordKind.COMPARE_RUN, _Note) == [_Note(2.0, "compared")]
    newer = {**lines[2], "format_version": FORMAT_VERSION + 1}
    path.write_text("\n".join(json.dumps(obj) for obj in [*lines[:2], newer]) + "\n")
    with pytest.raises(ScxtopError, match=r"out.jsonl:3: .*format_version"):
        read_records(path, RecordKind.COMPARE_RUN, _Note)
    assert read_records(path, RecordKind.SWITCH_REPORT, _Note) == [_Note(1.0, "switched")]


def test_a_cut_off_last_record_is_dropped_with_a_warning_never_read(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    writer = JsonlWriter(path)
    writer.write_record(RecordKind.COMPARE_RUN, _Note(1.0, "first"))
    writer.write_record(RecordKind.COMPARE_RUN, _Note(2.0, "second"))
    writer.close()
    whole = path.read_text()
    path.write_text(whole[:-1])  # a complete JSON object, but the recorder stopped before the newline
    warnings: list[str] = []
    assert read_records(path, RecordKind.COMPARE_RUN, _Note, warnings) == [_Note(1.0, "first")]
    assert warnings == [f"{path}:2: the last line is cut off (the recorder stopped mid-write); "
                        "loaded 1 records"]
    with pytest.raises(ScxtopError, match=r"out.jsonl:2: the last line is cut off"):
        read_records(path, RecordKind.COMPARE_RUN, _Note)


@pytest.mark.parametrize("version", [FORMAT_VERSION + 1, "1", True, None])
def test_jsonl_from_a_newer_or_unknown_format_is_refused_naming_the_line(tmp_path: Path, version: object):
    good = json.dumps(sample_to_json(full_sample(0)), separators=(",", ":"))
    newer = json.dumps({**sample_to_json(full_sample(0)), "format_version": version})
    path = tmp_path / "newer.jsonl"
    path.write_text(good + "\n" + newer + "\n")
    with pytest.raises(ScxtopError) as err:
        read_jsonl(path)
    assert ":2:" in str(err.value) and "format_version" in str(err.value) and "\n" not in str(err.value)
