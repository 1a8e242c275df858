"""contrib/: the systemd units, the Prometheus configuration and rules are checked by the real
tools (systemd-analyze, promtool), the rules evaluated by `promtool test rules`, and the units'
command lines parsed by scxtop's own argument parser."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scxtop.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
CONTRIB = ROOT / "contrib"
UNITS = ("scxtop-serve.service", "scxtop-textfile.service")
INSTALLED = "/opt/scxtop/.venv/bin/scxtop"


def exec_start(unit: Path) -> list[str]:
    [line] = [line for line in unit.read_text().splitlines() if line.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))


def promtool(*args: str) -> subprocess.CompletedProcess:
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed (apt-get install prometheus; ./bootstrap.sh test does)")
    return subprocess.run(["promtool", *args], capture_output=True, text=True, cwd=CONTRIB, timeout=120)


@pytest.mark.parametrize("unit", UNITS)
def test_unit_command_lines_are_valid_scxtop_commands(unit: str):
    command = exec_start(CONTRIB / unit)
    assert command[0] == INSTALLED
    args = build_parser().parse_args(command[1:])
    assert args.command in ("serve", "log")


@pytest.mark.parametrize("unit", UNITS)
def test_units_pass_systemd_analyze_verify(unit: str, tmp_path: Path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (it comes with systemd)")
    scxtop = Path(sys.executable).with_name("scxtop")
    if not scxtop.exists():
        pytest.skip(f"no scxtop entry point beside {sys.executable} (pip install -e . makes it)")
    copy = tmp_path / unit  # verify checks that ExecStart exists: point it at this checkout's scxtop
    copy.write_text((CONTRIB / unit).read_text().replace(INSTALLED, str(scxtop)))
    done = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert unit not in done.stderr, done.stderr  # warnings about our unit (others' units may warn too)


def test_prometheus_config_and_rules_are_valid():
    done = promtool("check", "config", "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_rules_give_the_expected_alerts_and_p99_on_synthetic_series():
    done = promtool("test", "rules", "scxtop-rules.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
