"""The dashboard replays a real rqlen.bt capture at its recorded 50 Hz, scaled by --speed."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_helpers import wait_for

from scxtop.kernel.topology import synthetic_topology
from scxtop.recording import load_recording
from scxtop.tui.app import ScxtopApp
from scxtop.tui.playback import Playback

CAPTURE = Path(__file__).parent.parent / "fixtures" / "rqlen_bt" / "bpftrace-0.17.csv"


@pytest.mark.parametrize("speed", [1.0, 2.0])
async def test_rqlen_capture_plays_at_its_own_interval(speed: float):
    rec = load_recording(CAPTURE)
    app = ScxtopApp(playback=Playback(rec.samples, path=str(CAPTURE)), speed=speed,
                    topology=synthetic_topology(2))
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_for(pilot, lambda: app.playback.index >= 10)
        assert app.interval == pytest.approx(0.02, abs=0.002)
        timer = app._replay_timer
        assert timer is not None and timer._interval == pytest.approx(app.interval / speed)
