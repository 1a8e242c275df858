"""The scxtop dashboard: live (`scxtop`) or over a recording (`scxtop replay FILE`).

Data flow: a collector worker thread drives `source.samples()` and posts `SampleArrived`; one
handler keeps the latest sample and appends history; a UI timer redraws from the latest sample
only when it changed, inside `batch_update()`. A replay feeds the same handler from a `Playback`.
"""

from __future__ import annotations

import gc
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.theme import BUILTIN_THEMES
from textual.timer import Timer
from textual.widgets import Footer, Input
from textual.worker import get_current_worker

from scxtop.errors import ConfigError
from scxtop.kernel.topology import Grouping, Topology, read_topology
from scxtop.model import Sample
from scxtop.sched_ext.report import SwitchReport, SwitchReporter, bypassing, event_rates
from scxtop.sched_ext.types import SWITCH_TIMEOUT_S, SchedulerEntry, Switcher, SwitchResult
from scxtop.settings import Settings
from scxtop.sources.base import Source
from scxtop.tui.chains_panel import ChainsPanel
from scxtop.tui.chart_data import ChartData
from scxtop.tui.charts_panel import ChartsPanel
from scxtop.tui.collector import Backoff, collect
from scxtop.tui.confirm_screen import ConfirmScreen
from scxtop.tui.cpu_column import CpuColumn
from scxtop.tui.cpu_panel import CpuPanel
from scxtop.tui.cpu_rows import CpuHistory, build_rows, find_imbalance
from scxtop.tui.help_screen import HelpScreen
from scxtop.tui.keys import replay_help, works
from scxtop.tui.latency_panel import LatencyPanel
from scxtop.tui.messages import SampleArrived, SchedulerOutput, SourceFailed, SwitchDone, SwitchProgress
from scxtop.tui.migrations_panel import MigrationsPanel
from scxtop.tui.paint_pacing import PaintPacing
from scxtop.tui.picker_screen import PickerScreen, next_scheduler
from scxtop.tui.playback import Playback
from scxtop.tui.report_screen import ReportScreen
from scxtop.tui.schedext_panel import SchedExtPanel
from scxtop.tui.status_line import Status, StatusLine, attaching_text
from scxtop.tui.tasks_panel import TasksPanel
from scxtop.tui.timeline import ScxTimeline
from scxtop.tui.too_small import TooSmall, too_small

INTERVALS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
RENDER_TICK = 0.2
"""The shortest time between two drawings of the dashboard (see tui.paint_pacing); also the
attaching clock's step."""
SEEK_STEP = 10

SWITCH_ACTIONS = {"pick_scheduler", "next_scheduler"}
"""Unavailable (greyed in the footer) while a switch is in flight: one switch at a time."""
OUTPUT_LINES = 3
"""The running scheduler's last output lines shown in the sched_ext panel."""
OUTPUT_EVERY_S = 1.0
GC_YOUNG_THRESHOLD = 10_000
"""Container allocations between collections of Python's youngest generation while the dashboard
runs (Python's default is 700). A refresh allocates a few thousand short-lived segments, strips and
lists: at 700 the collector ran four or five times a refresh, and every so often a full collection
went over everything start-up built, 4-8 ms of a 30-40 ms refresh (bench/dashboard_refresh.py's
replay, 2-1024 CPUs). With start-up's objects frozen (never scanned again) and this threshold,
under 1 ms; the garbage waiting for a collection is at most this many objects."""

SourceFactory = Callable[[float], Source]
"""Opens a fresh source with the given interval; called again after each failure."""


def binding_ids() -> list[str]:
    """Every binding id the dashboard, its screens and its focusable panels answer to: what [keys]
    may remap."""
    classes: list[Any] = [ScxtopApp, TasksPanel, HelpScreen, PickerScreen, ConfirmScreen, ReportScreen]
    return [b.id for cls in classes for b in cls.BINDINGS if isinstance(b, Binding) and b.id]


def check_settings(settings: Settings) -> None:
    """Refuse a [keys] id no binding has and a theme Textual does not know, naming the line."""
    known = binding_ids()
    for key in settings.keys:
        if key.id not in known:
            raise ConfigError(f"{settings.where(key.line)}: keys.{key.id}: no such binding id "
                              f"(the README lists them: {', '.join(known)})")
    theme = settings.dashboard.theme
    if theme is not None and theme not in BUILTIN_THEMES:
        line = settings.line("dashboard", "theme")
        raise ConfigError(f"{settings.where(line)}: dashboard.theme: no theme {theme!r} "
                          f"(use one of {', '.join(sorted(BUILTIN_THEMES))})")


def _nearest_step(interval: float, direction: int) -> float:
    """The next interval up (+1) or down (-1) on the INTERVALS ladder."""
    if direction > 0:
        return next((i for i in INTERVALS if i > interval + 1e-9), INTERVALS[-1])
    return next((i for i in reversed(INTERVALS) if i < interval - 1e-9), INTERVALS[0])


class ScxtopApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "scxtop"

    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("space", "toggle_pause", "Pause", id="pause"),
        Binding("plus,equals_sign", "interval(1)", "Slower", key_display="+", id="interval.up"),
        Binding("minus", "interval(-1)", "Faster", key_display="-", id="interval.down"),
        Binding("g", "cycle_grouping", "Group", id="grouping"),
        Binding("slash", "filter", "Filter", key_display="/", id="filter"),
        Binding("tab", "app.focus_next", "Focus", id="focus", priority=True),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("s", "pick_scheduler", "Scheduler", id="scheduler.pick"),
        Binding("n", "next_scheduler", "Next sched", id="scheduler.next"),
        Binding("r", "switch_report", "Report", id="report"),
        Binding("full_stop", "step(1)", "Step", key_display=".", id="replay.step"),
        Binding("comma", "step(-1)", "Back", key_display=",", id="replay.back"),
        Binding("right_square_bracket", "seek(1)", "Seek +10", key_display="]", id="replay.forward"),
        Binding("left_square_bracket", "seek(-1)", "Seek -10", key_display="[", id="replay.rewind"),
        # priority: in a replay home/end seek even when a scrolling panel has focus; live, the
        # action is refused (check_action) and the key falls through to the panel's scrolling
        Binding("home", "seek_start", "Start", show=False, priority=True, id="replay.start"),
        Binding("end", "seek_end", "End", show=False, priority=True, id="replay.end"),
        Binding("escape", "close_filter", "Close filter", id="filter.close"),
    ]

    def __init__(
        self,
        *,
        source_factory: SourceFactory | None = None,
        playback: Playback | None = None,
        interval: float = 1.0,
        speed: float = 1.0,
        topology: Topology | None = None,
        switcher_factory: Callable[[], Switcher] | None = None,
        confirm_switch: bool = True,
        switch_timeout: float = SWITCH_TIMEOUT_S,
        backoff: Backoff | None = None,
        theme: str | None = None,
        keymap: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.keymap = dict(keymap or {})
        """Binding id -> keys from the config's [keys]."""
        if self.keymap:
            self.set_keymap(self.keymap)
        self._theme_name = theme
        if (source_factory is None) == (playback is None):
            raise ValueError("give either a live source factory or a playback")
        self.source_factory = source_factory
        self.playback = playback
        self.interval = interval
        self.speed = speed
        self.topology = topology if topology is not None else read_topology()
        self.switcher_factory = switcher_factory
        self.confirm_switch = confirm_switch
        self.switch_timeout = switch_timeout
        self.backoff = backoff or Backoff()
        self.grouping = Grouping.CPU
        self.paused = False
        self.latest: Sample | None = None
        self.before_latest: Sample | None = None
        """The sample just before `latest`: the sched_ext counters are shown as deltas between them."""
        self._last_ingested: Sample | None = None
        self._gc_threshold: tuple[int, int, int] | None = None
        self.samples_seen = 0
        self.history = CpuHistory()
        self.timeline = ScxTimeline()
        self.charts = ChartData(self.topology)
        self.switch_lines: deque[str] = deque(maxlen=4)
        self.reporter = SwitchReporter()
        self.reports: list[SwitchReport] = []
        self.switching: str | None = None
        """The scheduler a switch in flight goes to; None when no switch runs."""
        self._failed_switch: SwitchResult | None = None
        """The last switch, when it failed: `n` then walks on past the one that failed."""
        self.scheduler_output: tuple[str, ...] = ()
        """The running scheduler's last output lines (plain text, from its log)."""
        self._listing = False
        self._switcher_lock = threading.Lock()
        self.retry = ""
        self._dirty = False
        self._pacing: PaintPacing | None = None
        self._clock: Timer | None = None
        self._source: Source | None = None
        self._switcher: Switcher | None = None
        self._replay_timer: Timer | None = None

    # ---- layout -------------------------------------------------------------------------

    @property
    def _main(self) -> Screen[Any]:
        """The dashboard's screen: panels are looked up there even while a modal is on top."""
        return self.screen_stack[0]

    def compose(self) -> ComposeResult:
        # Kept as attributes: the timers update them directly, whichever screen is on top and
        # even while the app is tearing down (a query would find nothing then).
        self.cpu_panel = CpuPanel(id="cpus")
        self.scx_panel = SchedExtPanel(id="scx")
        self.migrations_panel = MigrationsPanel(id="migrations")
        self.chains_panel = ChainsPanel(id="chains")
        self.tasks_panel = TasksPanel(id="tasks")
        self.filter_box = Input(placeholder="filter tasks by name (enter to keep, escape to close)",
                                id="filter")
        self.status_line = StatusLine(id="status")
        self.charts_panel = ChartsPanel(id="charts")
        self.latency_panel = LatencyPanel(id="latency")
        self.cpu_column = CpuColumn(id="left")
        self.too_small_notice = TooSmall(id="too-small")
        with Vertical(id="dashboard"):
            with Horizontal(id="top"):
                with self.cpu_column:
                    yield self.cpu_panel
                    yield self.charts_panel
                with Vertical(id="side"):
                    yield self.scx_panel
                    yield self.migrations_panel
                    yield self.latency_panel
            with Horizontal(id="bottom"):
                yield self.chains_panel
                yield self.tasks_panel
            yield self.filter_box
            yield self.status_line
        yield self.too_small_notice
        yield Footer()

    def on_mount(self) -> None:
        if self._theme_name:
            self.theme = self._theme_name
        self.scx_panel.border_title = "sched_ext"
        self.migrations_panel.border_title = "Migrations"
        self.chains_panel.border_title = "Blocked chains"
        self.charts_panel.border_title = "History"
        self.latency_panel.border_title = "Wakeup latency"
        self._check_size(self.size.width, self.size.height)
        self._pacing = PaintPacing(self, self._paint_if_dirty, RENDER_TICK)
        self._clock = self.set_interval(RENDER_TICK, self._tick_clock, name="attaching-clock")
        if self.playback is not None:
            self.interval = self.playback.typical_interval
            self._restart_replay_timer()
            self._advance_replay()
        else:
            self._collect()
            if self.switcher_factory is not None:
                self.set_interval(OUTPUT_EVERY_S, self._poll_output, name="scheduler-output")
        self._show_status()
        self._gc_threshold = gc.get_threshold()
        gc.freeze()  # what start-up built lives as long as the app: no collection scans it again
        gc.set_threshold(GC_YOUNG_THRESHOLD, *self._gc_threshold[1:])

    def on_resize(self, event: Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int, height: int) -> None:
        small = too_small(width, height)
        self._main.set_class(small, "-too-small")
        if small:
            self.too_small_notice.explain(width, height)

    # ---- collection (live) --------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="collector", name="collector")
    def _collect(self) -> None:
        worker = get_current_worker()
        factory = self.source_factory
        assert factory is not None
        collect(
            open_source=lambda: factory(self.interval),
            on_source=self._set_source,
            on_sample=lambda sample: self.post_message(SampleArrived(sample)),
            on_failure=lambda failure: self.post_message(SourceFailed(failure)),
            cancelled=lambda: worker.is_cancelled,
            backoff=self.backoff,
        )

    def _set_source(self, source: Source | None) -> None:
        self._source = source

    def _stop_collector(self) -> None:
        self.workers.cancel_group(self, "collector")
        source = self._source
        if source is not None:
            source.close()

    async def action_quit(self) -> None:
        self._stop_collector()
        self.exit()

    def on_unmount(self) -> None:
        self._stop_collector()
        if self._gc_threshold is not None:  # as it was (tests run many apps in one process)
            gc.set_threshold(*self._gc_threshold)
            gc.unfreeze()
            self._gc_threshold = None

    def on_sample_arrived(self, message: SampleArrived) -> None:
        if self.retry:
            self.retry = ""
            self.notify("the source is back", title=message.sample.source)
        shown = self.latest
        self._ingest(message.sample)
        if self._dirty and (shown is None or shown.source != message.sample.source):
            self.refresh_dashboard()  # the first screen, and bpftrace's first tick, without waiting

    def on_source_failed(self, message: SourceFailed) -> None:
        failure = message.failure
        self.retry = f"retrying in {failure.retry_in:g}s (attempt {failure.attempt}): {failure.message}"
        if self._clock is not None:
            self._clock.resume()  # the source that comes next may attach again
        self.notify(failure.message, title="source failed", severity="error",
                    timeout=max(3.0, failure.retry_in), markup=False)
        self._show_status()

    def _ingest(self, sample: Sample) -> None:
        """The one place a sample enters the dashboard: history and timeline always, display
        unless paused."""
        self.samples_seen += 1
        self.history.add(sample)
        self.timeline.add(sample)
        self.charts.add(sample)
        for report in self.reporter.feed(sample):
            self.reports.append(report)
            self.notify(report.summary(), title="switch report (r)", timeout=8,
                        markup=False)  # scheduler names: plain text
        if not self.paused or self.latest is None:
            self.before_latest, self.latest = self._last_ingested, sample
            self._request_paint()
        self._last_ingested = sample

    # ---- rendering ----------------------------------------------------------------------

    def _request_paint(self) -> None:
        """Something on screen should change: drawn now, or once RENDER_TICK has passed since
        the last drawing."""
        self._dirty = True
        if self._pacing is not None:
            self._pacing.request()

    def _paint_if_dirty(self) -> None:
        if self._dirty:
            self.refresh_dashboard()

    def _tick_clock(self) -> None:
        """The attaching clock ('bpftrace attaching… 1.4s') runs between samples; it stops once
        there is data and nothing attaches, and starts again when the source fails."""
        if self.status_line.status.attaching or attaching_text(self._source):
            self._show_status()
        elif self.latest is not None and self._clock is not None:
            self._clock.pause()

    def refresh_dashboard(self) -> None:
        """Draw every panel from the latest sample (also what the benchmark times)."""
        self._dirty = False
        if self._pacing is not None:
            self._pacing.painted()
        sample = self.latest
        if not self.cpu_panel.is_attached:
            return  # a timer that fired while the app tears the dashboard down
        if sample is None:
            self._show_status()
            return
        with self.batch_update():
            imbalance = find_imbalance(sample.cpus)
            rows = build_rows(sample, self.grouping, self.topology, self.history, imbalance)
            self.cpu_panel.show(rows, self.grouping, imbalance)
            self.cpu_column.fit()
            self.charts_panel.show(self.charts)
            self.latency_panel.show(sample.wakeup_latency, self.charts.latency_total(), sample.source,
                                    self.charts.latency_version)
            self.migrations_panel.show(sample)
            self.chains_panel.show(sample)
            self.tasks_panel.show(sample)
            prev = self.before_latest
            self.scx_panel.show(
                sample.scx, self.timeline.events, self.switch_lines,
                switching=self.switching, output=self.scheduler_output,
                rates=event_rates(prev.scx, sample.scx, sample.interval_s) if prev else None,
                bypass=bypassing(prev.scx, sample.scx) if prev else None,
            )  # fmt: skip
            self._show_status()

    def _show_status(self) -> None:
        extra: dict[str, Any] = {
            "interval_s": self.interval,
            "paused": self.paused,
            "retry": self.retry,
            "position": self._position(),
            "attaching": attaching_text(self._source),
        }
        status = Status.of(self.latest, **extra) if self.latest else Status(**extra)
        if self.latest is None and self.source_factory is not None:
            status = Status(source="waiting for the first sample", **extra)
        self.status_line.show(status)

    def _position(self) -> str:
        if self.playback is None:
            return ""
        speed = f" speed {self.speed:g}x" if self.speed != 1 else ""
        end = " (end)" if self.playback.at_end else ""
        return f"{self.playback.path} {self.playback.describe()}{end}{speed}"

    # ---- replay -------------------------------------------------------------------------

    def _restart_replay_timer(self) -> None:
        if self._replay_timer is not None:
            self._replay_timer.stop()
        self._replay_timer = self.set_interval(self.interval / self.speed, self._advance_replay,
                                               name="replay")

    def _advance_replay(self) -> None:
        assert self.playback is not None
        sample = self.playback.advance()
        if sample is not None:
            self._ingest(sample)

    def _replay_jump(self, index: int) -> None:
        """Show sample `index`, rebuilding history and timeline as they were at that point."""
        playback = self.playback
        assert playback is not None
        playback.paused = self.paused = True
        playback.seek(index)
        self.history.clear()
        self.timeline.clear()
        self.charts.clear()
        self.reporter = SwitchReporter(self.reporter.window_s)
        self.reports = []
        for sample in playback.samples[: playback.index + 1]:
            self.timeline.add(sample)
            self.charts.add(sample)
            self.reports.extend(self.reporter.feed(sample))
        for sample in playback.window(self.history.length):
            self.history.add(sample)
        self.latest = self._last_ingested = playback.current
        self.before_latest = playback.samples[playback.index - 1] if playback.index > 0 else None
        self.refresh_dashboard()

    def action_step(self, delta: int) -> None:
        if self.playback is not None:
            self._replay_jump(self.playback.index + delta)

    def action_seek(self, direction: int) -> None:
        if self.playback is not None:
            self._replay_jump(self.playback.index + direction * SEEK_STEP)

    def action_seek_start(self) -> None:
        if self.playback is not None:
            self._replay_jump(0)

    def action_seek_end(self) -> None:
        if self.playback is not None:
            self._replay_jump(len(self.playback) - 1)

    # ---- keys ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A key works live, in a replay or both as its binding id says (scxtop.tui.keys); escape
        only while filtering; hidden from the footer otherwise."""
        if not works(self._binding_id(action), replay=self.playback is not None):
            return False
        if action in SWITCH_ACTIONS and self.switching is not None and self.playback is None:
            return None  # shown, greyed: a switch is in flight
        if action == "close_filter":
            box = getattr(self, "filter_box", None)  # asked before compose, too
            return bool(box is not None and box.display)
        return True

    def _binding_id(self, action: str) -> str | None:
        return next((b.id for b in self.BINDINGS
                     if isinstance(b, Binding) and b.action.split("(")[0] == action), None)

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.playback is not None:
            self.playback.paused = self.paused
        self._request_paint()
        self._show_status()

    def action_interval(self, direction: int) -> None:
        self.interval = _nearest_step(self.interval, direction)
        if self.playback is not None:
            self._restart_replay_timer()
        elif self._source is not None:
            self._source.interval_s = self.interval
        self.notify(f"refresh every {self.interval:g}s", timeout=2)
        self._show_status()

    def action_cycle_grouping(self) -> None:
        self.grouping = self.grouping.next()
        self.refresh_dashboard()

    def action_filter(self) -> None:
        box = self.filter_box
        box.display = True
        box.focus()
        self.refresh_bindings()

    def action_close_filter(self) -> None:
        box = self.filter_box
        if box.display:
            box.display = False
            self.tasks_panel.focus()
            self.refresh_bindings()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.tasks_panel.name_filter = event.value.strip()
        self.refresh_dashboard()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_close_filter()

    def action_help(self) -> None:
        bindings = self._visible_bindings()
        extra = ""
        if self.playback is not None:
            extra = replay_help((b.key_display or b.key, b.description, b.id) for b in bindings)
        self.push_screen(HelpScreen(list(bindings), extra))

    def action_switch_report(self) -> None:
        self.push_screen(ReportScreen(self.reports, self.reporter.progress))

    def _visible_bindings(self) -> list[Binding]:
        """The dashboard's bindings that work here, with the keys the config's [keys] gave them."""
        out = []
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and self.check_action(binding.action.split("(")[0], ()):
                keys = self.keymap.get(binding.id) if binding.id else None
                out.append(binding.with_key(keys) if keys else binding)
        return out

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette lists every dashboard action next to Textual's own."""
        yield from super().get_system_commands(screen)
        for binding in self._visible_bindings():
            yield SystemCommand(
                f"{binding.description} ({binding.key_display or binding.key})",
                f"action: {binding.action}",
                lambda action=binding.action: self.run_action(action),
            )

    # ---- scheduler switching ------------------------------------------------------------

    def _get_switcher(self) -> Switcher | None:
        """Made once, by whichever worker needs it first (the output reader or a switch key)."""
        with self._switcher_lock:
            if self._switcher is None and self.switcher_factory is not None:
                self._switcher = self.switcher_factory()
            return self._switcher

    def action_pick_scheduler(self) -> None:
        if self.switching is None and not self._listing:
            self._listing = True
            self._list_schedulers(pick_next=False)

    def action_next_scheduler(self) -> None:
        if self.switching is None and not self._listing:
            self._listing = True
            self._list_schedulers(pick_next=True)

    @work(thread=True, exit_on_error=False, group="switch", exclusive=True)
    def _list_schedulers(self, pick_next: bool) -> None:
        """Discovery may touch D-Bus and PATH; done off the UI thread."""
        try:
            switcher = self._get_switcher()
            if switcher is None:
                raise RuntimeError("scheduler switching is not available in this build")
            entries = switcher.schedulers()
        except Exception as err:  # shown, never fatal
            self.call_from_thread(self._listed)
            self.call_from_thread(self.notify, str(err), title="schedulers", severity="error", markup=False)
            return
        self.call_from_thread(self._listed)
        if pick_next:
            self.call_from_thread(self._switch_to_next, entries)
        else:
            self.call_from_thread(self._open_picker, entries, switcher.backend)

    def _listed(self) -> None:
        self._listing = False

    def _open_picker(self, entries: list[SchedulerEntry], backend: str) -> None:
        def picked(name: str | None) -> None:
            if name:
                self._confirm_and_switch(name)

        self.push_screen(PickerScreen(entries, backend), picked)

    def _switch_to_next(self, entries: list[SchedulerEntry]) -> None:
        failed = self._failed_switch
        # only while what that failure put back still runs: a switch made elsewhere since wins
        after = failed.target if failed and any(e.running and e.name == failed.restored for e in entries) \
            else None
        target = next_scheduler(entries, after_failed=after)
        if target is None or target.running:
            self.notify("no other scheduler to switch to: install an scx_* scheduler or add one "
                        "to the config", severity="warning")
            return
        self._confirm_and_switch(target.name)

    def _confirm_and_switch(self, name: str) -> None:
        if not self.confirm_switch:
            self._begin_switch(name)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._begin_switch(name)

        question = Text.assemble("Switch the running scheduler to ", (name, "bold"), "?")
        self.push_screen(ConfirmScreen(question), answered)

    def _begin_switch(self, name: str) -> None:
        """One switch at a time: `s` and `n` are greyed until SwitchDone (other processes are kept
        out by the switch lock)."""
        if self.switching is not None:
            return
        self.switching = name
        self.refresh_bindings()
        self._request_paint()
        self._switch(name)

    @work(thread=True, exit_on_error=False, group="switch")
    def _switch(self, name: str) -> None:
        switcher = self._get_switcher()
        assert switcher is not None
        self.post_message(SwitchProgress(f"switching to {name}…"))

        def progress(line: str) -> None:
            self.post_message(SwitchProgress(line))

        try:
            result = switcher.switch(name, timeout=self.switch_timeout, progress=progress)
        except Exception as err:  # a backend bug must not take the dashboard down
            result = SwitchResult(ok=False, target=name, previous=None, seconds=0.0, message=str(err))
        self.post_message(SwitchDone(result))

    def on_switch_progress(self, message: SwitchProgress) -> None:
        self.switch_lines.append(message.line)
        self._request_paint()

    def on_switch_done(self, message: SwitchDone) -> None:
        # The timeline hears of the switch from the samples: the source's sched_ext tracker sees
        # the kernel change, and reads a failure from the switch journal, and marks both as ours.
        result = message.result
        self.switching = None
        self._failed_switch = None if result.ok else result
        self.refresh_bindings()
        outcome = f"switched to {result.target} in {result.seconds:.2f}s" if result.ok else result.message
        self.switch_lines.append(outcome)
        self.notify(outcome, title="scheduler", severity="information" if result.ok else "error",
                    markup=False)  # scheduler output: plain text
        self._request_paint()

    # ---- the running scheduler's output -----------------------------------------------------

    def _poll_output(self) -> None:
        """Also for a scheduler started elsewhere (the CLI, another dashboard): its log is shared."""
        if self.latest is not None and self.latest.scx.ops:
            self._read_output()
        elif self.scheduler_output:
            self.scheduler_output = ()
            self._request_paint()

    @work(thread=True, exit_on_error=False, group="output", exclusive=True)
    def _read_output(self) -> None:
        try:
            switcher = self._get_switcher()
            lines = switcher.output(OUTPUT_LINES) if switcher is not None else ()
        except Exception:  # a log we cannot read shows nothing, never an error
            lines = ()
        self.post_message(SchedulerOutput(lines))

    def on_scheduler_output(self, message: SchedulerOutput) -> None:
        if message.lines != self.scheduler_output:
            self.scheduler_output = message.lines
            self._request_paint()
