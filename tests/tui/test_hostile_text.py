"""Text that other users control reaches the screen as plain text, never as Rich markup.

Any local user can name a process `[/]` (prctl PR_SET_NAME); root's dashboard used to parse it
as markup and die with MarkupError. The live tests run a real process with such a name, busy on a
CPU, under the procfs and the bpftrace sources; the others feed scheduler names, scheduler output
and source failures that look like markup through the real widgets.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace

import pytest
from synthetic import FixedSource, sample, samples
from textual.widgets import DataTable
from tui_helpers import wait_for
from workloads import bpf_skip_reason, pinned_busy_loops

from scxtop.chains import build_chains
from scxtop.kernel.topology import synthetic_topology
from scxtop.model import BlockedEdge, OwnerState, TaskDelay, TaskRef
from scxtop.sched_ext.types import SchedulerEntry, SwitchResult
from scxtop.sources import open_source
from scxtop.tui.app import ScxtopApp
from scxtop.tui.chains_panel import ChainsPanel
from scxtop.tui.confirm_screen import ConfirmScreen
from scxtop.tui.picker_screen import PickerScreen
from scxtop.tui.tasks_panel import TasksPanel

SIZE = (140, 45)
HOSTILE = ("[/]", "[red]x[/red]")
"""A closing tag with nothing open (MarkupError), and a style that would hide its brackets."""

NAMED_SPIN = """
import ctypes, os, sys
ctypes.CDLL(None).prctl(15, sys.argv[2].encode(), 0, 0, 0)  # PR_SET_NAME
os.sched_setaffinity(0, {int(sys.argv[1])})
print("up", flush=True)
while True:
    pass
"""


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def toasts(app) -> str:
    """What the notifications on screen say (rendered, so markup would have been parsed)."""
    from textual.widgets._toast import Toast

    return "\n".join(str(toast.render()) for toast in app.screen.query(Toast))


@contextlib.contextmanager
def named_spinners(cpu: int, names: tuple[str, ...]) -> Iterator[list[int]]:
    procs = [subprocess.Popen([sys.executable, "-c", NAMED_SPIN, str(cpu), name], stdout=subprocess.PIPE,
                              text=True) for name in names]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "up"
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait()
            assert p.stdout is not None
            p.stdout.close()


async def _dashboard_survives_hostile_names(spec: str) -> None:
    app = ScxtopApp(source_factory=lambda interval: open_source(spec, interval), interval=0.5)
    with pinned_busy_loops(cpu=1, count=3), named_spinners(1, HOSTILE) as pids:
        async with app.run_test(size=SIZE) as pilot:
            def shown_pids() -> set[int]:
                tasks = app.latest.delayed_tasks if app.latest else None
                return {t.pid for t in tasks or ()} & set(pids)

            await wait_for(pilot, lambda: bool(shown_pids()), limit_s=180)
            await pilot.press("space")  # freeze: the screen shows app.latest
            await wait_for(pilot, lambda: app.paused and not app._dirty)
            if not shown_pids():  # a sample without them arrived before the freeze: once more
                await pilot.press("space")
                await wait_for(pilot, lambda: bool(shown_pids()) and app.samples_seen > 0, limit_s=60)
                await pilot.press("space")
                await wait_for(pilot, lambda: app.paused and not app._dirty)
            assert app.is_running and app.return_code is None
            table = app.query_one(TasksPanel)
            text = screen_text(app)
            for pid, name in zip(pids, HOSTILE, strict=True):
                if pid in shown_pids():
                    assert str(table.get_cell(str(pid), "comm")) == name
                    assert name in text  # brackets and all: shown, not interpreted
            await pilot.press("q")


async def test_a_process_named_like_markup_under_procfs():
    await _dashboard_survives_hostile_names("procfs")


@pytest.mark.bpf
@pytest.mark.skipif(bpf_skip_reason() is not None, reason=bpf_skip_reason() or "")
async def test_a_process_named_like_markup_under_bpftrace():
    await _dashboard_survives_hostile_names("bpftrace")


def _task(pid: int, comm: str, delay_ns: int) -> TaskDelay:
    return TaskDelay(pid=pid, comm=comm, cpu=0, policy="SCHED_OTHER", nice=0, delay_ns=delay_ns,
                     total_delay_ns=delay_ns)


async def test_duplicate_pids_in_one_sample_do_not_crash_the_tasks_table():
    # A pid can appear twice when a task exits and its pid is reused within one interval.
    tasks = (_task(7, "old", 5_000_000), _task(7, "new", 3_000_000), _task(8, "other", 1_000_000))
    first = replace(sample(0), delayed_tasks=tasks)
    second = replace(sample(1), delayed_tasks=tasks[::-1])
    source = FixedSource([first, second])
    app = ScxtopApp(source_factory=lambda interval: source, topology=synthetic_topology(4))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 2 and not app._dirty)
        table = app.query_one(TasksPanel)
        assert app.is_running
        assert table.row_count == 2
        assert [str(table.get_row_at(i)[1]) for i in range(2)] == ["old", "other"]  # the worst one


async def test_ended_wait_summary_shows_a_markup_comm_plainly():
    edge = BlockedEdge(TaskRef(9, "[/]", 120), 0x1000, TaskRef(10, "[red]o", 120), OwnerState.RUNNING, 0,
                       40_000, ended=True)
    source = FixedSource([replace(sample(0), blocked=(edge,), chains=())])
    app = ScxtopApp(source_factory=lambda interval: source, topology=synthetic_topology(4))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 1 and not app._dirty)
        assert "[/][9]" in screen_text(app)
        assert app.query_one(ChainsPanel).border_subtitle


class MarkupSwitcher:
    """Scheduler names and output as a config file or a scheduler's log could carry them."""

    backend = "direct"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def schedulers(self) -> list[SchedulerEntry]:
        return [SchedulerEntry(name=n, program=None, origin="[b]cfg", running=n == "default")
                for n in ("default", "scx_[/]", "scx_[red]x")]

    def switch(self, name, mode=None, timeout=10.0, progress=None) -> SwitchResult:
        self.calls.append(name)
        if progress:
            progress("[/] progress line")
        return SwitchResult(ok=False, target=name, previous="default", seconds=0.1,
                            message="scx_[/] said [/]: failed", output_tail="[/]")


async def test_scheduler_names_and_output_are_plain_in_picker_confirm_and_notifications():
    switcher = MarkupSwitcher()
    app = ScxtopApp(source_factory=lambda interval: FixedSource(samples(2)), topology=synthetic_topology(4),
                    switcher_factory=lambda: switcher, confirm_switch=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 2)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        table = app.screen.query_one(DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(3)] == ["default", "scx_[/]", "scx_[red]x"]
        assert "scx_[/]" in screen_text(app) and "[b]cfg" in screen_text(app)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "scx_[/]?" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: switcher.calls == ["scx_[/]"] and bool(app._notifications))
        await wait_for(pilot, lambda: "scx_[/] said [/]: failed" in toasts(app))
        assert app.is_running


async def test_a_source_failure_that_looks_like_markup_is_shown_plainly():
    from scxtop.sources.base import SourceError

    class Failing(FixedSource):
        def samples(self):
            raise SourceError("bpftrace: [/] ERROR: [red]probe")

    app = ScxtopApp(source_factory=lambda interval: Failing([]), topology=synthetic_topology(4))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: "[/] ERROR: [red]probe" in toasts(app))
        assert app.is_running



def _through_a_recording(tmp_path, items: list) -> list:
    """The samples as `scxtop replay` gets them: written to JSONL and read back (a recording is a
    file anybody could have written)."""
    from scxtop.recording import JsonlWriter, load_recording

    path = tmp_path / "hostile.jsonl"
    writer = JsonlWriter(path)
    for item in items:
        writer.write(item)
    writer.close()
    return list(load_recording(path).samples)


async def test_a_recorded_source_name_that_looks_like_markup_is_shown_plainly(tmp_path):
    """The tasks panel's 'n/a: the SOURCE source...' subtitle was markup: a recording whose source
    is `[/]` and that has no delay data crashed `scxtop replay` with MarkupError."""
    blind = [replace(sample(i), source="[/]", delayed_tasks=None) for i in range(2)]
    source = FixedSource(_through_a_recording(tmp_path, blind))
    app = ScxtopApp(source_factory=lambda interval: source, topology=synthetic_topology(4))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 2 and not app._dirty)
        assert app.is_running
        assert "the [/] source has no delay accounting" in screen_text(app)


async def test_a_switch_report_naming_a_markup_scheduler_is_shown_plainly(tmp_path):
    """The switch report's notification names both schedulers: a recording (or a scheduler) whose
    ops name is `scx_[/]` crashed the dashboard with MarkupError once the after window passed."""
    from scxtop.model import SchedExtEvent, SchedExtEventKind, SchedExtState

    scx = SchedExtState(supported=True, state="enabled", ops="scx_[/]", enable_seq=1)
    loaded = SchedExtEvent(time=sample(3).time, kind=SchedExtEventKind.LOADED, ops="scx_[/]")
    items = [sample(i) for i in range(3)] + [replace(sample(3), scx=scx, scx_events=(loaded,))]
    items += [replace(sample(i), scx=scx) for i in range(4, 16)]
    source = FixedSource(_through_a_recording(tmp_path, items))
    app = ScxtopApp(source_factory=lambda interval: source, topology=synthetic_topology(4))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == len(items) and bool(app.reports), limit_s=60)
        await wait_for(pilot, lambda: "default -> scx_[/]" in toasts(app))
        assert app.is_running


async def test_control_characters_in_task_names_never_reach_the_terminal():
    """Any local user can name a process `\\x1b[2J` or `\\x1b]0;title`: the panels drew names as
    raw segments, so root's terminal got the escape sequences (screen cleared, title or clipboard
    set). Shown with '?' in their place."""
    from scxtop.model import Migrator

    evil = "\x1b[2J\x1b]0;own\r"
    edge = BlockedEdge(TaskRef(9, evil, 120), 0x1000, TaskRef(10, evil, 120), OwnerState.RUNNING, 0, 40_000)
    ended = replace(edge, ended=True)
    first = replace(sample(0), delayed_tasks=(_task(7, evil, 5_000_000),),
                    top_migrators=(Migrator(7, evil, 9),), blocked=(edge, ended),
                    chains=build_chains((edge,)))
    app = ScxtopApp(source_factory=lambda interval: FixedSource([first]), topology=synthetic_topology(4))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 1 and not app._dirty)
        strips = app.screen._compositor.render_strips()
        drawn = "".join(segment.text for strip in strips for segment in strip)
        assert "\x1b" not in drawn and "\r" not in drawn
        assert drawn.count("?[2J?]0;own?") >= 4  # tasks, migrators, chain, ended wait

def test_markup_names_are_real_process_names():
    """The kernel keeps such names as they are (so the live tests above test what they say)."""
    with named_spinners(0, ("[/]",)) as pids, open(f"/proc/{pids[0]}/comm") as f:
        assert f.read().rstrip("\n") == "[/]"
    assert os.path.exists("/proc/self/comm")


# ---- numbers from files: out of range or not finite is "?", never a crash -------------------------

def test_sparkline_and_bar_draw_non_finite_values_as_unknown():
    from scxtop.tui.sparkline import bar, sparkline

    nan, inf = float("nan"), float("inf")
    assert sparkline([1.0, nan, inf, 2.0], 4, top=nan) == "▄?██"
    assert sparkline([1.0, nan, 2.0], 3, top=2.0) == "▄?█"
    assert bar(nan, 4, 10.0) == "?   "
    assert bar(1.0, 4, nan) == "████"  # no scale: full, not a crash


class ClockSwitcher(MarkupSwitcher):
    def schedulers(self) -> list[SchedulerEntry]:
        return [SchedulerEntry(name="default", program=None, origin="default", running=True),
                SchedulerEntry(name="scx_far", program=None, origin="path", last_switch=1e300),
                SchedulerEntry(name="scx_nan", program=None, origin="path", last_switch=float("nan"))]


async def test_clocks_of_absurd_times_show_a_question_mark():
    from scxtop.model import SchedExtEvent, SchedExtEventKind, SchedExtState

    event = SchedExtEvent(time=1e300, kind=SchedExtEventKind.LOADED, ops="scx_x")
    scx = SchedExtState(supported=True, state="enabled", ops="scx_x", enable_seq=1)
    first = replace(sample(0), scx=scx, scx_events=(event,))
    app = ScxtopApp(source_factory=lambda interval: FixedSource([first]), topology=synthetic_topology(4),
                    switcher_factory=ClockSwitcher)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 1 and not app._dirty)
        assert "? loaded scx_x" in screen_text(app)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        table = app.screen.query_one(DataTable)
        assert [str(table.get_row_at(i)[3]) for i in (1, 2)] == ["?", "?"]
        assert app.is_running


async def test_s_with_a_hostile_switch_journal_opens_the_picker(tmp_path):
    """The real switcher reading a journal that others could have written (garbage, an absurd
    time for a listed scheduler): pressing `s` must open the picker, not crash the app."""
    from scxtop.model import SchedExtState
    from scxtop.sched_ext import journal
    from scxtop.sched_ext.config import Config
    from scxtop.sched_ext.direct import DirectBackend
    from scxtop.sched_ext.switch import TransactionSwitcher

    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    good = {"time": 1e300, "target": "default", "previous": None, "ok": True, "seconds": 0.1,
            "backend": "direct", "enable_seq_after": 1, "message": ""}
    import json

    journal.journal_path(run).write_bytes(b"\xff\xfe garbage\n" + b"[" * 50_000 + b"\n"
                                          + json.dumps(good).encode() + b"\n")
    switcher = TransactionSwitcher(DirectBackend(Config(), path_env=""),
                                   read=lambda: SchedExtState(supported=True, state="disabled"),
                                   run_dir=run, need_root=False)
    app = ScxtopApp(source_factory=lambda interval: FixedSource(samples(1)), topology=synthetic_topology(4),
                    switcher_factory=lambda: switcher)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: app.samples_seen == 1)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        table = app.screen.query_one(DataTable)
        assert str(table.get_row_at(0)[0]) == "default"
        assert app.is_running
