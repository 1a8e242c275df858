"""The CPU panel: one line per CPU (or per core/LLC/node), drawn with the Line API.

A `ScrollView` renders only the visible lines, so 1024 CPUs cost what a screenful costs; no
per-CPU widgets. The header line stays at the top while the rows scroll under it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from scxtop.kernel.topology import Grouping
from scxtop.tui.cpu_rows import CpuRow, Imbalance, Rows
from scxtop.tui.line_repaint import BorderTexts, repaint_lines
from scxtop.tui.sparkline import bar, rate, sparkline

BAR_WIDTH = 8


def _num(value: float | None, fmt: str) -> str | None:
    return None if value is None else format(value, fmt)


class Kind(enum.Enum):
    """How a column is drawn: the row loop dispatches on this, never on a column's position."""

    TEXT = "text"
    """A value; 'n/a' when the source cannot see it."""
    LOAD = "load"
    """A value that turns red on an overloaded row (the runqueue)."""
    BAR = "bar"
    """The runqueue as a bar on the panel's common scale."""
    HISTORY = "history"
    """The runqueue history as a sparkline."""
    FLAG = "flag"
    """A marker that is always red (HOT)."""


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    width: int
    text: Callable[[CpuRow], str | None]
    right: bool = True
    kind: Kind = Kind.TEXT


def _bar_column(width: int) -> Column:
    return Column("", width, lambda r: "", right=False, kind=Kind.BAR)


def layout_columns(grouped: bool, width: int) -> tuple[Column, ...]:
    """Fixed columns, with the history sparkline taking what the panel has left (6..40 cells)."""
    label = Column("group cpus" if grouped else "CPU", 12 if grouped else 7, lambda r: r.label, right=False)
    fixed = (
        Column("scx", 5, lambda r: _num(r.rq_scx, ".1f")),
        Column("util%", 5, lambda r: _num(r.util, ".0f")),
        Column("MHz", 5, lambda r: _num(r.freq_mhz, ".0f")),
        Column("csw/s", 6, lambda r: rate(r.csw_s)),
        Column("in/s", 5, lambda r: rate(r.mig_in_s)),
        Column("out/s", 5, lambda r: rate(r.mig_out_s)),
        Column("", 3, lambda r: "HOT" if r.overloaded else "", right=False, kind=Kind.FLAG),
    )
    rq = Column("rq", 5, lambda r: _num(r.rq, ".1f"), kind=Kind.LOAD)
    used = sum(c.width + 1 for c in (label, rq, *fixed)) + BAR_WIDTH + 1
    spark = max(6, min(40, width - used - 1))
    history = Column("history", spark, lambda r: "", right=False, kind=Kind.HISTORY)
    return (label, rq, _bar_column(BAR_WIDTH), history, *fixed)



class CpuPanel(BorderTexts, ScrollView, can_focus=True):
    """Runqueue bar, history and counters per CPU; the hot ones stand out."""

    COMPONENT_CLASSES = {
        "cpu-panel--header",
        "cpu-panel--bar",
        "cpu-panel--spark",
        "cpu-panel--hot",
        "cpu-panel--na",
    }

    DEFAULT_CSS = """
    CpuPanel > .cpu-panel--header { text-style: bold; color: $text-accent; }
    CpuPanel > .cpu-panel--bar { color: $success; }
    CpuPanel > .cpu-panel--spark { color: $primary; }
    CpuPanel > .cpu-panel--hot { color: $error; text-style: bold; }
    CpuPanel > .cpu-panel--na { color: $text-disabled; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: Sequence[CpuRow] = ()
        self.columns: tuple[Column, ...] = layout_columns(False, 80)
        self._grouped = False
        self._top = 2.0
        self._styles: dict[str, Style] = {}
        self._columns_for: tuple[bool, int] = (False, 80)
        self._frame: tuple[bool, int, float] | None = None
        """What every line depends on (grouping, width, the bars' scale): when it changes, all redraw."""
        self._lines: dict[tuple[int, int, int], Strip] = {}
        """Finished lines of the current rows by (row index, scroll x, width)."""
        self._render_frame: tuple[int, int, int] | None = None
        """(scroll x, scroll y, content width) while `render_lines` runs."""
        self.virtual_size = Size(self._width(), 1)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = {}
        self._lines = {}

    def _style(self, name: str) -> Style:
        """A component style, looked up once per theme change instead of once per cell."""
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = (self.rich_style if name == "base"
                                          else self.get_component_rich_style(name))
        return style

    def _width(self) -> int:
        return sum(c.width + 1 for c in self.columns)

    def show(self, rows: Rows, grouping: Grouping, imbalance: Imbalance | None) -> None:
        """Take new rows; only the visible lines whose row changed are drawn again."""
        old_rows, old_frame = self.rows, self._frame
        self.rows = rows
        self._grouped = grouping is not Grouping.CPU
        width = self.scrollable_content_region.width
        if (self._grouped, width) != self._columns_for:
            self.columns = layout_columns(self._grouped, width)
            self._columns_for = (self._grouped, width)
        self._top = max(2.0, rows.max_rq())
        self._frame = (self._grouped, width, self._top)
        old_lines, self._lines = self._lines, {}
        self.virtual_size = Size(self._width(), len(rows) + 1)  # a layout only when the count changes
        self.set_border_title(f"CPUs ({len(rows)} {grouping.value}{'s' if len(rows) != 1 else ''})")
        self.set_border_subtitle(imbalance.describe() if imbalance else "")
        self.set_class(imbalance is not None, "-imbalanced")
        if old_frame is None or self._frame[:2] != old_frame[:2] or len(rows) != len(old_rows):
            self.refresh()  # new columns or another number of rows: every line
            return
        scroll_x, scroll_y = self.scroll_offset
        changed: list[int] = []
        for index in range(scroll_y, min(len(rows), scroll_y + self.scrollable_content_region.height - 1)):
            if self._frame == old_frame:
                if rows[index] != old_rows[index]:
                    changed.append(index + 1)  # line 0 is the header
                continue
            # a new bar scale: the line drawn again, repainted only when it looks different
            # (rows with the same numbers and a short bar often do)
            key = (index, scroll_x, width)
            line = self._lines[key] = self._row_line(index, scroll_x, width)
            if old_lines.get(key) != line:
                changed.append(index + 1)
        repaint_lines(self, changed, max(self.virtual_size.width, self.size.width), top=scroll_y)

    def on_resize(self) -> None:
        self.columns = layout_columns(self._grouped, self.scrollable_content_region.width)
        self._columns_for = (self._grouped, self.scrollable_content_region.width)
        self._frame = None
        self._lines = {}
        self.virtual_size = Size(self._width(), len(self.rows) + 1)

    def render_lines(self, crop: Region) -> list[Strip]:
        """Look up the scroll offset and the content width once for the lines of this render, not
        once per line (`scrollable_content_region` recomputes the region every time it is read)."""
        self._render_frame = (*self.scroll_offset, self.scrollable_content_region.width)
        try:
            return super().render_lines(crop)
        finally:
            self._render_frame = None

    def render_line(self, y: int) -> Strip:
        frame = self._render_frame
        if frame is None:  # called on its own, outside render_lines
            scroll_x, scroll_y = self.scroll_offset
            width = self.scrollable_content_region.width
        else:
            scroll_x, scroll_y, width = frame
        if y == 0:
            strip = self._header()
        else:
            index = scroll_y + y - 1
            if index >= len(self.rows):
                return Strip.blank(width, self._style("base"))
            key = (index, scroll_x, width)
            line = self._lines.get(key)
            if line is None:
                line = self._lines[key] = self._row_line(index, scroll_x, width)
            return line
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, self._style("base"))

    def _row_line(self, index: int, scroll_x: int, width: int) -> Strip:
        """Row `index` as the line on screen: scrolled `scroll_x` cells, exactly `width` cells."""
        row = self.rows[index]
        used = self._width()
        if scroll_x == 0 and used <= width:  # the usual case: padded as built, no crop
            return self._row(row, width - used)
        line = self._row(row, 0).crop(scroll_x, scroll_x + width)
        return line.extend_cell_length(width, self._style("base"))

    def _header(self) -> Strip:
        style = self._style("cpu-panel--header")
        text = " ".join(
            (c.title.rjust(c.width) if c.right else c.title.ljust(c.width)) for c in self.columns
        )
        return Strip([Segment(text + " ", style)])

    def _row(self, row: CpuRow, pad: int) -> Strip:
        """One row and `pad` blank cells after it, as few segments as its styles allow (neighbours
        of one style are merged: Textual handles every segment again for the border, the
        background and the compositor)."""
        base = self._style("base")
        na = self._style("cpu-panel--na")
        hot = self._style("cpu-panel--hot")
        segments: list[Segment] = []
        run: list[str] = []
        run_style = base

        def add(text: str, style: Style) -> None:
            nonlocal run_style
            if style is not run_style and run:
                segments.append(Segment("".join(run), run_style))
                run.clear()
            run_style = style
            run.append(text)

        for column in self.columns:
            style: Style = base
            if column.kind is Kind.BAR:
                text = bar(row.rq or 0.0, column.width, self._top)
                style = hot if row.overloaded else self._style("cpu-panel--bar")
            elif column.kind is Kind.HISTORY:
                top = max([self._top, *row.history])
                text = sparkline(row.history, column.width, top)
                style = self._style("cpu-panel--spark")
            else:
                value = column.text(row)
                if value is None:
                    text, style = "n/a", na
                else:
                    text = value
                    if column.kind is Kind.FLAG or (column.kind is Kind.LOAD and row.overloaded):
                        style = hot
                if len(text) > column.width:
                    text = text[: column.width - 1] + "…"
                text = text.rjust(column.width) if column.right else text.ljust(column.width)
            add(text, style)
            add(" ", base)
        add(" " * pad, base)
        segments.append(Segment("".join(run), run_style))
        return Strip(segments, self._width() + pad)
