"""rqlen.bt's CSV exactly as the script prints it: a real capture from bpftrace, and the thread's
non-contiguous CPU list written with the script's own printf formats."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scxtop.errors import ScxtopError
from scxtop.recording import load_recording
from scxtop.sources.replay import ReplaySource

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = Path(__file__).parent / "fixtures" / "rqlen_bt" / "bpftrace-0.17.csv"
"""stdout of `bpftrace rqlen_2cpu.bt > FILE` on this machine (bpftrace 0.17, 2 CPUs, ~1.3 s)."""
THREAD_CPUS = [*range(8), *range(128, 136)]


def rqlen_bt_output(cpus: list[int], rows: list[tuple[int, list[int]]]) -> str:
    """What rqlen.bt prints, from its own format strings (`[%12s],`, `CPU%3d,`, `[%12lld],`, `%3d,`)."""
    out = "[%12s]," % "Timestamp" + "".join("CPU%3d," % c for c in cpus) + "\n"  # noqa: UP031
    for elapsed, lengths in rows:
        out += "[%12d]," % elapsed + "".join("%3d," % n for n in lengths) + "\n"  # noqa: UP031
    return out


def thread_recording(tmp_path: Path, nrows: int = 50) -> Path:
    rows = [(20_000_000 * (i + 1) + 7_000 * (i % 3), [(i + c) % 5 for c in THREAD_CPUS])
            for i in range(nrows)]
    path = tmp_path / "rqlen.csv"
    path.write_text(rqlen_bt_output(THREAD_CPUS, rows))
    return path


def test_real_capture_with_bpftrace_chatter_is_read_at_its_50_hz():
    text = CAPTURE.read_text()
    assert text.startswith("Attaching 3 probes...\n[   Timestamp],CPU  0,CPU  1,\n")
    rec = load_recording(CAPTURE)
    # Less bpftrace's chatter, the header and the map dump (two blank lines, two entries).
    assert rec.format == "rqlen" and len(rec.samples) == len(text.splitlines()) - 6
    assert rec.interval_s == pytest.approx(0.02, abs=0.002)
    first = text.splitlines()[2]
    assert rec.samples[0].elapsed_s == int(first.split("]")[0].strip("[ ")) / 1e9
    assert [c.rq for c in rec.samples[0].cpus] == [float(v) for v in first.split(",")[1:3]]


def test_thread_cpus_0_7_and_128_135_elapsed_nanoseconds(tmp_path: Path):
    path = thread_recording(tmp_path)
    rec = load_recording(path)
    assert [c.cpu for c in rec.samples[0].cpus] == THREAD_CPUS
    assert len(rec.samples) == 50 and rec.interval_s == pytest.approx(0.02, abs=1e-4)
    assert rec.samples[0].elapsed_s == pytest.approx(0.02)
    assert rec.samples[-1].elapsed_s == pytest.approx(1.0 + 7e-6 * (49 % 3))
    assert rec.samples[3].cpus[9].cpu == 129 and rec.samples[3].cpus[9].rq == (3 + 129) % 5
    # The last row is anchored at the file's time; rows keep their 20 ms spacing.
    assert rec.samples[-1].time == pytest.approx(os.stat(path).st_mtime)
    assert rec.samples[1].time - rec.samples[0].time == pytest.approx(0.02, abs=1e-5)


def test_replay_paces_at_the_recorded_interval_scaled_by_speed(tmp_path: Path):
    source = ReplaySource(thread_recording(tmp_path), speed=4.0)
    assert source.interval_s == pytest.approx(0.02, abs=1e-4)
    waits: list[float] = []
    source._stop.wait = lambda timeout: waits.append(timeout) or False  # record the pacing, don't sleep
    assert len(list(source.samples())) == 50
    assert waits[1:] == pytest.approx([0.005] * 49, abs=1e-4)


def test_log_converts_it_to_our_csv_with_elapsed_seconds(tmp_path: Path):
    path = thread_recording(tmp_path, nrows=5)
    done = subprocess.run([sys.executable, "-m", "scxtop", "log", "--source", f"replay:{path}", "--csv", "-"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(done.stdout.splitlines()))
    assert [r["elapsed_s"] for r in rows] == ["0.02", "0.04", "0.06", "0.08", "0.1"]
    assert rows[1]["cpu129_rq"] == str(float((1 + 129) % 5)) and rows[1]["cpu64_rq"] == ""


@pytest.mark.parametrize("text,message", [
    ("[   Timestamp],CPU  0,CPU  1,\n[    20000000],  1,  2,\n[    40000000],  1,\n",
     ":3: broken rqlen.bt row"),
    ("[   Timestamp],CPU  0,\n[    20000000], lots,\n", ":2: broken rqlen.bt row"),
    ("[   Timestamp],CPU  0,\n[   yesterday],  1,\n", ":2: broken rqlen.bt row (time 'yesterday')"),
])
def test_broken_rows_in_the_exact_format_name_their_line(tmp_path: Path, text: str, message: str):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ScxtopError) as err:
        load_recording(path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_elapsed_seconds_and_epoch_nanoseconds_stay_readable(tmp_path: Path):
    seconds = tmp_path / "s.csv"
    seconds.write_text("Timestamp,CPU 0\n0.5,1\n1.0,2\n1.5,3\n")
    rec = load_recording(seconds)
    assert [s.elapsed_s for s in rec.samples] == [0.5, 1.0, 1.5] and rec.interval_s == 0.5
    epoch_ns = tmp_path / "ns.csv"
    epoch_ns.write_text("[Timestamp],CPU 0\n[1763785000000000000],1\n[1763785000500000000],2\n")
    rec = load_recording(epoch_ns)
    assert [s.time for s in rec.samples] == [1763785000.0, 1763785000.5] and rec.interval_s == 0.5
