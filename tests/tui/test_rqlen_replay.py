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


async def test_a_gap_row_shows_no_values_and_says_so():
    """A recorded gap (bpftrace stalled) plays as a row with nothing in it and a status-line note."""
    from dataclasses import replace

    from scxtop.model import CpuStats
    from scxtop.tui.status_line import StatusLine

    good = list(load_recording(CAPTURE).samples[:3])
    note = "no data at 12:00:03 (bpftrace stalled, report 5.0 s late)"
    gap = replace(good[-1], time=good[-1].time + 0.02, cpus=tuple(CpuStats(cpu=c.cpu) for c in good[-1].cpus),
                  gap=True, limitations=(note,))
    app = ScxtopApp(playback=Playback([*good, gap], path="gap.jsonl"), topology=synthetic_topology(2))
    async with app.run_test(size=(140, 45)) as pilot:

        def status_text() -> str:
            region = app.query_one(StatusLine).region
            strips = app.screen._compositor.render_strips()
            return "".join(s.crop(region.x, region.right).text for s in strips[region.y:region.bottom])

        # the gap row is the last: once it is the latest sample, the status line says so on its
        # next render tick (a loaded machine delays that tick, so it is waited for, not assumed)
        await wait_for(pilot, lambda: app.latest is not None and app.latest.gap)
        await wait_for(pilot, lambda: "no data at 12:00:03" in status_text())
