"""Hostile and broken files: a one-line error naming the line, never a traceback (issue 12).

Each case crashed a command before: deep nesting (RecursionError), 1e999 / 1e300 (OverflowError),
NaN runqueues, a 200 MB single-line CSV (csv field limit), /dev/zero (MemoryError), a switch
journal with garbage, and a recording cut off mid-line refused all its good lines.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from samples import full_sample

from scxtop.recording import CsvWriter, JsonlWriter, RecordError, load_recording
from scxtop.recording.common import MAX_CPUS
from scxtop.recording.jsonl import sample_to_json
from scxtop.sched_ext import journal

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scxtop", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, **env})


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done.stdout
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("scxtop: "), done.stderr
    return done.stderr


def recorded(writer: JsonlWriter | CsvWriter, path: Path, count: int) -> Path:
    """`count` full samples written by `writer` into `path`, as `scxtop log` writes them."""
    for i in range(count):
        writer.write(full_sample(i))
    writer.close()
    return path


def jsonl(path: Path, count: int = 3) -> Path:
    return recorded(JsonlWriter(path), path, count)


def with_line(path: Path, line: str, count: int = 2) -> Path:
    jsonl(path, count)
    with path.open("a") as f:
        f.write(line + "\n")
    return path


def good_obj() -> dict:
    return sample_to_json(full_sample(9))


@pytest.mark.parametrize(
    ("name", "line", "expect"),
    [
        ("nested", None, "nested too deeply"),
        ("nested_obj", None, "nested too deeply"),
        ("cpu_1e999", None, "cpu"),
        ("time_1e300", None, "time"),
        ("time_nan", None, "NaN is not a finite number"),
        ("rq_nan", None, "NaN is not a finite number"),
        ("rq_infinity", None, "Infinity is not a finite number"),
        ("garbage", "\x00\x01\x02 not json", "broken JSONL"),
        ("cpu_far", None, f"limit of {MAX_CPUS} CPUs"),
    ],
)
def test_hostile_jsonl_lines_are_one_line_errors(tmp_path: Path, name: str, line: str | None, expect: str):
    obj = good_obj()
    if name == "nested":
        line = "[" * 200_000 + "]" * 200_000
    elif name == "nested_obj":
        line = '{"a":' * 100_000 + "1" + "}" * 100_000
    elif name == "cpu_1e999":
        line = json.dumps(obj).replace('"cpu":0,', '"cpu":1e999,').replace('"cpu": 0,', '"cpu": 1e999,')
        assert "1e999" in line
    elif name == "time_1e300":
        obj["time"] = 1e300
    elif name == "time_nan":
        line = json.dumps({**obj, "time": float("nan")})
    elif name == "rq_nan":
        line = json.dumps(obj).replace(f'"rq": {json.dumps(obj["cpus"][0]["rq"])}', '"rq": NaN', 1)
        assert "NaN" in line
    elif name == "rq_infinity":
        line = json.dumps(obj).replace(f'"rq": {json.dumps(obj["cpus"][0]["rq"])}', '"rq": Infinity', 1)
    elif name == "cpu_far":
        obj["cpus"][0]["cpu"] = 999_999
    path = with_line(tmp_path / f"{name}.jsonl", line if line is not None else json.dumps(obj))
    with pytest.raises(RecordError) as info:
        load_recording(path)
    message = str(info.value)
    assert message.startswith(f"{path}:3:") and "\n" not in message and expect in message.split(":", 2)[2]
    assert expect in one_line(cli("replay", str(path)))



def test_control_characters_in_a_recordings_text_are_read_as_question_marks(tmp_path: Path):
    """A recording's names reach root's terminal (status line, sched_ext panel, report): ESC, CR
    and the other controls are read as '?'."""
    from dataclasses import replace

    from scxtop.model import SchedExtState, TaskRef

    evil = "\x1b]0;own\x07\r"
    sample = full_sample(0)
    sample = replace(sample, source=evil, limitations=(evil,), scx=replace(sample.scx, ops=evil),
                     scx_events=(replace(sample.scx_events[0], ops=evil, previous=evil, detail=evil),),
                     delayed_tasks=(replace(sample.delayed_tasks[0], comm=evil),),
                     blocked=(replace(sample.blocked[0], waiter=TaskRef(4101, evil, 100)),))
    for writer, name in ((JsonlWriter, "r.jsonl"), (CsvWriter, "r.csv")):
        path = tmp_path / name
        out = writer(path)
        out.write(sample)
        out.close()
        assert "\\u001b" in path.read_text() or "\x1b" in path.read_text()
        (loaded,) = load_recording(path).samples
        ops = loaded.scx.ops
        assert isinstance(loaded.scx, SchedExtState) and ops and ops.isprintable()
        assert ops.startswith("?]0;own?")
        if name.endswith("jsonl"):
            assert loaded.source == loaded.limitations[0] == loaded.delayed_tasks[0].comm == "?]0;own??"
            event = loaded.scx_events[0]
            assert event.ops == event.previous == event.detail == "?]0;own??"
            assert loaded.blocked[0].waiter.comm == "?]0;own??"

def test_dev_zero_is_refused_at_the_line_cap():
    with pytest.raises(RecordError, match="longer than 16 MiB"):
        load_recording("/dev/zero")


def test_a_recording_beyond_the_size_limit_is_refused_before_it_is_read(tmp_path: Path):
    """Recordings are loaded whole: only the line length was capped, so a file of short lines
    was read until memory ran out. A sparse file costs no disk: its size alone refuses it."""
    from scxtop.recording.common import MAX_RECORDING_BYTES

    path = jsonl(tmp_path / "huge.jsonl", 1)
    with path.open("r+b") as f:
        f.truncate(MAX_RECORDING_BYTES + 1)
    message = one_line(cli("replay", str(path)))
    assert f"{path}: larger than 4 GiB" in message and "head -n" in message, message


def test_a_recording_without_a_size_is_counted_while_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A pipe (or a device, or a file still growing) has no size up front: the bytes read count."""
    from scxtop.recording import common

    data = jsonl(tmp_path / "r.jsonl", 10).read_bytes()
    for size, refused in ((len(data) - 1, True), (len(data), False)):
        monkeypatch.setattr(common, "MAX_RECORDING_BYTES", size)
        read_end, write_end = os.pipe()
        try:
            os.write(write_end, data)  # fits the pipe's buffer: no writer thread needed
            os.close(write_end)
            pipe = Path(f"/proc/self/fd/{read_end}")
            if refused:
                with pytest.raises(RecordError, match=f"{pipe}: larger than {size} bytes"):
                    list(common.recording_lines(pipe))
            else:
                assert len(list(common.recording_lines(pipe))) == 10
        finally:
            os.close(read_end)


def test_a_huge_single_line_csv_is_refused_at_the_line_cap(tmp_path: Path):
    path = tmp_path / "huge.csv"
    with path.open("w") as f:
        f.write("time,elapsed_s,")
        chunk = "x" * (1 << 20)
        for _ in range(200):  # 200 MB, one line
            f.write(chunk)
        f.write("\n")
    assert "longer than 16 MiB" in one_line(cli("replay", str(path)))


def test_a_long_csv_field_under_the_line_cap_is_a_line_error(tmp_path: Path):
    path = tmp_path / "field.csv"
    path.write_text("time,elapsed_s,cpu0_rq\n" + '"' + "y" * 200_000 + '",1,2\n')
    with pytest.raises(RecordError, match=f"{path}:"):
        load_recording(path)


def test_a_csv_of_a_million_cpus_is_refused_with_a_limit(tmp_path: Path):
    from scxtop.recording import csv_header

    path = tmp_path / "wide.csv"
    path.write_text(",".join(csv_header(1_000_000)) + "\n")
    message = one_line(cli("replay", str(path)))
    assert "16 MiB" in message or f"{MAX_CPUS} CPUs" in message


def test_a_csv_beyond_the_cpu_limit_under_the_line_cap_is_refused(tmp_path: Path):
    from scxtop.recording import csv_header

    path = tmp_path / "wide.csv"
    path.write_text(",".join(csv_header(MAX_CPUS + 1)) + "\n")
    with pytest.raises(RecordError, match=f"limit of {MAX_CPUS} CPUs"):
        load_recording(path)


def test_csv_nan_and_huge_values_name_the_line(tmp_path: Path):
    path = tmp_path / "r.csv"
    writer = CsvWriter(path)
    for i in range(3):
        writer.write(full_sample(i))
    writer.close()
    lines = path.read_text().splitlines()
    cells = lines[2].split(",")
    cells[2] = "nan"  # cpu0_rq
    path.write_text("\n".join([*lines[:2], ",".join(cells)]) + "\n")
    with pytest.raises(RecordError, match=f"{path}:3:.*cpu0_rq"):
        load_recording(path)
    cells[2] = "1"
    cells[0] = "9999-12-31T23:59:59Z"
    cells[1] = "1e999"
    path.write_text("\n".join([*lines[:2], ",".join(cells)]) + "\n")
    with pytest.raises(RecordError, match=f"{path}:3:"):
        load_recording(path)


def test_a_truncated_last_line_loads_every_complete_line_with_a_warning(tmp_path: Path):
    path = jsonl(tmp_path / "cut.jsonl", 40)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])  # a crash cut the last row
    recording = load_recording(path)
    assert len(recording.samples) == 39
    assert recording.warnings and f"{path}:40" in recording.warnings[0]
    done = cli("log", "--source", f"replay:{path}", "--csv", str(tmp_path / "out.csv"))
    assert done.returncode == 0, done.stderr
    assert "warning" in done.stderr and f"{path}:40" in done.stderr



def csv_recording(path: Path, samples: int = 40) -> Path:
    return recorded(CsvWriter(path), path, samples)


def test_a_truncated_last_csv_row_loads_every_complete_row_with_a_warning(tmp_path: Path):
    """`scxtop log --csv` killed mid-write: the CSV reader dropped the cut row only when asked to,
    and load_recording never asked, so one cut row refused 39 good ones."""
    path = csv_recording(tmp_path / "cut.csv")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 25])
    recording = load_recording(path)
    assert len(recording.samples) == 39
    assert recording.warnings and f"{path}:41" in recording.warnings[0]
    done = cli("log", "--source", f"replay:{path}", "--csv", str(tmp_path / "out.csv"))
    assert done.returncode == 0 and f"warning: {path}:41" in done.stderr, done.stderr


RQLEN = "[   Timestamp],CPU  0,CPU  1,\n" + "".join(
    f"[{i * 20_000_000:12d}],  1,  {i % 3},\n" for i in range(1, 41))


def test_a_truncated_last_rqlen_row_loads_every_complete_row_with_a_warning(tmp_path: Path):
    path = tmp_path / "cut.csv"
    path.write_text(RQLEN[:-5])
    recording = load_recording(path)
    assert recording.format == "rqlen" and len(recording.samples) == 39
    assert recording.warnings and f"{path}:41" in recording.warnings[0]


def cut_recordings(tmp_path: Path) -> dict[str, tuple[Path, bytes]]:
    """40-sample recordings of each format, and each one's bytes cut inside its last line's final
    cell where the rest still parses (JSONL's last cell is its closing brace: only its newline goes)."""
    csv_path = csv_recording(tmp_path / "cut.csv")
    data = csv_path.read_bytes()
    csv_cut = data[: data.rindex(b",bpfland_1.0.0") + 5]  # scx_ops 'bpfl'
    rq_path = tmp_path / "cut_rq.csv"
    *rows, last = RQLEN.splitlines(keepends=True)
    assert last.endswith(",  1,\n")
    rq_data = "".join([*rows, last[:-5] + " 12,\n"]).encode()
    jsonl_path = jsonl(tmp_path / "cut.jsonl", 40)
    return {
        "csv": (csv_path, csv_cut),
        "rqlen": (rq_path, rq_data[: rq_data.rindex(b"12,")] + b"1"),  # 12 cut to 1
        "jsonl": (jsonl_path, jsonl_path.read_bytes()[:-1]),
    }


@pytest.mark.parametrize("fmt", ["csv", "rqlen", "jsonl"])
def test_a_last_line_without_its_newline_is_dropped_even_when_it_parses(tmp_path: Path, fmt: str):
    """A recorder killed mid-write leaves its last line without a newline: cut inside its final
    cell, it still parsed (to a wrong value) and was loaded without a word."""
    path, data = cut_recordings(tmp_path)[fmt]
    path.write_bytes(data)
    recording = load_recording(path)
    assert recording.format == fmt and len(recording.samples) == 39
    last = len(data.splitlines())
    assert recording.warnings == (f"{path}:{last}: the last line is cut off (the recorder stopped "
                                  f"mid-write); loaded 39 samples",)


def test_a_lone_row_without_its_newline_is_a_one_line_error(tmp_path: Path):
    path = tmp_path / "one.csv"
    path.write_text("[   Timestamp],CPU  0,\n[    20000000],  1,")
    with pytest.raises(RecordError, match=f"{path}:2: the last line is cut off.*no complete sample"):
        load_recording(path)


def test_a_carriage_return_inside_an_rqlen_row_names_the_line(tmp_path: Path):
    """A bare CR in a row escaped as _csv.Error, a traceback from `scxtop replay` and `scxtop log`."""
    path = tmp_path / "cr.csv"
    path.write_text(RQLEN.replace("  1,  2,\n", "  1,\r  2,\n", 1), newline="")
    with pytest.raises(RecordError, match=f"{path}:3: broken rqlen.bt row"):
        load_recording(path)
    done = cli("log", "--source", f"replay:{path}", "--csv", "-")
    assert f"{path}:3: broken rqlen.bt row" in one_line(done)


@pytest.mark.parametrize(("row", "expect"), [
    ("[    60000000],  1,nan,", "cpu1_rq is nan, not a finite number"),
    ("[    60000000],  1,1e999,", "cpu1_rq is inf, not a finite number"),
    ("[    60000000],  1, -3,", "cpu1_rq is -3, out of range"),
    ("[         inf],  1,  2,", "time 'inf' is inf, not a finite number"),
    ("[1e300],  1,  2,", "time '1e300' is 1e+300, out of range"),
    ("[1000000000000000.5],  1,  2,", "time is 1e+15, out of range"),  # caught once the times are known
])
def test_an_rqlen_value_error_names_the_files_line(tmp_path: Path, row: str, expect: str):
    """rqlen.bt rows were checked after loading and named by their row number ('row 3'), which
    is not the file's line once bpftrace's 'Attaching N probes...' stands above the header."""
    path = tmp_path / "bad.csv"
    path.write_text("Attaching 3 probes...\n[   Timestamp],CPU  0,CPU  1,\n[    20000000],  1,  0,\n"
                    f"[    40000000],  1,  0,\n{row}\n[    80000000],  1,  0,\n")
    with pytest.raises(RecordError, match=rf"{path}:5: broken rqlen.bt row \(.*{re.escape(expect)}"):
        load_recording(path)


def test_an_rqlen_recording_of_a_million_cpus_is_refused_at_its_header(tmp_path: Path):
    """Refused only after every row was built: 45 s and 790 MB for a 22 MB file of three rows."""
    path = tmp_path / "wide.csv"
    with path.open("w") as f:
        f.write("[   Timestamp]," + "".join(f"CPU{c:3d}," for c in range(1_000_000)) + "\n")
        for i in range(1, 4):
            f.write(f"[{i * 20_000_000:12d}]," + "  1," * 1_000_000 + "\n")
    with pytest.raises(RecordError, match=f"{path}:1: 1000000 CPUs .* limit of {MAX_CPUS} CPUs"):
        load_recording(path)
    far = tmp_path / "far.csv"
    far.write_text("[   Timestamp],CPU  0,CPU99999,\n[    20000000],  1,  1,\n")
    with pytest.raises(RecordError, match=f"{far}:1: .*limit of {MAX_CPUS} CPUs"):
        load_recording(far)

def test_an_rqlen_header_is_checked_before_any_row_is_read(tmp_path: Path):
    """The rqlen.bt reader read every line before looking at its header: a refused header came
    with the error of whatever broken or huge line followed it (or after reading all of them)."""
    path = tmp_path / "far.csv"
    path.write_bytes(b"[   Timestamp],CPU  0,CPU99999,\n[    20000000],  1,  1,\n\xff\xfe garbage\n")
    with pytest.raises(RecordError, match=f"{path}:1: .*limit of {MAX_CPUS} CPUs"):
        load_recording(path)


def test_a_broken_line_in_the_middle_is_still_an_error(tmp_path: Path):
    path = jsonl(tmp_path / "mid.jsonl", 3)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[1][:-50], lines[2]]) + "\n")
    with pytest.raises(RecordError, match=f"{path}:2:"):
        load_recording(path)


def test_binary_garbage_names_the_line(tmp_path: Path):
    path = jsonl(tmp_path / "bin.jsonl", 2)
    with path.open("ab") as f:
        f.write(b"\xff\xfe\x00garbage\n")
    with pytest.raises(RecordError, match=f"{path}:3:"):
        load_recording(path)


# ---- the switch journal -------------------------------------------------------------------------

HOSTILE_JOURNAL = [
    b"\xff\xfe\x00\x01 binary garbage",
    b"[" * 100_000 + b"]" * 100_000,
    json.dumps({"time": "soon", "target": "scx_a", "previous": None, "ok": True, "seconds": 0.1,
                "backend": "direct", "enable_seq_after": 1, "message": ""}).encode(),
    b'{"time": NaN, "target": "scx_b", "previous": null, "ok": true, "seconds": 0.1, "backend": "direct",'
    b' "enable_seq_after": 1, "message": ""}',
    json.dumps({"time": 1e300, "target": "scx_c", "previous": None, "ok": True, "seconds": 0.1,
                "backend": "direct", "enable_seq_after": 1, "message": ""}).encode(),
    json.dumps({"time": 5.0, "target": ["scx_d"], "previous": None, "ok": True, "seconds": 0.1,
                "backend": "direct", "enable_seq_after": 1, "message": ""}).encode(),
    json.dumps({"time": 5.0, "target": {"x": 1}, "previous": None, "ok": "yes", "seconds": 0.1,
                "backend": "direct", "enable_seq_after": 1, "message": ""}).encode(),
    json.dumps([1, 2, 3]).encode(),
    json.dumps({"time": 7.0, "target": "scx_good", "previous": None, "ok": True, "seconds": 0.1,
                "backend": "direct", "enable_seq_after": 1, "message": "fine"}).encode(),
]


def hostile_journal(run_dir: Path) -> Path:
    run_dir.mkdir(mode=0o700)
    path = journal.journal_path(run_dir)
    path.write_bytes(b"\n".join(HOSTILE_JOURNAL) + b"\n")
    return path


def test_the_journal_reader_skips_hostile_lines(tmp_path: Path):
    hostile_journal(tmp_path / "run")
    assert journal.last_switch_times(tmp_path / "run") == {"scx_good": 7.0}


def test_a_huge_journal_is_read_bounded(tmp_path: Path):
    path = hostile_journal(tmp_path / "run")
    with path.open("ab") as f:
        f.write(b"x" * (64 << 20))  # 64 MB with no newline at the end
        f.write(b"\n" + HOSTILE_JOURNAL[-1].replace(b"scx_good", b"scx_last") + b"\n")
    assert journal.last_switch_times(tmp_path / "run") == {"scx_last": 7.0}


def test_the_trackers_journal_reader_skips_records_of_a_hostile_pid_or_start(tmp_path: Path):
    """SwitchJournal (the sched_ext tracker's reader, in every live source) checked no pid nor start
    time: a list as pid raised TypeError (unhashable), a string TypeError, 10**30 OverflowError."""
    import time

    from scxtop.kernel.scx_journal import SwitchJournal

    now = time.time()
    good = {"time": now, "target": "scx_a", "previous": None, "ok": True, "seconds": 0.1, "backend": "direct",
            "enable_seq_after": None, "message": "", "phase": "begin", "started": now}
    hostile = [{**good, "pid": [1]}, {**good, "pid": "1"}, {**good, "pid": 10**30}, {**good, "pid": True},
               {**good, "pid": -5}, {**good, "pid": 1, "started": "soon"},
               {**good, "pid": 1, "started": 1e300}]
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    for record in hostile:
        journal.journal_path(run).write_text(json.dumps(record) + "\n")
        follower = SwitchJournal(run)
        assert follower.poll() == [], record
        assert not follower.active_between(0.0, now + 1)
    journal.journal_path(run).write_text(json.dumps({**good, "pid": os.getpid()}) + "\n")
    follower = SwitchJournal(run)
    assert len(follower.poll()) == 1 and follower.active_between(0.0, now + 1)


def test_scxtop_schedulers_survives_a_hostile_journal(tmp_path: Path):
    hostile_journal(tmp_path / "run")
    done = cli("schedulers", SCXTOP_RUN_DIR=str(tmp_path / "run"), SCXTOP_CONFIG=str(tmp_path / "none.toml"))
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
