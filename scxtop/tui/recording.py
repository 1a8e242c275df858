"""Load a whole recording for `scxtop replay`, so the dashboard can step and seek through it."""

from __future__ import annotations

from pathlib import Path

from scxtop.errors import ScxtopError
from scxtop.model import Sample


def load_recording(path: str | Path) -> list[Sample]:
    """Every sample of a JSONL or CSV recording; a one-line error when it cannot be replayed."""
    from scxtop import record

    path = Path(path)
    if not path.is_file():
        raise ScxtopError(f"{path}: no such recording (record one with: scxtop log --jsonl {path})")
    reader = record.read_csv if path.suffix.lower() == ".csv" else record.read_jsonl
    samples = reader(path)
    if not samples:
        raise ScxtopError(f"{path}: the recording holds no samples")
    return samples
