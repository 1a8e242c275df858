"""Replay: our CSV and JSONL recordings, rqlen.bt CSV, broken files, pacing and seeking."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from samples import full_sample, procfs_like_sample

from scxtop.errors import ScxtopError
from scxtop.recording import CsvWriter, JsonlWriter, load_recording
from scxtop.sources.replay import ReplaySource

FIXTURES = Path(__file__).parent / "fixtures"


def record(writer, samples):
    for s in samples:
        writer.write(s)
    writer.close()


def test_rqlen_bt_csv_gives_runqueue_lengths_per_cpu():
    rec = load_recording(FIXTURES / "rqlen.csv")
    assert rec.format == "rqlen" and len(rec.samples) == 4
    assert [c.cpu for c in rec.samples[0].cpus] == [0, 1, 2, 3]
    assert [c.rq for c in rec.samples[2].cpus] == [0.0, 4.0, 1.0, 1.0]
    assert rec.samples[1].cpus[1].rq_max == 3
    # One second apart across midnight.
    assert [s.interval_s for s in rec.samples] == [1.0, 1.0, 1.0, 1.0]
    assert [s.elapsed_s for s in rec.samples] == [1.0, 2.0, 3.0, 4.0]
    assert rec.samples[2].time - rec.samples[0].time == 2.0
    assert all(c.util is None and c.csw is None for c in rec.samples[0].cpus)
    assert rec.samples[0].migrations is None and rec.samples[0].limitations


def test_rqlen_with_epoch_times_and_tabs(tmp_path: Path):
    path = tmp_path / "rq.tsv"
    path.write_text("Timestamp\tCPU 0\tCPU 1\n1763785000\t1\t2\n1763785002\t0\t5\n")
    rec = load_recording(path)
    assert [s.time for s in rec.samples] == [1763785000.0, 1763785002.0]
    assert [s.interval_s for s in rec.samples] == [2.0, 2.0]
    assert rec.samples[1].cpus[1].rq == 5.0


def test_our_jsonl_replays_exactly(tmp_path: Path):
    samples = [full_sample(0), full_sample(1), procfs_like_sample(2)]
    record(JsonlWriter(tmp_path / "r.jsonl"), samples)
    rec = load_recording(tmp_path / "r.jsonl")
    assert rec.format == "jsonl" and list(rec.samples) == samples


def test_our_csv_replays_per_cpu_values(tmp_path: Path):
    record(CsvWriter(tmp_path / "r.csv"), [full_sample(0), full_sample(1)])
    rec = load_recording(tmp_path / "r.csv")
    assert rec.format == "csv" and [s.cpus[1].csw for s in rec.samples] == [80, 81]


@pytest.mark.parametrize("content,message", [
    ("", "the recording is empty"),
    ("hello,world\n1,2\n", ":1: not a recording scxtop can replay"),
    ("[Timestamp],CPU  0,CPU  1\n[00:00:01],1,2\n[00:00:02],1\n", ":3: broken rqlen.bt row"),
    ("[Timestamp],CPU  0\n[00:00:01],lots\n", ":2: broken rqlen.bt row"),
    ("[Timestamp],CPU  0\n", "holds no samples"),
])
def test_broken_recordings_are_one_line_errors_naming_the_line(tmp_path: Path, content: str, message: str):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ScxtopError) as err:
        load_recording(path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_truncated_jsonl_names_its_last_line(tmp_path: Path):
    path = tmp_path / "cut.jsonl"
    record(JsonlWriter(path), [full_sample(0), full_sample(1)])
    path.write_text(path.read_text()[:-40])
    with pytest.raises(ScxtopError, match=r"cut.jsonl:2: broken JSONL recording"):
        load_recording(path)


def test_missing_recording(tmp_path: Path):
    with pytest.raises(ScxtopError, match="no such recording"):
        load_recording(tmp_path / "nope.jsonl")


def test_replay_source_plays_every_sample_and_can_seek(tmp_path: Path):
    shutil.copy(FIXTURES / "rqlen.csv", tmp_path / "rq.csv")
    source = ReplaySource(tmp_path / "rq.csv", speed=100.0)
    assert source.name == "replay" and source.interval_s == 1.0
    played = [s.cpus[1].rq for s in source.samples()]
    assert played == [0.0, 3.0, 4.0, 4.0]
    source.position = 2
    assert [s.cpus[1].rq for s in source.samples()] == [4.0, 4.0]
    source.close()


def test_closed_replay_source_stops():
    source = ReplaySource(FIXTURES / "rqlen.csv")
    source.close()
    assert list(source.samples()) == []


def test_replay_and_playback_share_one_interval_rule(tmp_path: Path):
    """A recording whose intervals are mostly 0 (a JSONL cut from a bursty source) plays at the
    median of its real intervals, in the replay source and the dashboard's playback alike."""
    from dataclasses import replace

    from scxtop.tui.playback import Playback

    items = [replace(full_sample(n), interval_s=0.0 if n < 3 else 2.0) for n in range(5)]
    path = tmp_path / "zeros.jsonl"
    record(JsonlWriter(path), items)
    source = ReplaySource(path)
    assert source.interval_s == 2.0
    assert Playback(load_recording(path).samples).typical_interval == source.interval_s
    source.close()
