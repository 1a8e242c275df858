"""The `[[scheduler]]` part of scxtop's config file: extra schedulers (name, program, arguments, modes).

    # $XDG_CONFIG_HOME/scxtop/config.toml (or $SCXTOP_CONFIG); the whole file: scxtop.settings
    [dashboard]
    confirm_switch = true          # ask before switching in the dashboard (also read at the top level)

    [[scheduler]]
    name = "scx_bpfland"
    program = "/usr/bin/scx_bpfland"
    args = ["-k"]
    [scheduler.modes]              # extra arguments per scx_loader mode
    gaming = ["-m", "performance"]

The file is read by `scxtop.configfile`, which refuses one that anybody but root (or us) could
have written; that check covers the whole file and every directory above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scxtop.configfile import default_path, line_of, parse_toml, read_config
from scxtop.sched_ext.errors import ConfigError
from scxtop.sched_ext.types import Mode

__all__ = ["Config", "ConfigError", "ConfiguredScheduler", "default_path", "load", "parse", "parse_mode"]


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


def _mode(key: str, where: str) -> Mode:
    try:
        return parse_mode(key)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None


_SCHEDULER_KEYS = {"name", "program", "args", "modes"}


def _scheduler(raw: object, where: str) -> ConfiguredScheduler:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = next((key for key in raw if key not in _SCHEDULER_KEYS), None)
    if unknown is not None:  # a misspelt `args` would otherwise start the scheduler without them
        raise ConfigError(f"{where}.{unknown}: unknown setting (use {', '.join(sorted(_SCHEDULER_KEYS))})")
    name, program = raw.get("name"), raw.get("program")
    if not isinstance(name, str) or not name or "/" in name:
        raise ConfigError(f"{where}: 'name' must be a non-empty string without '/'")
    if not isinstance(program, str) or not Path(program).is_absolute():
        raise ConfigError(f"{where} ({name}): 'program' must be an absolute path")
    modes = raw.get("modes", {})
    if not isinstance(modes, dict):
        raise ConfigError(f"{where} ({name}): 'modes' must be a table")
    mode_args = tuple(
        (_mode(key, f"{where}.modes.{key}"), _strings(value, f"{where}.modes.{key}"))
        for key, value in modes.items()
    )
    return ConfiguredScheduler(name, Path(program), _strings(raw.get("args", []), f"{where}.args"), mode_args)


def _scheduler_line(text: str, index: int) -> int | None:
    """The line of the `index`-th `[[scheduler]]` header."""
    headers = [n for n, line in enumerate(text.splitlines(), start=1) if line.strip() == "[[scheduler]]"]
    return headers[index] if index < len(headers) else None


def _at(where: str, line: int | None) -> str:
    return f"{where}:{line}" if line else where


def from_toml(data: dict[str, Any], text: str, path: Path | None = None) -> Config:
    """The scheduler part of a parsed config file (`[dashboard] confirm_switch` and `[[scheduler]]`)."""
    where = str(path or "config")
    dashboard = data.get("dashboard", {})
    table = "dashboard" if isinstance(dashboard, dict) and "confirm_switch" in dashboard else ""
    confirm = (dashboard if table else data).get("confirm_switch", True)
    if not isinstance(confirm, bool):
        line = line_of(text, table, "confirm_switch")
        raise ConfigError(f"{_at(where, line)}: confirm_switch must be true or false")
    entries = data.get("scheduler", [])
    if not isinstance(entries, list):
        line = line_of(text, "", "scheduler")
        raise ConfigError(f"{_at(where, line)}: use [[scheduler]] tables for schedulers")
    schedulers = tuple(_scheduler(e, f"{_at(where, _scheduler_line(text, i))}: scheduler[{i}]")
                       for i, e in enumerate(entries))
    names = [s.name for s in schedulers]
    again = next((i for i, n in enumerate(names) if n in names[:i]), None)
    if again is not None:
        first = names.index(names[again])
        raise ConfigError(f"{_at(where, _scheduler_line(text, again))}: scheduler[{again}].name: "
                          f"scheduler {names[again]!r} is defined twice (first as scheduler[{first}])")
    return Config(confirm, schedulers, path)


def parse(text: str, path: Path | None = None) -> Config:
    return from_toml(parse_toml(text, str(path or "config")), text, path)


def load(path: Path | None = None) -> Config:
    """The config at `path` (default location when None); defaults when the file does not exist.

    The whole file is checked (scxtop.configfile): a config anybody else could write is refused.
    """
    path = path or default_path()
    text = read_config(path)
    if text is None:
        return Config(path=None)
    return parse(text, path)
