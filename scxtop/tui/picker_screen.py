"""The `s` picker: the schedulers scxtop can switch to; enter picks one."""

from __future__ import annotations

from collections.abc import Sequence

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
            yield Static(f"[b]Switch scheduler[/b] (backend: {self.backend})")
            yield DataTable(cursor_type="row", id="schedulers")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("name", "state", "from", "last switch")
        for entry in self.entries:
            table.add_row(entry.name, "running" if entry.running else "installed", entry.origin,
                          entry.last_switch_text("%H:%M:%S", never="never"), key=entry.name)
        table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.dismiss(event.row_key.value)

    def action_pick(self) -> None:
        table = self.query_one(DataTable)
        if self.entries:
            self.dismiss(self.entries[table.cursor_row].name)


def next_scheduler(entries: Sequence[SchedulerEntry]) -> SchedulerEntry | None:
    """The one after the running one, wrapping around; the first when none runs."""
    if not entries:
        return None
    running = [i for i, e in enumerate(entries) if e.running]
    if not running:
        return entries[0]
    return entries[(running[0] + 1) % len(entries)]
