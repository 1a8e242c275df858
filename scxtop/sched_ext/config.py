"""scxtop's config file: extra schedulers (name, program, arguments, modes) and `confirm_switch`.

    # $XDG_CONFIG_HOME/scxtop/config.toml (or $SCXTOP_CONFIG)
    confirm_switch = true          # ask before switching in the dashboard

    [[scheduler]]
    name = "scx_bpfland"
    program = "/usr/bin/scx_bpfland"
    args = ["-k"]
    [scheduler.modes]              # extra arguments per scx_loader mode
    gaming = ["-m", "performance"]
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from scxtop.sched_ext.errors import ConfigError
from scxtop.sched_ext.safety import check_config_file
from scxtop.sched_ext.types import Mode


@dataclass(frozen=True, slots=True)
class ConfiguredScheduler:
    name: str
    program: Path
    args: tuple[str, ...] = ()
    mode_args: tuple[tuple[Mode, tuple[str, ...]], ...] = ()
    """Arguments appended for each mode the entry supports."""

    def args_for(self, mode: Mode | None) -> tuple[str, ...]:
        extra = dict(self.mode_args).get(mode, ()) if mode is not None else ()
        return self.args + extra


@dataclass(frozen=True, slots=True)
class Config:
    confirm_switch: bool = True
    schedulers: tuple[ConfiguredScheduler, ...] = ()
    path: Path | None = None
    """The file it came from; None when there is none."""


def default_path() -> Path:
    if os.environ.get("SCXTOP_CONFIG"):
        return Path(os.environ["SCXTOP_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "scxtop" / "config.toml"


def parse_mode(text: str) -> Mode:
    """'gaming', 'GAMING' or '1' -> Mode.GAMING."""
    if text.isdigit() and int(text) in Mode._value2member_map_:
        return Mode(int(text))
    try:
        return Mode[text.strip().upper().replace("-", "").replace("_", "")]
    except KeyError:
        names = ", ".join(m.name.lower() for m in Mode)
        raise ConfigError(f"unknown mode {text!r}: use one of {names}") from None


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(value)


def _scheduler(raw: object, where: str) -> ConfiguredScheduler:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    name, program = raw.get("name"), raw.get("program")
    if not isinstance(name, str) or not name or "/" in name:
        raise ConfigError(f"{where}: 'name' must be a non-empty string without '/'")
    if not isinstance(program, str) or not Path(program).is_absolute():
        raise ConfigError(f"{where} ({name}): 'program' must be an absolute path")
    modes = raw.get("modes", {})
    if not isinstance(modes, dict):
        raise ConfigError(f"{where} ({name}): 'modes' must be a table")
    mode_args = tuple(
        (parse_mode(key), _strings(value, f"{where}.modes.{key}")) for key, value in modes.items()
    )
    return ConfiguredScheduler(name, Path(program), _strings(raw.get("args", []), f"{where}.args"), mode_args)


def parse(text: str, path: Path | None = None) -> Config:
    where = str(path or "config")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{where}: {err}") from None
    confirm = data.pop("confirm_switch", True)
    if not isinstance(confirm, bool):
        raise ConfigError(f"{where}: confirm_switch must be true or false")
    entries = data.pop("scheduler", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: use [[scheduler]] tables for schedulers")
    schedulers = tuple(_scheduler(e, f"{where}: scheduler[{i}]") for i, e in enumerate(entries))
    names = [s.name for s in schedulers]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise ConfigError(f"{where}: scheduler {duplicate!r} is defined twice")
    return Config(confirm, schedulers, path)


def load(path: Path | None = None) -> Config:
    """The config at `path` (default location when None); defaults when the file does not exist."""
    path = path or default_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return Config(path=None)
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None
    config = parse(text, path)
    reason = check_config_file(path) if config.schedulers else None
    if reason:
        raise ConfigError(f"not trusting the schedulers in {path}: {reason}")
    return config
