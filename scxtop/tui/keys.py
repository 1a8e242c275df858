"""Where a key works, decided by its binding id, and the replay help built from the bindings.

A binding id is `group.name` (or just `name`). The group says where it works: `replay.*` keys
only move through a recording, `scheduler.*` keys only switch a live kernel's scheduler; every
other key works in both. The same ids are what `[keys]` in the config file remaps.
Textual-free, so that the rule is tested without an app.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Scope(enum.Enum):
    BOTH = "both"
    LIVE = "live"
    REPLAY = "replay"


GROUP_SCOPES = {"replay": Scope.REPLAY, "scheduler": Scope.LIVE}
"""Binding-id groups that work in one mode only."""


def scope_of(binding_id: str | None) -> Scope:
    """Where the key with this binding id works."""
    group, dot, _ = (binding_id or "").partition(".")
    return GROUP_SCOPES.get(group, Scope.BOTH) if dot else Scope.BOTH


def works(binding_id: str | None, *, replay: bool) -> bool:
    scope = scope_of(binding_id)
    return scope is Scope.BOTH or (scope is Scope.REPLAY) == replay


def replay_help(keys: Iterable[tuple[str, str, str | None]]) -> str:
    """'Replay: space pause, . step, ...' from (key as shown, description, binding id) of the
    bindings that matter in a replay: the replay group, and pause."""
    parts = [f"{key} {description.lower()}" for key, description, binding_id in keys
             if scope_of(binding_id) is Scope.REPLAY or binding_id == "pause"]
    return "Replay: " + ", ".join(parts) + "." if parts else ""
