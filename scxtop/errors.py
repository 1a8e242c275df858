"""The one error type users see: every failure a user can act on subclasses `ScxtopError`.

The CLI prints `scxtop: <message>` on one line and exits with `status`; the message names the fix.
"""

from __future__ import annotations


class ScxtopError(Exception):
    status: int = 2

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class ConfigError(ScxtopError):
    """scxtop's config file is unreadable, malformed or unsafe (scxtop.configfile, scxtop.settings)."""
