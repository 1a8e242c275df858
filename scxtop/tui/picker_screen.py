"""The `s` picker: the schedulers scxtop can switch to; enter picks one."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from scxtop.sched_ext.types import SchedulerEntry


class PickerScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("enter", "pick", "Switch", id="picker.switch"),
        Binding("escape,q", "dismiss(None)", "Cancel", id="picker.cancel"),
    ]
    DEFAULT_CSS = """
    PickerScreen { align: center middle; }
    PickerScreen > Vertical { width: auto; height: auto; max-height: 80%; border: round $primary;
        background: $surface; padding: 0 1; }
    PickerScreen Static { width: auto; }
    PickerScreen DataTable { width: auto; height: auto; max-height: 20; }
    """

    def __init__(self, entries: Sequence[SchedulerEntry], backend: str) -> None:
        super().__init__()
        self.entries = list(entries)
        self.backend = backend

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text.assemble(("Switch scheduler", "bold"), f" (backend: {self.backend})"))
            yield DataTable(cursor_type="row", id="schedulers")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("name", "state", "from", "last switch")
        for entry in self.entries:
            # names and origins come from PATH and config files: plain text, never markup
            table.add_row(Text(entry.name), "running" if entry.running else "installed", Text(entry.origin),
                          entry.last_switch_text("%H:%M:%S", never="never"), key=entry.name)
        table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.dismiss(event.row_key.value)

    def action_pick(self) -> None:
        table = self.query_one(DataTable)
        if self.entries:
            self.dismiss(self.entries[table.cursor_row].name)


def next_scheduler(entries: Sequence[SchedulerEntry],
                   after_failed: str | None = None) -> SchedulerEntry | None:
    """The one after the running one, wrapping around; the first when none runs.

    After a switch that failed, the one after the one that failed (`after_failed`), skipping the
    running one: pressing `n` again walks on through the list instead of retrying the scheduler
    that just failed, over and over."""
    if not entries:
        return None
    names = [e.name for e in entries]
    if after_failed in names:
        start = names.index(after_failed)
        following = [entries[(start + k) % len(entries)] for k in range(1, len(entries) + 1)]
        return next((e for e in following if not e.running), None)
    running = [i for i, e in enumerate(entries) if e.running]
    if not running:
        return entries[0]
    return entries[(running[0] + 1) % len(entries)]
