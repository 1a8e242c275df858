"""Replay position over a recording: play, pause, step and seek, without Textual.

The dashboard asks `advance()` on each tick; a seek tells it which samples to feed again so the
runqueue history and the sched_ext timeline match the new position.
"""

from __future__ import annotations

from collections.abc import Sequence

from scxtop.model import Sample
from scxtop.recording.load import typical_interval


class Playback:
    def __init__(self, samples: Sequence[Sample], path: str = "") -> None:
        if not samples:
            raise ValueError("a recording with no samples cannot be replayed")
        self.samples = tuple(samples)
        self.path = path
        self.index = -1
        """Position of the sample on screen; -1 before the first tick."""
        self.paused = False

    @property
    def typical_interval(self) -> float:
        """The playback period: `scxtop.recording.load.typical_interval` of the samples."""
        return typical_interval(self.samples)

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def at_end(self) -> bool:
        return self.index >= len(self.samples) - 1

    @property
    def current(self) -> Sample | None:
        return self.samples[self.index] if self.index >= 0 else None

    def advance(self) -> Sample | None:
        """The next sample when playing; None when paused or at the end."""
        if self.paused or self.at_end:
            return None
        self.index += 1
        return self.samples[self.index]

    def seek(self, index: int) -> int:
        """Move to `index` (clamped); returns the new position."""
        self.index = max(0, min(index, len(self.samples) - 1))
        return self.index

    def step(self, delta: int) -> int:
        return self.seek(self.index + delta)

    def window(self, length: int) -> tuple[Sample, ...]:
        """The samples up to the current one, newest last, to rebuild history after a seek."""
        start = max(0, self.index - length + 1)
        return self.samples[start : self.index + 1]

    def describe(self) -> str:
        sample = self.current
        position = f"{self.index + 1}/{len(self.samples)}"
        elapsed = f" t={sample.elapsed_s:.1f}s" if sample else ""
        return f"{position}{elapsed}"
