"""`scxtop replay` on bad input: one line naming the problem, a non-zero exit, no traceback."""

from __future__ import annotations

import subprocess
import sys


def _replay(path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scxtop", "replay", str(path)],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_missing_recording(tmp_path):
    result = _replay(tmp_path / "nope.jsonl")
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("scxtop: ")
    assert "nope.jsonl" in result.stderr


def test_broken_recording_names_the_line(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"time": 1}\n')
    result = _replay(path)
    assert result.returncode != 0
    assert result.stderr.startswith(f"scxtop: {path}:1:") and result.stderr.count("\n") == 1


def test_empty_recording(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    result = _replay(path)
    assert result.returncode != 0
    assert "empty" in result.stderr and "Traceback" not in result.stderr
