"""scxtop's config file: schedulers with programs, arguments and modes; confirm_switch."""

from __future__ import annotations

from pathlib import Path

import pytest

from scxtop.sched_ext import config
from scxtop.sched_ext.errors import ConfigError
from scxtop.sched_ext.types import Mode

GOOD = """
confirm_switch = false

[[scheduler]]
name = "scx_mine"
program = "/usr/local/bin/scx_mine"
args = ["--fast", "-v"]
[scheduler.modes]
gaming = ["-m", "performance"]
powersave = ["-m", "powersave"]

[[scheduler]]
name = "plain"
program = "/opt/plain"
"""


def test_parse_reads_schedulers_modes_and_confirm():
    cfg = config.parse(GOOD)
    assert cfg.confirm_switch is False
    mine, plain = cfg.schedulers
    assert (mine.name, mine.program) == ("scx_mine", Path("/usr/local/bin/scx_mine"))
    assert mine.args == ("--fast", "-v")
    assert mine.args_for(Mode.GAMING) == ("--fast", "-v", "-m", "performance")
    assert mine.args_for(None) == ("--fast", "-v")
    assert mine.args_for(Mode.SERVER) == ("--fast", "-v")
    assert plain.args == () and plain.mode_args == ()


def test_confirm_switch_is_on_by_default():
    assert config.parse("").confirm_switch is True


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("confirm_switch = 1", "confirm_switch"),
        ("[[scheduler]]\nname = 'x'\nprogram = 'relative/x'", "absolute path"),
        ("[[scheduler]]\nprogram = '/bin/x'", "'name'"),
        ("[[scheduler]]\nname = 'a/b'\nprogram = '/bin/x'", "'name'"),
        ("[[scheduler]]\nname = 'x'\nprogram = '/bin/x'\nargs = '-v'", "list of strings"),
        ("[[scheduler]]\nname = 'x'\nprogram = '/bin/x'\n[scheduler.modes]\nturbo = []", "unknown mode"),
        ("[[scheduler]]\nname='x'\nprogram='/bin/x'\n[[scheduler]]\nname='x'\nprogram='/bin/y'", "twice"),
        ("scheduler = 3", "[[scheduler]]"),
        ("this is not toml", "config"),
    ],
)
def test_bad_config_is_one_clear_error(text, words):
    with pytest.raises(ConfigError) as err:
        config.parse(text)
    assert words in str(err.value)
    assert "\n" not in str(err.value).strip()


@pytest.mark.parametrize(("text", "mode"), [("gaming", Mode.GAMING), ("LowLatency", Mode.LOWLATENCY),
                                            ("low-latency", Mode.LOWLATENCY), ("4", Mode.SERVER)])
def test_parse_mode(text, mode):
    assert config.parse_mode(text) is mode


def test_missing_file_gives_defaults(tmp_path):
    cfg = config.load(tmp_path / "none.toml")
    assert cfg.confirm_switch is True and cfg.schedulers == () and cfg.path is None


def test_default_path_follows_xdg_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv("SCXTOP_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config.default_path() == tmp_path / "scxtop" / "config.toml"
    monkeypatch.setenv("SCXTOP_CONFIG", str(tmp_path / "other.toml"))
    assert config.default_path() == tmp_path / "other.toml"


def test_config_writable_by_others_is_not_trusted(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(GOOD)
    path.chmod(0o644)
    assert len(config.load(path).schedulers) == 2
    path.chmod(0o666)
    with pytest.raises(ConfigError, match="writable by other users"):
        config.load(path)
