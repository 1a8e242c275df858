"""The sched_ext timeline: loads, switches, failed switches and ejections seen while scxtop runs.

It decides nothing itself: live sources report the events their sched_ext tracker found
(`Sample.scx_events`). A recording without events (CSV) is read through a tracker of its own,
over the recorded states, so a replay gets the same rule as a live run.
"""

from __future__ import annotations

from collections import deque

from scxtop.kernel.scx_tracker import SchedExtTracker
from scxtop.model import Sample, SchedExtEvent


class ScxTimeline:
    def __init__(self, keep: int = 50) -> None:
        self.events: deque[SchedExtEvent] = deque(maxlen=keep)
        self._tracker = _RecordedTracker()

    def add(self, sample: Sample) -> None:
        derived = self._tracker.update(sample)
        self.events.extend(sample.scx_events or derived)

    def clear(self) -> None:
        self.events.clear()
        self._tracker = _RecordedTracker()


class _RecordedTracker:
    """The tracker over recorded states: no kernel log to read, no journal, the sample's time."""

    def __init__(self) -> None:
        self._now = 0.0
        self._tracker = SchedExtTracker(log=None, clock=lambda: self._now, journal=None)

    def update(self, sample: Sample) -> tuple[SchedExtEvent, ...]:
        self._now = sample.time
        return self._tracker.update(sample.scx)
