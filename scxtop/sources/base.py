"""What every source is: the `Source` protocol a worker drives, and `SourceError` for failures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from scxtop.errors import ScxtopError
from scxtop.model import Sample


class SourceError(ScxtopError):
    """A source cannot start or keep running; the message says what to do, in one line."""


class Source(Protocol):
    @property
    def name(self) -> str:
        """Short label for the status line and the CSV (e.g. 'bpftrace', 'procfs', 'replay')."""
        ...

    interval_s: float
    """Seconds per sample; a live source picks up a change at its next interval."""

    def samples(self) -> Iterator[Sample]:
        """Yield one Sample per interval until closed (or the recording ends)."""
        ...

    def close(self) -> None:
        """Stop collecting and release everything (child processes, sockets). Idempotent."""
        ...
