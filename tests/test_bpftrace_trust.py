"""bpftrace runs as root: it gets the trust check schedulers get, and a minimal environment
(issue 12 case 5). Stand-in binaries print what they were given, in bpftrace's JSON form."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from scxtop.bpftrace import BpftraceError, BpftraceProcess, find_bpftrace
from scxtop.bpftrace.process import SAFE_PATH

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="planting a binary as another user needs root")

PRINT_ENV = """#!{python}
import json, os
print(json.dumps({{"type": "printf", "data": json.dumps(dict(os.environ))}}), flush=True)
"""


def stand_in(directory: Path, body: str = "#!/bin/sh\nexit 0\n") -> Path:
    directory.mkdir(parents=True, exist_ok=True, mode=0o755)
    binary = directory / "bpftrace"
    binary.write_text(body)
    binary.chmod(0o755)
    return binary


@needs_root
def test_a_bpftrace_on_path_in_a_directory_nobody_owns_is_refused(tmp_path: Path):
    planted = tmp_path / "planted"
    binary = stand_in(planted)
    os.chown(planted, pwd.getpwnam("nobody").pw_uid, -1)
    env = {**os.environ, "PATH": f"{planted}:{os.environ['PATH']}"}
    code = "from scxtop.bpftrace import find_bpftrace; print(find_bpftrace())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "refusing to run" in done.stderr, done.stdout + done.stderr
    assert f"{planted} is owned by uid" in done.stderr
    with pytest.raises(BpftraceError, match="refusing to run"):
        find_bpftrace(str(binary))


def test_a_group_writable_bpftrace_is_refused(tmp_path: Path):
    binary = stand_in(tmp_path / "bin")
    binary.chmod(0o775)
    with pytest.raises(BpftraceError, match="writable by other users"):
        BpftraceProcess("BEGIN {}", binary=str(binary))


def test_system_bpftrace_is_found_and_trusted():
    found = find_bpftrace()
    assert Path(found).is_absolute() and Path(found).name == "bpftrace"


def test_bpftrace_gets_a_minimal_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    binary = stand_in(tmp_path / "bin", PRINT_ENV.format(python=sys.executable))
    monkeypatch.setenv("LD_PRELOAD", "/tmp/evil.so")
    monkeypatch.setenv("SECRET_TOKEN", "root's")
    monkeypatch.setenv("BPFTRACE_STRLEN", "64")
    monkeypatch.setenv("PATH", f"/tmp/attacker:{os.environ['PATH']}")
    with BpftraceProcess("BEGIN {}", binary=str(binary)) as proc:
        (record,) = list(proc.records())
    env = json.loads(record.text)
    assert env["PATH"] == SAFE_PATH
    assert env["BPFTRACE_STRLEN"] == "64"
    assert "LD_PRELOAD" not in env and "SECRET_TOKEN" not in env


DUMP_ENV = """#!{python}
import json, os, sys
with open(os.environ["SCXTOP_ENV_OUT"], "a") as f:
    f.write(json.dumps(dict(os.environ)) + "\\n")
print("bpftrace v0.20.1")
"""


def test_every_bpftrace_run_gets_the_minimal_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Not only the probe program: `bpftrace --version` (run by every bpftrace source at start)
    and doctor's test load got root's whole environment."""
    from scxtop.bpftrace import bpftrace_version
    from scxtop.doctor import check_bpf_loads

    out = tmp_path / "env.jsonl"
    binary = stand_in(tmp_path / "bin", DUMP_ENV.format(python=sys.executable))
    monkeypatch.setenv("SCXTOP_ENV_OUT", str(out))
    monkeypatch.setenv("LD_PRELOAD", "/tmp/evil.so")
    monkeypatch.setenv("SECRET_TOKEN", "root's")
    monkeypatch.setenv("PATH", f"{binary.parent}:{os.environ['PATH']}")
    assert str(bpftrace_version(str(binary))) == "0.20.1"
    assert check_bpf_loads().ok
    envs = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(envs) == 2
    for env in envs:
        assert env["PATH"] == SAFE_PATH and "LD_PRELOAD" not in env and "SECRET_TOKEN" not in env
