"""The before/after report in the dashboard: a notification when the after window closes, the `r`
screen with both sides, and the sched_ext counters as rates in the sched_ext panel."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from synthetic import sample
from test_app import SIZE, live_app, shown
from tui_helpers import wait_for

from scxtop.kernel.topology import synthetic_topology
from scxtop.model import SchedExtEvent, SchedExtEventKind, SchedExtState
from scxtop.recording import load_recording
from scxtop.sched_ext.report import reports_from
from scxtop.tui.app import ScxtopApp
from scxtop.tui.playback import Playback
from scxtop.tui.report_screen import ReportScreen
from scxtop.tui.schedext_panel import SchedExtPanel

RECORDING = Path(__file__).resolve().parents[1] / "fixtures/recordings/switch.jsonl"
"""`scxtop log --jsonl` across a real switch (default -> scx_tfifo) in the sched_ext guest."""


def _switch_samples(before: int = 12, after: int = 12):
    off = SchedExtState(True, "disabled", None, 4, False, 0)
    items = [sample(i, scx=off) for i in range(before)]
    loaded = SchedExtEvent(items[-1].time + 1, SchedExtEventKind.LOADED, "scx_alpha", by_us=True)
    for i in range(before, before + after + 1):
        counters = (("SCX_EV_SELECT_CPU_FALLBACK", 7 * (i - before)), ("SCX_EV_BYPASS_ACTIVATE", 0))
        on = SchedExtState(True, "enabled", "scx_alpha", 5, True, 0, events=counters)
        item = sample(i, scx=on)
        items.append(replace(item, scx_events=(loaded,)) if i == before else item)
    return items


async def test_a_report_is_announced_and_r_shows_both_sides():
    app, _ = live_app(_switch_samples())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 25 and not app._dirty)
        await wait_for(pilot, lambda: any(n.message == "switch: default -> scx_alpha: no clear change"
                                          for n in app._notifications))  # as test_app.py reads them
        panel = shown(app.query_one(SchedExtPanel))
        assert "bypass no" in panel and "events/s select_cpu_fallback 7" in panel
        await pilot.press("r")
        assert isinstance(app.screen, ReportScreen)
        await wait_for(pilot, lambda: "change" in shown(app.screen.query_one("#report-body")))
        body = shown(app.screen.query_one("#report-body"))
        assert "switch: default -> scx_alpha" in body and "by scxtop" in body
        assert "10 samples before, 10 after" in body
        assert "default" in body and "scx_alpha" in body
        row = next(line for line in body.splitlines() if "SCX_EV_SELECT_CPU_FALLBACK/s" in line)
        assert row.split()[-2:] == ["n/a", "7.00"]
        await pilot.press("escape")
        assert not isinstance(app.screen, ReportScreen)


async def test_r_before_any_change_says_what_it_waits_for():
    app, _ = live_app(_switch_samples(before=3, after=2))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 6 and not app._dirty)
        await pilot.press("r")
        await wait_for(pilot, lambda: "after window" in shown(app.screen.query_one("#report-body")))
        assert "default -> scx_alpha: collecting the after window, 2 of 10s" in \
            shown(app.screen.query_one("#report-body"))


async def test_replay_of_a_real_switch_rebuilds_the_report_when_seeking():
    samples = load_recording(RECORDING).samples
    expected = reports_from(samples)
    assert expected and expected[0].before_scheduler == "default"
    app = ScxtopApp(playback=Playback(samples, "switch.jsonl"), topology=synthetic_topology(2))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        await wait_for(pilot, lambda: len(app.reports) == len([r for r in expected if not r.cut_short]))
        await pilot.press("r")
        await wait_for(pilot, lambda: "change" in shown(app.screen.query_one("#report-body")))
        body = shown(app.screen.query_one("#report-body"))
        assert f"switch: default -> {expected[0].after_scheduler}" in body
        assert "wakeup latency p99 (us)" in body and "context switches/s" in body
        await pilot.press("escape")
        await pilot.press("home")
        await wait_for(pilot, lambda: app.reports == [])
