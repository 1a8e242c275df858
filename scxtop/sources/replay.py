"""Replay a recording as a `Source`: each sample after its recorded interval / speed.

Reading the formats lives in `scxtop.recording`; this is only the pacing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from scxtop.model import Sample
from scxtop.recording.load import Recording, load_recording


class ReplaySource:
    """A recording played as a live source: each sample after its recorded interval / speed."""

    name = "replay"

    def __init__(self, recording: Recording | str | Path, speed: float = 1.0, paced: bool = True) -> None:
        self.recording = recording if isinstance(recording, Recording) else load_recording(recording)
        self.interval_s = self.recording.interval_s
        self.speed = speed
        self.paced = paced
        self.position = 0
        """Index of the next sample to play; moving it seeks (`scxtop log --source replay:` plays
        from 0; the dashboard seeks a recording through tui.playback, not through this)."""
        self._stop = threading.Event()

    def samples(self) -> Iterator[Sample]:
        samples = self.recording.samples
        while self.position < len(samples) and not self._stop.is_set():
            sample = samples[self.position]
            if self.paced and self._stop.wait(sample.interval_s / self.speed):
                return
            self.position += 1
            yield sample

    def close(self) -> None:
        self._stop.set()
