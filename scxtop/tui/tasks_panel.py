"""The Tasks panel: the tasks that waited longest on a runqueue in the last interval.

Rows are keyed by pid and updated in place; only cells that changed are written. Task names are
chosen by any local user, so they are `Text` (plain), never markup strings.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from scxtop.model import Sample, TaskDelay

MAX_ROWS = 50
COLUMNS = (("pid", 7), ("comm", 14), ("cpu", 3), ("policy", 6), ("nice", 4), ("delay ms/s", 10),
           ("total s", 8))


def _cells(task: TaskDelay, interval_s: float) -> tuple[object, ...]:
    return (
        task.pid,
        Text(task.comm),
        "n/a" if task.cpu is None else task.cpu,
        task.policy.removeprefix("SCHED_").lower(),
        "n/a" if task.nice is None else task.nice,
        round(task.delay_ns / 1e6 / interval_s, 2),
        round(task.total_delay_ns / 1e9, 2),
    )


def select(tasks: Sequence[TaskDelay], name_filter: str) -> list[TaskDelay]:
    """Most delayed first, filtered by a case-insensitive substring of comm; one row per pid (a pid
    reused within one interval can appear twice: the more delayed one is kept)."""
    needle = name_filter.lower()
    chosen = [t for t in tasks if needle in t.comm.lower()] if needle else list(tasks)
    chosen.sort(key=lambda t: (-t.delay_ns, -t.total_delay_ns, t.pid))
    unique: dict[int, TaskDelay] = {}
    for task in chosen:
        unique.setdefault(task.pid, task)
    return list(unique.values())[:MAX_ROWS]


class TasksPanel(DataTable[object]):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.name_filter = ""
        self._order: list[int] = []
        self._shown: tuple[object, str] | None = None

    def on_mount(self) -> None:
        for label, width in COLUMNS:
            self.add_column(label, width=width, key=label)
        self.border_title = "Most delayed tasks"

    def show(self, sample: Sample) -> None:
        if sample.delayed_tasks is None:
            self.clear()
            self._order = []
            self._shown = None
            self.border_subtitle = f"n/a: the {sample.source} source has no delay accounting"
            return
        shown = (sample.delayed_tasks, self.name_filter)
        if shown == self._shown:
            return  # the source refreshes the list once a second: at shorter intervals, nothing to do
        self._shown = shown
        tasks = select(sample.delayed_tasks, self.name_filter)
        self.border_subtitle = Text(f"filter: {self.name_filter}") if self.name_filter else ""
        wanted = [t.pid for t in tasks]
        if wanted != self._order:
            self.clear()
            for task in tasks:
                self.add_row(*_cells(task, sample.interval_s or 1.0), key=str(task.pid))
            self._order = wanted
            return
        for task in tasks:
            for (label, _), value in zip(COLUMNS, _cells(task, sample.interval_s or 1.0), strict=True):
                if self.get_cell(str(task.pid), label) != value:
                    self.update_cell(str(task.pid), label, value)
