"""SVG snapshots of the dashboard (pytest-textual-snapshot), fed by fixed replay data.

Update after an intended change with: pytest tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from synthetic import FixedSource, sample, samples
from tui_helpers import FakeSwitcher, wait_for

from scxtop.kernel.topology import synthetic_topology
from scxtop.model import SchedExtEvent, SchedExtEventKind, SchedExtState
from scxtop.recording import load_recording
from scxtop.tui.app import ScxtopApp
from scxtop.tui.playback import Playback

pytestmark = pytest.mark.usefixtures("utc")

RECORDING = Path(__file__).parent.parent / "fixtures/recordings/contention.jsonl"
SIZE = (140, 45)


def _replay(items, nr_cpus=4) -> ScxtopApp:
    return ScxtopApp(playback=Playback(items, "fixed.jsonl"), topology=synthetic_topology(nr_cpus))


def _at(index: int):
    """Before the snapshot: pause the replay on sample `index`, nothing focused."""
    async def run_before(pilot) -> None:
        pilot.app.set_focus(None)
        pilot.app._replay_jump(index)
        await pilot.pause(0.5)

    return run_before


def _with_sched_ext(count: int):
    """Synthetic samples where a scheduler loads, is switched, then ejected by the kernel."""
    states = [SchedExtState(True, "disabled", None, 3, False, 0)] * 3 + \
        [SchedExtState(True, "enabled", "scx_alpha", 4, True, 0)] * 3 + \
        [SchedExtState(True, "enabled", "scx_beta", 5, True, 1)] * 3 + \
        [SchedExtState(True, "disabled", None, 5, False, 1)] * (count - 9)
    items = [sample(i, scx=state) for i, state in enumerate(states)]
    ejected = SchedExtEvent(time=items[9].time, kind=SchedExtEventKind.EJECTED, ops="scx_beta",
                            detail="runnable task stall (watchdog)")
    items[9] = replace(items[9], scx_events=(ejected,))
    return items


def test_dashboard_on_fixed_data(snap_compare):
    assert snap_compare(_replay(_with_sched_ext(12)), terminal_size=SIZE, run_before=_at(11))


def test_dashboard_on_the_shipped_recording(snap_compare):
    recorded = load_recording(RECORDING).samples
    app = ScxtopApp(playback=Playback(recorded, RECORDING.name), topology=synthetic_topology(2, smt=1))
    assert snap_compare(app, terminal_size=SIZE, run_before=_at(len(recorded) - 1))


def test_grouped_by_core_on_64_cpus_at_80x24(snap_compare):
    async def run_before(pilot) -> None:
        await _at(4)(pilot)
        await pilot.press("g")
        await wait_for(pilot, lambda: pilot.app.grouping.value == "core")

    assert snap_compare(_replay(samples(5, 64), 64), terminal_size=(80, 24), run_before=run_before)


def test_1024_cpus_rank_migration_pairs(snap_compare):
    assert snap_compare(_replay(samples(3, 1024), 1024), terminal_size=SIZE, run_before=_at(2))


def test_too_small_terminal(snap_compare):
    assert snap_compare(_replay(samples(3)), terminal_size=(60, 20), run_before=_at(2))


def test_help_screen(snap_compare):
    async def run_before(pilot) -> None:
        await _at(2)(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: pilot.app.screen.id != "_default")
        await pilot.pause(0.3)

    assert snap_compare(_replay(samples(3)), terminal_size=SIZE, run_before=run_before)


def test_scheduler_picker(snap_compare):
    source = FixedSource(samples(2))
    app = ScxtopApp(source_factory=lambda interval: source, topology=synthetic_topology(4),
                    switcher_factory=FakeSwitcher)

    async def run_before(pilot) -> None:
        await wait_for(pilot, lambda: app.samples_seen == 2 and not app._dirty)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.screen.id != "_default")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_charts_and_latency_at_80x24(snap_compare):
    assert snap_compare(_replay(samples(12)), terminal_size=(80, 24), run_before=_at(11))


def test_charts_in_the_light_theme(snap_compare):
    async def run_before(pilot) -> None:
        pilot.app.theme = "textual-light"
        await _at(11)(pilot)

    assert snap_compare(_replay(samples(12)), terminal_size=SIZE, run_before=run_before)
