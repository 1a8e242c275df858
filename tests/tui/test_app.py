"""The dashboard driven by Pilot: every panel shows the fixed data, every key does its job."""

from __future__ import annotations

import threading

import pytest
from synthetic import HOT_CPU, FixedSource, sample, samples
from textual.widgets import DataTable, Input
from tui_helpers import FakeSwitcher, wait_for

from scxtop.kernel.topology import Grouping, synthetic_topology
from scxtop.model import SchedExtState
from scxtop.sched_ext.types import SchedulerEntry
from scxtop.sources.base import SourceError
from scxtop.tui.app import ScxtopApp
from scxtop.tui.chains_panel import ChainsPanel
from scxtop.tui.collector import Backoff
from scxtop.tui.confirm_screen import ConfirmScreen
from scxtop.tui.cpu_panel import CpuPanel
from scxtop.tui.help_screen import HelpScreen
from scxtop.tui.messages import SampleArrived
from scxtop.tui.migrations_panel import MigrationsPanel
from scxtop.tui.picker_screen import PickerScreen, next_scheduler
from scxtop.tui.playback import Playback
from scxtop.tui.schedext_panel import SchedExtPanel
from scxtop.tui.status_line import StatusLine
from scxtop.tui.tasks_panel import TasksPanel

SIZE = (140, 45)


def lines(widget) -> list[str]:
    """What a widget shows on screen (border included), as plain text lines."""
    region = widget.region
    strips = widget.screen._compositor.render_strips()
    return [strip.crop(region.x, region.right).text for strip in strips[region.y : region.bottom]]


def shown(widget) -> str:
    return "\n".join(lines(widget))


def tree_labels(tree: ChainsPanel) -> list[str]:
    labels = []

    def walk(node):
        for child in node.children:
            labels.append(str(child.label))
            walk(child)

    walk(tree.root)
    return labels


def live_app(items=None, **kwargs) -> tuple[ScxtopApp, FixedSource]:
    source = FixedSource(items if items is not None else samples(2))
    app = ScxtopApp(source_factory=lambda interval: source, topology=synthetic_topology(4), **kwargs)
    return app, source


def replay_app(count=30, nr_cpus=4, **kwargs) -> ScxtopApp:
    return ScxtopApp(playback=Playback(samples(count, nr_cpus), "fixed.jsonl"),
                     topology=synthetic_topology(nr_cpus), **kwargs)


async def test_every_panel_shows_the_live_sample():
    app, source = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 2 and not app._dirty)
        cpus = shown(app.query_one(CpuPanel))
        assert "cpu1" in cpus and "HOT" in cpus and "2001" in cpus  # csw/s of cpu1 in sample 1
        assert "imbalance: cpu1" in app.query_one(CpuPanel).border_subtitle
        migrations = shown(app.query_one(MigrationsPanel))
        assert "flipper" in migrations and "250/s" in migrations
        labels = tree_labels(app.query_one(ChainsPanel))
        assert any("pipe-owner[4244] prio 139" in label and "runnable on cpu1" in label for label in labels)
        assert any("pipe-writer[4242]" in label and "priority inversion" in label for label in labels)
        assert any(label.startswith("DEADLOCK") for label in labels)
        assert not any("pipe-reader" in label for label in labels)  # an ended wait is no chain...
        assert "1 wait ended this interval, longest 40 µs: pipe-reader[4245]" in shown(
            app.query_one(ChainsPanel))  # ...but it is counted
        assert app.query_one(TasksPanel).row_count == 3
        assert "this kernel has no sched_ext" in shown(app.query_one(SchedExtPanel))
        status = shown(app.query_one(StatusLine))
        assert "synthetic" in status and "lost events 1" in status and "cannot see: no cpufreq" in status
        assert "wakeup p50 4µs p99 512µs" in status
    assert source.closed


async def test_sched_ext_panel_shows_state_and_timeline():
    states = [SchedExtState(True, "disabled", None, 4, False, 0),
              SchedExtState(True, "enabled", "scx_alpha", 5, True, 2)]
    app, _ = live_app([sample(i, scx=s) for i, s in enumerate(states)])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 2 and not app._dirty)
        text = shown(app.query_one(SchedExtPanel))
        assert "scheduler scx_alpha" in text
        assert "enable_seq 5" in text and "switch_all yes" in text and "nr_rejected 2" in text
        assert "loaded" in text and "scx_alpha" in text


async def test_q_quits_and_closes_the_source():
    app, source = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 2)
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)
    assert source.closed


async def test_space_freezes_the_display_and_resumes():
    app, _ = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 2)
        await pilot.press("space")
        frozen = app.latest
        app.post_message(SampleArrived(sample(7)))
        await wait_for(pilot, lambda: app.samples_seen == 3)
        assert app.latest is frozen
        assert "PAUSED" in shown(app.query_one(StatusLine))
        await pilot.press("space")
        app.post_message(SampleArrived(sample(8)))
        await wait_for(pilot, lambda: app.latest is not frozen)
        assert app.latest.elapsed_s == 9.0
        assert "PAUSED" not in shown(app.query_one(StatusLine))


async def test_the_first_sample_and_a_new_sources_first_are_drawn_without_waiting_for_the_tick(monkeypatch):
    """The warm start's first procfs sample, and bpftrace's first tick after it, are drawn when
    they arrive; a sample right after a drawing waits for the shortest gap between two (an hour
    here)."""
    monkeypatch.setattr("scxtop.tui.app.RENDER_TICK", 3600.0)
    app, _ = live_app(items=[])
    async with app.run_test(size=SIZE) as pilot:
        status = app.query_one(StatusLine)
        assert "waiting for the first sample" in shown(status)
        app.post_message(SampleArrived(sample(1, source="procfs")))
        await wait_for(pilot, lambda: "procfs" in shown(status))
        app.post_message(SampleArrived(sample(2, source="procfs")))
        await wait_for(pilot, lambda: app.samples_seen == 2)
        await pilot.pause()
        assert app._dirty  # the same source: drawn on the next tick
        app.post_message(SampleArrived(sample(3, source="bpftrace")))
        await wait_for(pilot, lambda: "bpftrace" in shown(status))
        assert not app._dirty


async def test_plus_and_minus_change_the_source_interval():
    app, source = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app._source is source)
        await pilot.press("plus")
        assert app.interval == 2.0 and source.interval_s == 2.0
        await pilot.press("minus", "minus", "minus")
        assert app.interval == 0.2 and source.interval_s == 0.2
        assert "every 0.2s" in shown(app.query_one(StatusLine))


async def test_g_cycles_grouping_with_group_sums():
    app, _ = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 2)
        panel = app.query_one(CpuPanel)
        seen = {}
        for _ in range(4):
            await pilot.press("g")
            seen[app.grouping] = [r.label for r in panel.rows]
        assert seen[Grouping.CORE] == ["core0 0-1", "core1 2-3"]
        assert seen[Grouping.LLC] == ["llc0 0-3"] and seen[Grouping.NODE] == ["node0 0-3"]
        assert seen[Grouping.CPU] == ["cpu0", "cpu1", "cpu2", "cpu3"]
        await pilot.press("g")
        assert "core0 0-1" in shown(panel)  # grouped rows name their members


async def test_slash_filters_tasks_by_name():
    app, _ = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 2)
        await pilot.press("slash")
        box = app.query_one("#filter", Input)
        assert box.display and box.has_focus
        assert app.check_action("close_filter", ()) is True  # escape shows in the footer now
        await pilot.press(*"PIPE")
        table = app.query_one(TasksPanel)
        assert table.row_count == 1
        assert str(table.get_row_at(0)[1]) == "pipe-writer"
        await pilot.press("escape")
        assert not box.display and table.has_focus
        assert table.row_count == 1  # the filter stays until cleared
        assert "filter: PIPE" in table.border_subtitle


async def test_tab_cycles_focus_through_the_panels():
    app, _ = live_app()
    async with app.run_test(size=SIZE) as pilot:
        focused = []
        for _ in range(4):
            await pilot.press("tab")
            focused.append(app.focused.id if app.focused else None)
        assert {"cpus", "chains", "tasks"} <= set(focused)


async def test_question_mark_opens_help_listing_the_keys():
    app, _ = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await wait_for(pilot, lambda: "Quit" in shown(app.screen.query_one("Vertical")))
        text = shown(app.screen.query_one("Vertical"))
        for description in ("Quit", "Pause", "Group", "Filter", "Scheduler", "Next sched"):
            assert description in text
        assert "Step" not in text  # replay keys are not offered live
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_lists_every_action():
    app, _ = live_app()
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for binding in app._visible_bindings():
            assert any(binding.description in t for t in titles), binding.description
        await wait_for(pilot, lambda: app.samples_seen == 2)
        await pilot.press("ctrl+p")
        await pilot.press(*"Group (g)")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.grouping is Grouping.CORE)


async def test_s_picks_a_scheduler_confirms_and_shows_the_outcome():
    switcher = FakeSwitcher()
    app, _ = live_app(switcher_factory=lambda: switcher)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 2)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        table = app.screen.query_one(DataTable)
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert names == ["default", "scx_alpha", "scx_beta"]
        assert table.get_row_at(0)[1] == "running"
        await pilot.press("down", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert switcher.calls == []  # nothing happens before the answer
        await pilot.press("y")
        await wait_for(pilot, lambda: switcher.calls == ["scx_beta"])
        await wait_for(pilot, lambda: "switched to scx_beta in 0.25s" in shown(app.query_one(SchedExtPanel)))
        assert "stopping default" in shown(app.query_one(SchedExtPanel))
        # the timeline gets the change from the samples' tracker, not a second copy from the app
        assert not app.timeline.events


async def test_declining_the_confirmation_switches_nothing():
    switcher = FakeSwitcher()
    app, _ = live_app(switcher_factory=lambda: switcher)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause(0.2)
        assert switcher.calls == []


async def test_n_switches_to_the_next_scheduler_without_confirmation_when_configured_off():
    switcher = FakeSwitcher()
    app, _ = live_app(switcher_factory=lambda: switcher, confirm_switch=False, switch_timeout=75.0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: switcher.calls == ["scx_alpha"])
        await pilot.press("n")
        await wait_for(pilot, lambda: switcher.calls == ["scx_alpha", "scx_beta"])
        assert switcher.timeouts == [75.0, 75.0]  # [dashboard] switch_timeout


async def test_a_failed_switch_is_reported_and_the_timeline_waits_for_the_tracker():
    switcher = FakeSwitcher(fail=True)
    app, _ = live_app(switcher_factory=lambda: switcher, confirm_switch=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: "default restored" in shown(app.query_one(SchedExtPanel)))
        assert any(n.severity == "error" and "default restored" in n.message for n in app._notifications)
        # the failure reaches the timeline only from the samples (the tracker reads the journal)
        assert not app.timeline.events


async def test_n_after_a_failed_switch_walks_on_past_the_one_that_failed():
    switcher = FakeSwitcher(fail=True)
    app, _ = live_app(switcher_factory=lambda: switcher, confirm_switch=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: switcher.calls == ["scx_alpha"] and app.switching is None)
        await pilot.press("n")  # not scx_alpha again: the next one in the list
        await wait_for(pilot, lambda: switcher.calls == ["scx_alpha", "scx_beta"] and app.switching is None)
        switcher.fail = False
        await pilot.press("n")  # past scx_beta, default runs: the list wraps to scx_alpha
        await wait_for(pilot, lambda: switcher.calls == ["scx_alpha", "scx_beta", "scx_alpha"])
        await wait_for(pilot, lambda: app.switching is None)
        await pilot.press("n")  # a switch that worked: the one after the running one, as before
        await wait_for(pilot, lambda: switcher.calls[-1:] == ["scx_beta"] and len(switcher.calls) == 4)


def test_next_scheduler_after_a_failure_skips_the_running_one_and_ignores_unknown_names():
    names = ("default", "scx_a", "scx_b")
    entries = [SchedulerEntry(name=n, program=None, running=n == "scx_b") for n in names]
    assert next_scheduler(entries).name == "default"
    assert next_scheduler(entries, after_failed="scx_a").name == "default"
    assert next_scheduler(entries, after_failed="default").name == "scx_a"  # scx_b runs: skipped
    assert next_scheduler(entries, after_failed="scx_gone").name == "default"
    only = [SchedulerEntry(name="default", program=None, running=True)]
    assert next_scheduler(only, after_failed="default") is None


class SlowSwitcher(FakeSwitcher):
    """A switch that takes until the test lets it finish."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.printed: tuple[str, ...] = ()

    def switch(self, name, mode=None, timeout=10.0, progress=None):
        assert self.release.wait(30), "the test never released the switch"
        return super().switch(name, mode, timeout, progress)

    def output(self, lines: int) -> tuple[str, ...]:
        return self.printed[-lines:]


async def test_s_and_n_are_unavailable_while_a_switch_is_in_flight():
    switcher = SlowSwitcher()
    app, _ = live_app(switcher_factory=lambda: switcher, confirm_switch=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 2)
        await pilot.press("n")
        await wait_for(pilot, lambda: app.switching == "scx_alpha")
        assert app.check_action("next_scheduler", ()) is None  # greyed in the footer, not hidden
        assert app.check_action("pick_scheduler", ()) is None
        await wait_for(pilot, lambda: "switching… to scx_alpha" in shown(app.query_one(SchedExtPanel)))
        await pilot.press("n", "s", "n")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, PickerScreen)
        switcher.release.set()
        await wait_for(pilot, lambda: app.switching is None)
        assert switcher.calls == ["scx_alpha"]  # one switch, not three
        assert app.check_action("next_scheduler", ()) is True
        # the panel redraws on the next render tick, not at once
        await wait_for(pilot, lambda: "switching…" not in shown(app.query_one(SchedExtPanel)))
        await pilot.press("n")
        await wait_for(pilot, lambda: switcher.calls == ["scx_alpha", "scx_beta"])


async def test_the_running_schedulers_output_is_shown_as_plain_text():
    switcher = SlowSwitcher()
    switcher.release.set()
    switcher.printed = ("local=1 global=2", "[bold red]not markup[/] \x1b[31m", "local=3 global=4")
    running = SchedExtState(True, "enabled", "simple", 5, True, 0)
    app, _ = live_app([sample(i, scx=running) for i in range(2)], switcher_factory=lambda: switcher)
    async with app.run_test(size=SIZE) as pilot:  # no key pressed: started elsewhere, shown anyway
        await wait_for(pilot, lambda: "local=3 global=4" in shown(app.query_one(SchedExtPanel)))
        text = shown(app.query_one(SchedExtPanel))
        assert "[bold red]not markup[/]" in text and "local=1 global=2" in text


async def test_switch_keys_without_a_switcher_say_so():
    app, _ = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: any("not available" in n.message for n in app._notifications))


async def test_a_failing_source_becomes_a_notification_and_is_retried():
    good = FixedSource(samples(2))
    attempts = []
    retry_seen = threading.Event()

    def factory(interval):
        attempts.append(interval)
        if len(attempts) < 3:
            raise SourceError(
                "bpftrace exited: tracefs not mounted: mount -t tracefs nodev /sys/kernel/tracing"
            )
        retry_seen.wait(timeout=60)  # recover only once the test has seen the retry on screen
        return good

    app = ScxtopApp(source_factory=factory, topology=synthetic_topology(4),
                    backoff=Backoff(first=0.2, cap=0.4))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "retrying in 0.4s (attempt 2)" in shown(app.query_one(StatusLine)))
        assert "tracefs not mounted" in shown(app.query_one(StatusLine))
        assert any("tracefs not mounted" in n.message for n in app._notifications)
        retry_seen.set()
        await wait_for(pilot, lambda: app.samples_seen == 2)
        assert len(attempts) == 3
        await wait_for(pilot, lambda: "retrying" not in shown(app.query_one(StatusLine)))


async def test_replay_steps_and_seeks():
    app = replay_app(count=30)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.playback.index >= 0)
        await pilot.press("space")
        assert app.playback.paused
        start = app.playback.index
        await pilot.press("full_stop")
        assert app.playback.index == start + 1
        await pilot.press("comma", "comma")
        assert app.playback.index == max(0, start - 1)
        await pilot.press("right_square_bracket")
        assert app.playback.index == max(0, start - 1) + 10
        await pilot.press("left_square_bracket")
        assert app.playback.index == max(0, start - 1)
        app.query_one(CpuPanel).focus()  # replay's home/end win over the panel's scrolling
        await pilot.press("end")
        assert app.playback.index == 29 and app.latest.elapsed_s == 30.0
        assert "30/30" in shown(app.query_one(StatusLine))
        await pilot.press("home")
        assert app.playback.index == 0
        assert len(app.query_one(CpuPanel).rows[HOT_CPU].history) == 1  # history rebuilt for the position


async def test_replay_plays_by_itself_and_hides_switch_keys():
    app = replay_app(count=3, speed=50.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.playback.at_end)
        assert app.check_action("pick_scheduler", ()) is False
        assert app.check_action("step", ()) is True


async def test_1024_cpus_scroll_without_a_widget_per_cpu():
    source = FixedSource(samples(2, 1024))
    app = ScxtopApp(source_factory=lambda interval: source, topology=synthetic_topology(1024))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 2 and len(app.query_one(CpuPanel).rows) == 1024)
        panel = app.query_one(CpuPanel)
        assert len(panel.children) == 0
        panel.focus()
        await pilot.press("end")  # live, end is the panel's own: scroll to the last CPU
        await wait_for(pilot, lambda: "cpu1023" in shown(panel))
        assert "cpu1023" in shown(panel)
        assert "cpu0 " not in shown(panel)
        assert lines(panel)[1].lstrip("│ ").startswith("CPU")  # header stays at the top


@pytest.mark.parametrize("size", [(80, 24), (79, 24), (20, 5), (1, 1), (200, 60)])
async def test_any_terminal_size_is_survived(size):
    app = replay_app(count=3, nr_cpus=64)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen >= 1)
        await pilot.resize_terminal(*size)
        small = size[0] < 80 or size[1] < 24
        await wait_for(pilot, lambda: app.size == size and app.screen.has_class("-too-small") == small)
        if small:
            assert f"this one is {size[0]}x{size[1]}" in str(app.query_one("#too-small").render())
        await pilot.resize_terminal(*SIZE)
        await wait_for(pilot, lambda: not app.screen.has_class("-too-small"))


async def test_n_with_nothing_else_installed_says_so():
    switcher = FakeSwitcher()
    only_default = [SchedulerEntry(name="default", program=None, origin="default", running=True)]
    switcher.schedulers = lambda: only_default
    app, _ = live_app(switcher_factory=lambda: switcher)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: any("no other scheduler" in n.message for n in app._notifications))
        assert not isinstance(app.screen, ConfirmScreen)
        assert switcher.calls == []


async def test_a_single_cpu_machine():
    app = replay_app(count=3, nr_cpus=1)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen >= 1 and not app._dirty)
        panel = app.query_one(CpuPanel)
        assert [r.label for r in panel.rows] == ["cpu0"]
        assert panel.border_subtitle == ""  # one CPU cannot be imbalanced
        for _ in range(4):
            await pilot.press("g")
            assert len(panel.rows) == 1 and panel.rows[0].label.endswith("0")
        assert "(to)" in shown(app.query_one(MigrationsPanel))  # a 1x1 heat map
