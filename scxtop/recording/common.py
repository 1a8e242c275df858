"""What the recording readers and writers share: the error, bounded line reading, ISO times."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from scxtop.errors import ScxtopError


class RecordError(ScxtopError):
    """A recording cannot be written or read; the message names the file (and line) and the fix."""


def iso_time(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def recording_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) of a recording; a missing or unreadable file is a one-line RecordError."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            yield from enumerate(handle, start=1)
    except FileNotFoundError:
        raise RecordError(f"{path}: no such recording (record one with: scxtop log --jsonl {path})") from None
    except IsADirectoryError:
        raise RecordError(f"{path}: is a directory, not a recording") from None
    except UnicodeDecodeError:
        raise RecordError(f"{path}: not a text recording (CSV or JSONL expected)") from None
    except OSError as err:
        raise RecordError(f"{path}: cannot read: {err.strerror}") from None
