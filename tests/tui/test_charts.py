"""The history charts and the wakeup-latency panel, driven by Pilot: what they show, how the room
is shared with the CPU rows, 80x24, and replay (the since-start histogram follows the position)."""

from __future__ import annotations

from dataclasses import replace

from synthetic import samples
from test_app import SIZE, lines, replay_app, shown
from tui_helpers import wait_for

from scxtop.kernel.topology import synthetic_topology
from scxtop.tui.app import ScxtopApp
from scxtop.tui.charts_panel import ChartsPanel
from scxtop.tui.cpu_panel import CpuPanel
from scxtop.tui.latency_panel import LatencyPanel
from scxtop.tui.playback import Playback

PANELS = ("#cpus", "#charts", "#scx", "#migrations", "#latency", "#chains", "#tasks", "#status")


def _row(panel, label: str) -> str:
    return next(line for line in lines(panel) if f" {label} " in line or f"│{label} " in line)


async def test_latency_panel_shows_the_log2_buckets_with_marks():
    app = replay_app(count=3)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen >= 1 and not app._dirty)
        await pilot.press("space")
        panel = app.query_one(LatencyPanel)
        await wait_for(pilot, lambda: "2µs-4µs" in shown(panel))
        text = shown(panel)
        for label in ("2µs-4µs", "4µs-8µs", "128µs-256µs", "256µs-512µs"):  # empty ones between kept
            assert label in text
        assert "p50" in _row(panel, "2µs-4µs")
        assert "p99 max" in _row(panel, "256µs-512µs")
        assert "█" in _row(panel, "2µs-4µs") and "█" not in _row(panel, "4µs-8µs")
        assert "since start p50 <4µs p99 <512µs max <512µs" in text


async def test_replay_seek_rebuilds_the_since_start_histogram():
    app = replay_app(count=10)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.playback.index >= 0)
        await pilot.press("space", "end")
        assert app.charts.latency_total().total == 10 * 100
        await pilot.press("home")
        assert app.charts.latency_total().total == 100
        await wait_for(pilot, lambda: not app._dirty)
        assert "  90 " in _row(app.query_one(LatencyPanel), "2µs-4µs")


async def test_charts_take_the_room_when_cpus_are_few():
    app = replay_app(count=5, nr_cpus=4)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen >= 2 and not app._dirty)
        cpus, charts = app.query_one(CpuPanel), app.query_one(ChartsPanel)
        await wait_for(pilot, lambda: cpus.region.height == 4 + 1 + 2)  # rows, header, border
        assert charts.region.height > 10
        text = shown(charts)
        assert "runqueue cpu0 cpu1 cpu2 cpu3" in text
        assert "migrations/s" in text and "ctx switches/s" in text
        assert any(ch in text for ch in "⡀⢀⣀⠁⠈⠉")  # braille dots drawn


async def test_many_cpus_get_the_room_and_the_chart_shows_bands():
    app = replay_app(count=5, nr_cpus=64)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen >= 2 and not app._dirty)
        cpus, charts = app.query_one(CpuPanel), app.query_one(ChartsPanel)
        await wait_for(pilot, lambda: charts.region.height == 3)  # collapsed to a sparkline line
        assert cpus.region.height > 20
        assert "runqueue" in shown(charts)
        await pilot.press("g", "g", "g")  # node grouping: 64 rows become a few, the charts come back
        await wait_for(pilot, lambda: charts.region.height > 10)
        assert "runqueue min/mean/max" in shown(charts)


async def test_every_panel_is_usable_at_80x24_and_back():
    app = replay_app(count=5, nr_cpus=4)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen >= 2)
        await pilot.press("space")
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: app.size == (80, 24) and not app._dirty)
        await pilot.pause()
        for selector in PANELS:
            widget = app.query_one(selector)
            assert widget.region.width >= 20 and widget.region.height >= 1, selector
        assert "cpu3" in shown(app.query_one(CpuPanel))  # every CPU row still fits
        assert "p50" in shown(app.query_one(LatencyPanel))
        assert "runqueue" in shown(app.query_one(ChartsPanel))
        await pilot.resize_terminal(*SIZE)
        await wait_for(pilot, lambda: app.query_one(ChartsPanel).region.height > 10)


async def test_a_data_update_changes_no_layout():
    app = replay_app(count=5, nr_cpus=4)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen >= 2 and not app._dirty)
        await pilot.press("space")
        await pilot.pause()
        regions = {s: app.query_one(s).region for s in PANELS}
        await pilot.press("full_stop", "full_stop")
        await pilot.pause()
        assert {s: app.query_one(s).region for s in PANELS} == regions


async def test_procfs_samples_leave_the_latency_panel_honest():
    items = [replace(s, wakeup_latency=None, source="procfs") for s in samples(2)]
    app = ScxtopApp(playback=Playback(items, "fixed.jsonl"), topology=synthetic_topology(4))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen >= 1 and not app._dirty)
        assert "n/a: the procfs source cannot see wakeup latency" in shown(app.query_one(LatencyPanel))
