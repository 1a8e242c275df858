"""The sched_ext timeline: loads, switches and ejections seen while scxtop runs.

Sources may report events themselves (`Sample.scx_events`); when a sample carries none, a change
of the running scheduler between two samples is turned into an event here, so the timeline is
never silent about a change it could see.
"""

from __future__ import annotations

from collections import deque

from scxtop.model import Sample, SchedExtEvent, SchedExtEventKind, SchedExtState


def _change(before: SchedExtState, after: SchedExtState, time: float) -> SchedExtEvent | None:
    if before.ops == after.ops and before.enable_seq == after.enable_seq:
        return None
    if before.ops is None:
        kind = SchedExtEventKind.LOADED
    elif after.ops is None:
        kind = SchedExtEventKind.UNLOADED
    elif before.ops != after.ops:
        kind = SchedExtEventKind.SWITCHED
    else:
        kind = SchedExtEventKind.LOADED
    return SchedExtEvent(time=time, kind=kind, ops=after.ops, previous=before.ops, inferred=True)


class ScxTimeline:
    def __init__(self, keep: int = 50) -> None:
        self.events: deque[SchedExtEvent] = deque(maxlen=keep)
        self._last: SchedExtState | None = None

    def add(self, sample: Sample) -> None:
        if sample.scx_events:
            self.events.extend(sample.scx_events)
        elif self._last is not None and sample.scx.supported:
            event = _change(self._last, sample.scx, sample.time)
            if event is not None:
                self.events.append(event)
        self._last = sample.scx

    def note(self, event: SchedExtEvent) -> None:
        """An event scxtop caused or learned about outside the samples (a switch it made)."""
        self.events.append(event)

    def clear(self) -> None:
        self.events.clear()
        self._last = None
