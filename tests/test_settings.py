"""The one config file as typed settings: [dashboard], [keys], [[scheduler]]; errors name line and key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scxtop.sched_ext.errors import ConfigError
from scxtop.settings import DashboardSettings, KeyBinding, load_settings, parse_settings

ROOT = Path(__file__).resolve().parent.parent

FULL = """\
[dashboard]
confirm_switch = false
interval = 0.5
theme = "nord"
switch_timeout = 90

[keys]
quit = "x"
"scheduler.pick" = ["S", "ctrl+s"]

[keys.replay]
step = "j"

[[scheduler]]
name = "scx_mine"
program = "/usr/local/bin/scx_mine"
"""


def test_every_part_is_read_into_one_typed_object():
    settings = parse_settings(FULL, Path("/etc/scxtop.toml"))
    assert settings.dashboard == DashboardSettings(confirm_switch=False, interval=0.5, theme="nord",
                                                    switch_timeout=90.0)
    assert settings.keys == (KeyBinding("quit", "x", 8), KeyBinding("scheduler.pick", "S,ctrl+s", 9),
                             KeyBinding("replay.step", "j", 12))
    assert settings.keymap == {"quit": "x", "scheduler.pick": "S,ctrl+s", "replay.step": "j"}
    assert [s.name for s in settings.schedulers.schedulers] == ["scx_mine"]
    assert settings.schedulers.confirm_switch is False


def test_defaults_without_a_file(tmp_path: Path):
    settings = load_settings(tmp_path / "none.toml")
    assert settings.dashboard == DashboardSettings() and settings.keys == () and settings.path is None
    assert settings.dashboard.confirm_switch is True and settings.dashboard.interval == 1.0


def test_top_level_confirm_switch_of_older_configs_still_counts():
    assert parse_settings("confirm_switch = false\n").dashboard.confirm_switch is False


@pytest.mark.parametrize(("text", "where"), [
    ("[dashbord]\ntheme = 'nord'\n", "c.toml:1: dashbord: unknown section"),
    ("[dashboard]\n\ntimeout = 3\n", "c.toml:3: dashboard.timeout: unknown setting"),
    ("[dashboard]\ninterval = 0\n", "c.toml:2: dashboard.interval: must be a number"),
    ("[dashboard]\ninterval = nan\n", "c.toml:2: dashboard.interval: must be a number"),
    ("[dashboard]\ninterval = true\n", "c.toml:2: dashboard.interval: must be a number"),
    ("[dashboard]\ntheme = 3\n", "c.toml:2: dashboard.theme: must be a theme name"),
    ("[dashboard]\nswitch_timeout = -1\n", "c.toml:2: dashboard.switch_timeout: must be a number of seconds"),
    ("[dashboard]\nswitch_timeout = '9'\n", "c.toml:2: dashboard.switch_timeout: must be a number of"),
    ("[dashboard]\nconfirm_switch = 'no'\n", "c.toml:2: confirm_switch must be true or false"),
    ("[keys]\nquit = 'q q'\n", "c.toml:2: keys.quit: must be a key"),
    ("[keys]\nquit = 1\n", "c.toml:2: keys.quit: must be a key"),
    ("[keys]\n\n'scheduler.pick' = ''\n", "c.toml:3: keys.scheduler.pick: must be a key"),
    ("keys = 3\n", "c.toml:1: keys: must be a table"),
    ("[dashboard]\ntheme = 'a'\ntheme = 'b'\n", "c.toml: Cannot overwrite a value (at line 3"),
    ("[[scheduler]]\nname = 'x'\nprogram = '/bin/x'\n[scheduler.modes]\nturbo = []\n",
     "c.toml:1: scheduler[0].modes.turbo: unknown mode 'turbo'"),
    ("[[scheduler]]\nname = 'x'\nprogram = '/bin/x'\n\n[[scheduler]]\nname = 'x'\nprogram = '/bin/y'\n",
     "c.toml:5: scheduler[1].name: scheduler 'x' is defined twice"),
    ("[[scheduler]]\nname = 'x'\nprogram = '/bin/x'\narg = ['-k']\n",
     "c.toml:1: scheduler[0].arg: unknown setting (use args, modes, name, program)"),
])
def test_errors_name_the_line_and_the_key(text: str, where: str):
    with pytest.raises(ConfigError) as err:
        parse_settings(text, Path("c.toml"))
    assert str(err.value).startswith(where), str(err.value)
    assert "\n" not in str(err.value)


def _scxtop(tmp_path: Path, config: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.toml"
    path.write_text(config)
    env = {**os.environ, "SCXTOP_CONFIG": str(path), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "scxtop", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize(("config", "message"), [
    ("[dashboard]\nconfirm_switch = 'maybe'\n", ":2: confirm_switch must be true or false"),
    ("[keys]\nno_such_binding = 'x'\n", ":2: keys.no_such_binding: no such binding id"),
    ("[dashboard]\ntheme = 'no-such-theme'\n", ":2: dashboard.theme: no theme 'no-such-theme'"),
])
def test_the_dashboard_refuses_to_start_on_a_bad_config(tmp_path: Path, config: str, message: str):
    """It used to ignore a broken config (and start with confirmation on); now it says which line."""
    recording = ROOT / "tests" / "fixtures" / "recordings" / "contention.jsonl"
    done = _scxtop(tmp_path, config, "replay", str(recording))
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert done.stderr.startswith(f"scxtop: {tmp_path / 'config.toml'}:")
