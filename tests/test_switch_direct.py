"""Direct backend pieces that run on any kernel: stopping processes, reading a holder's arguments,
and the CLI's refusals. The switching itself is proven in the sched_ext guest (tests/vm)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scxtop.kernel.scx_state import read_state
from scxtop.model import SchedExtEnableState, SchedExtState
from scxtop.sched_ext import procs
from scxtop.sched_ext.config import Config, ConfiguredScheduler
from scxtop.sched_ext.direct import DirectBackend, args_after_program, read_tail, tail
from scxtop.sched_ext.errors import SwitchError

IGNORE_SIGINT = (
    "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "print('up', flush=True); time.sleep(60)"
)


def test_stop_escalates_when_sigint_is_ignored():
    child = subprocess.Popen([sys.executable, "-c", IGNORE_SIGINT], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "up"
        process = procs.describe(child.pid)
        assert process is not None and procs.alive(process)
        steps: list[str] = []
        assert procs.stop_process(process, timeout=0.5, progress=steps.append) == "SIGTERM"
        assert steps == [f"sending SIGINT to pid {child.pid}", f"sending SIGTERM to pid {child.pid}"]
        assert not procs.alive(process)
        assert procs.stop_process(process, timeout=0.5) is None  # already gone
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()


def test_holder_scan_finds_no_struct_ops_link_without_sched_ext():
    # Real struct_ops holders are found in the guest; here none may exist, and the scan must not fail.
    if read_state().supported:
        pytest.skip("this kernel has sched_ext; the guest tests cover the holder scan")
    assert procs.struct_ops_holders() == []


@pytest.mark.parametrize(
    ("argv", "args"),
    [
        (("/opt/bin/scx_x", "-k", "-v"), ("-k", "-v")),
        (("scx_x", "-k"), ("-k",)),
        (("/usr/bin/python3", "/opt/bin/scx_x", "--slow"), ("--slow",)),
        (("/usr/bin/other",), None),
    ],
)
def test_args_after_program(argv, args):
    assert args_after_program(argv, Path("/opt/bin/scx_x")) == args


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scxtop", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **env})


def test_switch_refuses_on_a_kernel_without_sched_ext(tmp_path):
    if read_state().supported:
        pytest.skip("this kernel has sched_ext")
    proc = run_cli("switch", "default", SCXTOP_CONFIG=str(tmp_path / "none.toml"))
    assert proc.returncode == 2
    assert proc.stderr.startswith("scxtop: this kernel has no sched_ext") and proc.stderr.count("\n") == 1


def test_bad_mode_and_bad_config_are_one_line_errors(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text("confirm_switch = 'yes'\n")
    proc = run_cli("switch", "default", SCXTOP_CONFIG=str(cfg))
    assert proc.returncode == 2 and "confirm_switch must be true or false" in proc.stderr
    proc = run_cli("switch", "default", "--mode", "turbo", SCXTOP_CONFIG=str(tmp_path / "none.toml"))
    assert proc.returncode == 2 and "unknown mode 'turbo'" in proc.stderr


def test_schedulers_lists_default_and_path_programs(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "scx_listed"
    program.write_text("#!/bin/false\n")
    program.chmod(0o755)
    for d in (tmp_path, bin_dir):
        d.chmod(0o755)
    proc = run_cli(
        "schedulers", PATH=f"{bin_dir}:{os.environ['PATH']}", SCXTOP_CONFIG=str(tmp_path / "none.toml")
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1].split()[:3] == ["NAME", "STATUS", "FROM"]
    assert any(line.split()[:3] == ["scx_listed", "installed", "path"] for line in lines)
    assert any(line.split()[0] == "default" for line in lines[2:])


def test_failure_tail_keeps_the_error_lines_from_above(tmp_path):
    log = tmp_path / "scx_x.log"
    lines = ["loading", "R4 invalid mem access 'scalar'", *(f"context {i}" for i in range(40)), "load failed"]
    log.write_text("\n".join(lines) + "\n")
    shown = tail(log, 5).splitlines()
    assert shown == ["R4 invalid mem access 'scalar'", "[...]", *lines[-5:]]
    assert tail(log, 100).splitlines() == lines
    assert tail(tmp_path / "missing.log", 5) == ""


def test_schedulers_lists_a_refused_program_with_the_reason(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for d in (tmp_path, bin_dir):
        d.chmod(0o755)
    refused = bin_dir / "scx_planted"
    refused.write_text("#!/bin/false\n")
    refused.chmod(0o777)  # writable by anyone: whoever can write it could run code as root
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "SCXTOP_CONFIG": str(tmp_path / "none.toml")}
    proc = run_cli("schedulers", **env)
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("scx_planted"))
    assert row.split()[1:4] == ["refused", "path", "-"]
    assert row.endswith(f"{refused}: {refused} is writable by other users (chmod go-w {refused})")


def test_switch_to_a_refused_program_names_the_reason(tmp_path):
    from scxtop.sched_ext.discovery import find_entry, scan_path

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for d in (tmp_path, bin_dir):
        d.chmod(0o755)
    (bin_dir / "scx_planted").write_text("#!/bin/false\n")
    (bin_dir / "scx_planted").chmod(0o777)
    (bin_dir / "scx_fine").write_text("#!/bin/false\n")
    (bin_dir / "scx_fine").chmod(0o755)
    entries, refused = scan_path(str(bin_dir))
    assert [e.name for e in entries] == ["scx_fine"] and [r.name for r in refused] == ["scx_planted"]
    with pytest.raises(SwitchError, match=r"^refusing to run scx_planted: .* is writable by other users"):
        find_entry(entries, "planted", refused)
    with pytest.raises(SwitchError, match="unknown scheduler 'scx_nosuch'"):
        find_entry(entries, "scx_nosuch", refused)


def test_log_tails_are_bounded_reads(tmp_path):
    log = tmp_path / "scx_chatty.log"
    with log.open("w") as f:
        for i in range(200_000):
            f.write(f"local={i} global={i}\n")
    lines = read_tail(log, 4096)
    assert lines[-1] == "local=199999 global=199999"
    assert 100 < len(lines) < 4096 // 10 and lines[0].startswith("local=")  # no cut first line
    assert sum(len(line) + 1 for line in lines) <= 4096


def test_output_is_the_running_schedulers_log_tail_only_while_sched_ext_reads_enabled(tmp_path: Path):
    config = Config(schedulers=(ConfiguredScheduler("scx_mine", Path("/usr/bin/scx_mine")),))
    backend = DirectBackend(config, path_env="", run_dir=tmp_path)
    backend.log_dir.mkdir()
    (backend.log_dir / "scx_mine.log").write_text("one\ntwo\nthree\n")
    enabled = SchedExtState(supported=True, state=SchedExtEnableState.ENABLED, ops="mine_1.0.0")
    assert backend.output(enabled, 2) == ("two", "three")
    for state in (SchedExtEnableState.ENABLING, SchedExtEnableState.DISABLING, None):
        assert backend.output(SchedExtState(supported=True, state=state, ops="mine_1.0.0"), 2) == ()
