"""Failures of scheduler switching that a user can act on (each message names the fix)."""

from __future__ import annotations

from scxtop.errors import ConfigError, ScxtopError

__all__ = ["ConfigError", "SwitchError"]


class SwitchError(ScxtopError):
    """A switch could not even start: not root, no sched_ext, unknown or unsafe scheduler."""

