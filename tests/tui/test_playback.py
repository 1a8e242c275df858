"""Replay position: play, pause, step, seek, and the window that rebuilds history."""

from __future__ import annotations

from dataclasses import replace

import pytest
from synthetic import samples

from scxtop.tui.playback import Playback


def test_plays_to_the_end_then_stops():
    p = Playback(samples(3))
    assert p.current is None
    assert [p.advance().elapsed_s for _ in range(3)] == [1.0, 2.0, 3.0]
    assert p.advance() is None and p.at_end


def test_pause_step_and_seek_clamp():
    p = Playback(samples(20))
    p.advance()
    p.paused = True
    assert p.advance() is None
    assert p.step(1) == 1
    assert p.step(-5) == 0
    assert p.seek(100) == 19
    assert [s.elapsed_s for s in p.window(3)] == [18.0, 19.0, 20.0]
    assert p.describe() == "20/20 t=20.0s"


def test_empty_recording_is_refused():
    with pytest.raises(ValueError):
        Playback([])


def test_playback_period_is_the_median_interval():
    items = samples(5)
    items[0] = replace(items[0], interval_s=17.0)  # a CSV's first row spans from the start
    assert Playback(items).typical_interval == 1.0
