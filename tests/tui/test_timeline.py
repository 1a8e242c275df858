"""The sched_ext timeline: events from the source, or changes it can see between samples."""

from __future__ import annotations

from dataclasses import replace

from synthetic import sample

from scxtop.model import SchedExtEvent, SchedExtEventKind, SchedExtState
from scxtop.tui.timeline import ScxTimeline


def _state(ops, seq):
    return SchedExtState(supported=True, state="enabled" if ops else "disabled", ops=ops, enable_seq=seq)


def test_changes_between_recorded_samples_become_events():
    timeline = ScxTimeline()
    for i, (ops, seq) in enumerate([(None, 0), ("rusty", 1), ("rusty", 1), ("lavd", 2), (None, 2),
                                    (None, 2), ("lavd", 3), ("lavd", 4)]):
        timeline.add(sample(i, scx=_state(ops, seq)))
    kinds = [(e.kind, e.ops, e.previous) for e in timeline.events]
    assert kinds == [
        (SchedExtEventKind.LOADED, "rusty", None),
        (SchedExtEventKind.SWITCHED, "lavd", "rusty"),
        (SchedExtEventKind.UNLOADED, "lavd", None),
        (SchedExtEventKind.LOADED, "lavd", None),
        (SchedExtEventKind.SWITCHED, "lavd", "lavd"),  # enable_seq moved: restarted by someone
    ]
    assert timeline.events[-1].detail == "restarted"  # the tracker's rule, as live


def test_source_events_are_taken_as_they_are():
    timeline = ScxTimeline()
    ejected = SchedExtEvent(time=1.0, kind=SchedExtEventKind.EJECTED, ops="scx_stall", detail="watchdog")
    s = sample(0, scx=_state(None, 1))
    timeline.add(s)
    timeline.add(replace(s, scx_events=(ejected,), scx=_state("x", 9)))
    assert list(timeline.events) == [ejected]


def test_unsupported_kernel_has_an_empty_timeline():
    timeline = ScxTimeline()
    for i in range(3):
        timeline.add(sample(i))
    assert not timeline.events
