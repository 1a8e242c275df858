"""The `r` screen: the before/after report of a scheduler change, the two sides next to each other.

The reports come from `scxtop.sched_ext.report` (fed sample by sample by the app); this screen
only lays one out: a row per metric, the change in %, marked better or worse. Left and right
step through earlier and later changes. Scheduler names come from the kernel and are plain text.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from scxtop.model import SchedExtEventKind
from scxtop.sched_ext.report import Progress, SwitchReport, Verdict

VERDICT_STYLE = {Verdict.BETTER: "bold green", Verdict.WORSE: "bold red", Verdict.SAME: "dim",
                 Verdict.UNKNOWN: "dim"}
NAME_W, VALUE_W, CHANGE_W = 34, 12, 9


def _num(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def report_text(report: SwitchReport, position: str = "") -> Text:
    """The report as a table; the header names both schedulers and how the change came about."""
    text = Text()
    text.append(report.title, style="bold")
    how = "by scxtop" if report.by_us else "by another tool or the kernel"
    text.append(f"  at {time.strftime('%H:%M:%S', time.localtime(report.time))}, {how}")
    if position:
        text.append(f"  {position}", style="dim")
    if report.detail:
        ejected = report.kind is SchedExtEventKind.EJECTED
        text.append(f"\n{report.detail}", style="bold red" if ejected else "")
    window = f"{report.window_s:g}s window"
    after_note = f" (cut short: {report.after.seconds:g}s)" if report.cut_short else ""
    text.append(f"\n{window}: {report.before.samples} samples before, "
                f"{report.after.samples} after{after_note}\n\n")
    text.append(f"{'':<{NAME_W}}", style="bold")
    text.append(f"{report.before_scheduler[:VALUE_W]:>{VALUE_W}} ", style="bold")
    text.append(f"{report.after_scheduler[:VALUE_W]:>{VALUE_W}} ", style="bold")
    text.append(f"{'change':>{CHANGE_W}}\n", style="bold")
    for row in report.rows:
        text.append(f"{row.name[:NAME_W - 1]:<{NAME_W}}")
        text.append(f"{_num(row.before):>{VALUE_W}} {_num(row.after):>{VALUE_W}} ")
        text.append(f"{row.change_text:>{CHANGE_W}} ")
        if row.verdict in (Verdict.BETTER, Verdict.WORSE):
            text.append(row.verdict.value, style=VERDICT_STYLE[row.verdict])
        text.append("\n")
    text.append("\nlower is better for every row; latencies are log2 bucket bounds", style="dim")
    return text


def empty_text(progress: Progress | None) -> Text:
    if progress is not None:
        return Text(f"{progress.title}: collecting the after window, "
                    f"{progress.collected_s:g} of {progress.window_s:g}s", style="italic")
    return Text("no scheduler change seen yet: a report appears here once the scheduler changes "
                "(a switch by scxtop or another tool, or an ejection) and the after window has passed",
                style="italic")


class ReportScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,r", "dismiss", "Close", id="report.close"),
        Binding("left", "move(-1)", "Earlier", id="report.earlier"),
        Binding("right", "move(1)", "Later", id="report.later"),
    ]

    def __init__(self, reports: Sequence[SwitchReport], progress: Progress | None) -> None:
        super().__init__()
        self.reports = tuple(reports)
        self.progress = progress
        self.index = len(self.reports) - 1

    def compose(self) -> ComposeResult:
        with Vertical(id="report-box"):
            yield Static(id="report-body")

    def on_mount(self) -> None:
        self.query_one("#report-box").border_title = "Before / after the scheduler change"
        self._show()

    def _show(self) -> None:
        body = self.query_one("#report-body", Static)
        if not self.reports:
            body.update(empty_text(self.progress))
            return
        position = f"({self.index + 1} of {len(self.reports)}, left/right for others)" \
            if len(self.reports) > 1 else ""
        body.update(report_text(self.reports[self.index], position))

    def action_move(self, delta: int) -> None:
        if self.reports:
            self.index = max(0, min(len(self.reports) - 1, self.index + delta))
            self._show()
