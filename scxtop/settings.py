"""scxtop's settings: the one config file, as one typed object.

    # $XDG_CONFIG_HOME/scxtop/config.toml, or $SCXTOP_CONFIG
    [dashboard]
    confirm_switch = true         # ask before switching schedulers from the dashboard
    interval = 1.0                # seconds per sample when --interval is not given
    switch_timeout = 10.0         # seconds a switch from the dashboard waits for the kernel
    theme = "textual-dark"        # a Textual theme (ctrl+p lists them)

    [keys]                        # binding id = key(s); the ids are listed in the README
    quit = "q,ctrl+q"
    "scheduler.pick" = "S"        # quote ids with a dot (or write [keys.scheduler] pick = "S")

    [[scheduler]]                 # extra schedulers: scxtop.sched_ext.config
    name = "scx_mine"
    program = "/usr/local/bin/scx_mine"

The file is read by `scxtop.configfile` (safely: scxtop runs as root). Every error names the file,
the line and the key; the dashboard refuses to start on one rather than guess.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scxtop.configfile import default_path, line_of, parse_toml, read_config
from scxtop.errors import ConfigError
from scxtop.sched_ext import config as scheduler_config
from scxtop.sched_ext.types import SWITCH_TIMEOUT_S

MAX_INTERVAL_S = 3600.0
MIN_INTERVAL_S = 0.01
MAX_SWITCH_TIMEOUT_S = 3600.0


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    """`[dashboard]`: how the dashboard starts."""

    confirm_switch: bool = True
    """Ask before switching schedulers (`s`, `n`); false switches at once."""
    interval: float = 1.0
    """Seconds per sample when `--interval` is not given on the command line."""
    theme: str | None = None
    """A Textual theme name (the command palette lists them); None keeps Textual's default."""
    switch_timeout: float = SWITCH_TIMEOUT_S
    """Seconds a switch from the dashboard waits for the kernel (`scxtop switch --timeout`):
    schedulers that build big maps before attaching (scx_pair) need more on a slow machine."""


@dataclass(frozen=True, slots=True)
class KeyBinding:
    """One `[keys]` entry: the binding id it remaps and the key(s) that now trigger it."""

    id: str
    """A binding id, e.g. 'quit' or 'scheduler.pick' (README: Keys)."""
    keys: str
    """Textual key names, comma-separated: 'q,ctrl+q'."""
    line: int | None = None
    """Where in the file it was set, for error messages."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the config file says; defaults when there is no file."""

    dashboard: DashboardSettings = field(default_factory=DashboardSettings)
    """`[dashboard]`."""
    keys: tuple[KeyBinding, ...] = ()
    """`[keys]`, in file order."""
    schedulers: scheduler_config.Config = field(default_factory=scheduler_config.Config)
    """`[[scheduler]]` (and confirm_switch, which the switcher reads too)."""
    path: Path | None = None
    """The file it came from; None when there is none."""
    text: str = field(default="", repr=False)
    """The file's text, to point error messages found later (an unknown theme) at their line."""

    def line(self, table: str, key: str) -> int | None:
        """Where `key` is set in `[table]`, for an error message."""
        return line_of(self.text, table, key)

    @property
    def keymap(self) -> dict[str, str]:
        """Binding id -> keys, as `App.set_keymap` takes it."""
        return {k.id: k.keys for k in self.keys}

    def where(self, line: int | None) -> str:
        """'FILE:LINE' for an error message."""
        where = str(self.path or "config")
        return f"{where}:{line}" if line else where


_TOP = {"dashboard", "keys", "scheduler", "confirm_switch"}
_DASHBOARD = {"confirm_switch", "interval", "switch_timeout", "theme"}


def _fail(text: str, path: Path | None, table: str, key: str, message: str) -> ConfigError:
    at = Settings(path=path).where(line_of(text, table, key))
    name = f"{table}.{key}" if table else key
    return ConfigError(f"{at}: {name}: {message}")


def _table(data: dict[str, Any], name: str, text: str, path: Path | None) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise _fail(text, path, "", name, f"must be a table: [{name}]")
    return value


def _dashboard(data: dict[str, Any], text: str, path: Path | None) -> DashboardSettings:
    table = _table(data, "dashboard", text, path)
    for key in table:
        if key not in _DASHBOARD:
            known = ", ".join(sorted(_DASHBOARD))
            raise _fail(text, path, "dashboard", key, f"unknown setting (use {known})")
    interval = _seconds(table, "interval", 1.0, MIN_INTERVAL_S, MAX_INTERVAL_S, text, path)
    switch_timeout = _seconds(table, "switch_timeout", SWITCH_TIMEOUT_S, MIN_INTERVAL_S, MAX_SWITCH_TIMEOUT_S,
                              text, path)
    theme = table.get("theme")
    if theme is not None and (not isinstance(theme, str) or not theme.strip()):
        raise _fail(text, path, "dashboard", "theme", "must be a theme name, e.g. \"textual-dark\"")
    # confirm_switch is checked (with its line) by the scheduler part, which reads it too
    return DashboardSettings(interval=interval, theme=theme, switch_timeout=switch_timeout)


def _seconds(table: dict[str, Any], key: str, default: float, low: float, high: float, text: str,
             path: Path | None) -> float:
    value = table.get(key, default)
    if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
            or not low <= value <= high):
        raise _fail(text, path, "dashboard", key, f"must be a number of seconds from {low:g} to {high:g}")
    return float(value)


def _flatten(table: dict[str, Any], prefix: str = "") -> list[tuple[str, str, object]]:
    """(binding id, last key part, value): `[keys.scheduler] pick = "S"` is id 'scheduler.pick'."""
    out: list[tuple[str, str, object]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            out.extend(_flatten(value, f"{prefix}{key}."))
        else:
            out.append((f"{prefix}{key}", key, value))
    return out


def _keys(data: dict[str, Any], text: str, path: Path | None) -> tuple[KeyBinding, ...]:
    table = _table(data, "keys", text, path)
    out = []
    for binding_id, last, value in _flatten(table):
        table_name = f"keys.{binding_id.rpartition('.')[0]}"
        line = line_of(text, "keys", binding_id) or line_of(text, table_name, last)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            value = ",".join(value)
        parts = value.split(",") if isinstance(value, str) else []
        if not parts or any(not p.strip() or any(c.isspace() for c in p.strip()) for p in parts):
            raise ConfigError(f"{Settings(path=path).where(line)}: keys.{binding_id}: must be a key or keys, "
                              "e.g. \"q\" or \"q,ctrl+q\" (Textual key names, no spaces)")
        out.append(KeyBinding(binding_id, ",".join(p.strip() for p in parts), line))
    return tuple(out)


def parse_settings(text: str, path: Path | None = None) -> Settings:
    """The settings a config file's text gives; a one-line ConfigError naming the line and key."""
    data = parse_toml(text, str(path or "config"))
    for key in data:
        if key not in _TOP:
            raise _fail(text, path, "", key, "unknown section (use [dashboard], [keys], [[scheduler]])")
    schedulers = scheduler_config.from_toml(data, text, path)
    dashboard = _dashboard(data, text, path)
    dashboard = dataclasses.replace(dashboard, confirm_switch=schedulers.confirm_switch)
    return Settings(dashboard=dashboard, keys=_keys(data, text, path), schedulers=schedulers, path=path,
                    text=text)


def load_settings(path: Path | None = None) -> Settings:
    """The settings from `path` (default: $SCXTOP_CONFIG or $XDG_CONFIG_HOME/scxtop/config.toml);
    defaults when there is no file; ConfigError when it is broken or could be someone else's."""
    path = path or default_path()
    text = read_config(path)
    return Settings() if text is None else parse_settings(text, path)
