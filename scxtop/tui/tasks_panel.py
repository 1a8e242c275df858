"""The Tasks panel: the tasks that waited longest on a runqueue in the last interval.

Drawn with the Line API (a `ScrollView`, like the CPU panel): a header line that stays on top and
one line per task below it, at most MAX_ROWS. A new sample repaints only the lines whose cells
changed (Textual keeps the others as drawn), so a refresh where nothing moved costs nothing and
one where a task moved costs that line; a new number of tasks is a layout only when the scrollbar
comes or goes. (A `DataTable` re-rendered every visible row after any cell update, and re-laid
out the screen when its rows were replaced.) The cursor stays on the same task when the list is
re-sorted under it.

Task names are chosen by any local user: they are drawn as plain text (segments), never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from scxtop.kernel.bounds import printable
from scxtop.model import Sample, TaskDelay
from scxtop.tui.line_repaint import BorderTexts, component_style, repaint_lines

MAX_ROWS = 50
COLUMNS = (("pid", 7), ("comm", 14), ("cpu", 3), ("policy", 6), ("nice", 4), ("delay ms/s", 10),
           ("total s", 8))
PAD = 1
"""Blank cells on each side of a column (what DataTable drew)."""

Cells = tuple[str, ...]


def _cells(task: TaskDelay, interval_s: float) -> Cells:
    """A task's row as the strings shown, in COLUMNS order."""
    return (
        str(task.pid),
        printable(task.comm),
        "n/a" if task.cpu is None else str(task.cpu),
        task.policy.removeprefix("SCHED_").lower(),
        "n/a" if task.nice is None else str(task.nice),
        f"{task.delay_ns / 1e6 / interval_s:.2f}",
        f"{task.total_delay_ns / 1e9:.2f}",
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


def _line(cells: Sequence[str]) -> str:
    """The cells padded and cut to their columns, as one plain string."""
    parts = []
    for text, (_, width) in zip(cells, COLUMNS, strict=True):
        if len(text) > width:
            text = text[: width - 1] + "…"
        parts.append(" " * PAD + text.ljust(width) + " " * PAD)
    return "".join(parts) + " " * TAIL


TAIL = 2
"""Cells of row style after the last column (DataTable's rows ran this far too)."""
WIDTH = sum(width + 2 * PAD for _, width in COLUMNS) + TAIL


class TasksPanel(BorderTexts, ScrollView, can_focus=True):
    """Most delayed tasks, one line each; the cursor row is highlighted (up/down, page keys, click)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Cursor up", show=False, id="tasks.up"),
        Binding("down", "cursor(1)", "Cursor down", show=False, id="tasks.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="tasks.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="tasks.page_down"),
        Binding("home,ctrl+home", "cursor_to(0)", "Top", show=False, id="tasks.top"),
        Binding("end,ctrl+end", "cursor_to(-1)", "Bottom", show=False, id="tasks.bottom"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "tasks-panel--header",
        "tasks-panel--even-row",
        "tasks-panel--cursor",
    }

    # The look of the DataTable this panel replaces (its default CSS, same theme variables).
    DEFAULT_CSS = """
    TasksPanel { background: $surface; color: $foreground; }
    TasksPanel:focus { background-tint: $foreground 5%; }
    TasksPanel > .tasks-panel--header { text-style: bold; background: $panel; color: $foreground; }
    TasksPanel:focus > .tasks-panel--header { background-tint: $foreground 5%; }
    TasksPanel:ansi > .tasks-panel--header { background: ansi_bright_blue; color: ansi_default; }
    TasksPanel > .tasks-panel--even-row { background: $surface-lighten-1 50%; }
    TasksPanel:dark > .tasks-panel--even-row { background: $surface-darken-1 40%; }
    TasksPanel > .tasks-panel--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    TasksPanel:focus > .tasks-panel--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.name_filter = ""
        self.rows: tuple[Cells, ...] = ()
        """The cells of each shown task, most delayed first (what the lines draw)."""
        self.pids: tuple[int, ...] = ()
        self.cursor_row = 0
        self._shown: tuple[object, str] | None = None
        self._styles: dict[str, Style] = {}
        self._strips: dict[tuple[Cells, str], Strip] = {}
        """Row strips by (cells, style name): a line whose cells did not change is not rebuilt."""
        self.virtual_size = Size(WIDTH, 1)

    def on_mount(self) -> None:
        self.border_title = "Most delayed tasks"

    # ---- the DataTable-shaped reads the tests and scripts use --------------------------------

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def get_row_at(self, index: int) -> Cells:
        return self.rows[index]

    def get_cell(self, pid: str, column: str) -> str:
        """The cell of the task with this pid under the column titled `column`."""
        row = self.rows[self.pids.index(int(pid))]
        return row[[label for label, _ in COLUMNS].index(column)]

    # ---- data ---------------------------------------------------------------------------

    def show(self, sample: Sample) -> None:
        """Take the sample's tasks; redraws only the lines that changed."""
        if sample.delayed_tasks is None:
            self._shown = None
            self._set_subtitle(f"n/a: the {sample.source} source has no delay accounting")
            self._set_rows((), ())
            return
        shown = (sample.delayed_tasks, self.name_filter)
        if shown == self._shown:
            return  # the source refreshes the list once a second: at shorter intervals, nothing to do
        self._shown = shown
        tasks = select(sample.delayed_tasks, self.name_filter)
        self._set_subtitle(Text(f"filter: {self.name_filter}") if self.name_filter else "")
        interval = sample.interval_s or 1.0
        self._set_rows(tuple(_cells(t, interval) for t in tasks), tuple(t.pid for t in tasks))

    def _set_subtitle(self, subtitle: str | Text) -> None:
        # a str border title is markup, and the source's name may come from a recording
        self.set_border_subtitle(Text(subtitle) if isinstance(subtitle, str) and subtitle else subtitle)

    def _set_rows(self, rows: tuple[Cells, ...], pids: tuple[int, ...]) -> None:
        old_rows, old_cursor = self.rows, self.cursor_row
        old_pid = self.pids[old_cursor] if old_cursor < len(self.pids) else None
        self.rows, self.pids = rows, pids
        if old_pid in pids:  # the cursor follows its task when the order changes
            self.cursor_row = pids.index(old_pid)
        self.cursor_row = max(0, min(self.cursor_row, len(rows) - 1))
        self._strips = {}  # built again, as the lines are drawn, for the new rows only
        if len(rows) != len(old_rows):
            self._resize_list(len(rows) + 1)
        changed = [i for i in range(max(len(rows), len(old_rows)))
                   if i >= len(rows) or i >= len(old_rows) or rows[i] != old_rows[i]
                   or (i in (old_cursor, self.cursor_row) and old_cursor != self.cursor_row)]
        self._refresh_rows(changed)

    def _resize_list(self, lines: int) -> None:
        """A new number of lines: a layout only when the scrollbar comes or goes. Otherwise the
        scrollbar is told the new length and nothing else moves (a layout repaints the screen)."""
        size = Size(WIDTH, lines)
        needs_scrollbar = lines > self.scrollable_content_region.height
        if not self.is_mounted or needs_scrollbar != self.show_vertical_scrollbar:
            self.virtual_size = size
            return
        self.set_reactive(ScrollView.virtual_size, size)
        if needs_scrollbar:
            self.vertical_scrollbar.window_virtual_size = lines
        self.scroll_to(y=self.validate_scroll_y(self.scroll_y), animate=False)

    def _refresh_rows(self, indices: Sequence[int]) -> None:
        """Repaint the lines of these rows that are on screen (line 0 is the header)."""
        top = self.scroll_offset.y
        visible = range(top, top + max(0, self.scrollable_content_region.height - 1))
        repaint_lines(self, [index + 1 for index in indices if index in visible],  # line 0: the header
                      max(self.virtual_size.width, self.size.width), top=top)

    # ---- keys and mouse -----------------------------------------------------------------

    def _move_cursor(self, row: int) -> None:
        if not self.rows:
            return
        row = max(0, min(row, len(self.rows) - 1))
        if row == self.cursor_row:
            return
        old, self.cursor_row = self.cursor_row, row
        top = round(self.scroll_offset.y)
        height = max(1, self.scrollable_content_region.height - 1)
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False)
        self._refresh_rows((old, row))

    def action_cursor(self, delta: int) -> None:
        self._move_cursor(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self._move_cursor(self.cursor_row + direction * max(1, self.scrollable_content_region.height - 1))

    def action_cursor_to(self, row: int) -> None:
        self._move_cursor(row if row >= 0 else len(self.rows) - 1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and offset.y >= 1:  # line 0 is the header
            self._move_cursor(round(self.scroll_offset.y) + offset.y - 1)

    def on_focus(self) -> None:
        self._styles = {}  # the cursor looks different focused (a pseudo-class in the CSS)

    def on_blur(self) -> None:
        self._styles = {}

    # ---- drawing ------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = {}
        self._strips = {}

    def _style(self, name: str) -> Style:
        return component_style(self, self._styles, "tasks-panel", name)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        if y == 0:
            cells, name = tuple(label for label, _ in COLUMNS), "header"
        else:
            index = scroll_y + y - 1
            if index >= len(self.rows):
                return Strip.blank(width, self._style("base"))
            name = "cursor" if index == self.cursor_row else ("even-row" if index % 2 == 0 else "base")
            cells = self.rows[index]
        # every row's background (header, zebra, cursor) runs the full width, as DataTable's did
        strip = self._strip(cells, name).crop(scroll_x, scroll_x + width)
        return strip.extend_cell_length(width, self._style(name))

    def _strip(self, cells: Cells, name: str) -> Strip:
        key = (cells, name)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = Strip([Segment(_line(cells), self._style(name))], WIDTH)
        return strip
