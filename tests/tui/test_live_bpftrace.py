"""The live dashboard on this machine's real bpftrace, under a real load, for a few seconds.

Busy loops pinned to CPU 1 and a task flipping between CPU 0 and 1 run meanwhile; the dashboard
must show real runqueue numbers for every CPU, the flipper among the top migrating tasks, and
leave no bpftrace behind when it quits.
"""

from __future__ import annotations

import os

import psutil
import pytest
from tui_helpers import wait_for
from workloads import bpf_skip_reason, flipping_task, pinned_busy_loops

from scxtop.sources import open_source
from scxtop.tui.app import ScxtopApp
from scxtop.tui.cpu_panel import CpuPanel
from scxtop.tui.migrations_panel import MigrationsPanel
from scxtop.tui.status_line import StatusLine

pytestmark = pytest.mark.bpf

SIZE = (140, 45)


def _screen_text(app, widget_type) -> str:
    widget = app.query_one(widget_type)
    region = widget.region
    strips = app.screen._compositor.render_strips()
    return "\n".join(s.crop(region.x, region.right).text for s in strips[region.y : region.bottom])


def _bpftrace_children() -> list[psutil.Process]:
    me = psutil.Process()
    return [p for p in me.children(recursive=True) if p.name() == "bpftrace"]


@pytest.mark.skipif(bpf_skip_reason() is not None, reason=bpf_skip_reason() or "")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the pinned load needs two CPUs")
async def test_live_dashboard_shows_real_numbers():
    app = ScxtopApp(source_factory=lambda interval: open_source("bpftrace", interval), interval=1.0)
    with pinned_busy_loops(cpu=1, count=3), flipping_task((0, 1), 0.002) as flipper:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.samples_seen >= 3, limit_s=90)
            await wait_for(pilot, lambda: any(m.pid == flipper for m in app.latest.top_migrators or ()),
                           limit_s=30)
            await pilot.press("space")  # freeze the display: what is on screen is app.latest
            await wait_for(pilot, lambda: not app._dirty)
            sample = app.latest
            assert sample.source == "bpftrace"
            assert [c.cpu for c in sample.cpus] == list(range(os.cpu_count()))
            assert all(c.rq is not None and c.csw is not None for c in sample.cpus)
            assert sample.cpus[1].rq >= 2.0  # three loops pinned there: a real queue
            cpus = _screen_text(app, CpuPanel)
            for stats in sample.cpus:
                row = cpus.split(f"cpu{stats.cpu} ", 1)[1].splitlines()[0]
                assert row.split()[0] == f"{stats.rq:.1f}"
            assert str(flipper) in _screen_text(app, MigrationsPanel)
            assert "bpftrace" in _screen_text(app, StatusLine)
            assert _bpftrace_children(), "the dashboard's bpftrace should be running"
            await pilot.press("q")
    assert _bpftrace_children() == []  # nothing left behind


@pytest.mark.skipif(bpf_skip_reason() is not None, reason=bpf_skip_reason() or "")
async def test_warm_start_shows_procfs_while_bpftrace_attaches_then_fills_in():
    from scxtop.sources.warm import open_warm

    app = ScxtopApp(source_factory=lambda interval: open_warm("bpftrace", interval, print), interval=1.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.latest is not None, limit_s=30)
        assert app.latest.source == "procfs"
        await wait_for(pilot, lambda: "bpftrace attaching… " in _screen_text(app, StatusLine)
                       or app.latest.source == "bpftrace", limit_s=10)
        await wait_for(pilot, lambda: app.latest.source == "bpftrace", limit_s=90)
        seen = app.samples_seen
        # the history ran on through the switch: one point per sample, procfs ones included
        assert len(app.history.of((0,))) == min(seen, app.history.length)
        await wait_for(pilot, lambda: "attaching" not in _screen_text(app, StatusLine))
        await pilot.press("q")
    assert _bpftrace_children() == []
