"""Time-series charts under the CPU rows: runqueue length per CPU (a line each when few, a
min/mean/max band per group when many), migrations/s and context switches/s, over the last minutes.

Braille dots (2x4 per cell) drawn with the Line API: the strips are built once when the data,
the size or the theme changed, only the lines that differ from the ones on screen are repainted,
and `render_line` only hands them out. Less than four lines high, each chart
collapses to a one-line sparkline. Colours are theme variables (component classes); the lines
are dots, so NO_COLOR still shows the shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from scxtop.tui.braille import BLANK, Canvas
from scxtop.tui.chart_data import ChartData, top_of
from scxtop.tui.line_repaint import fitted, repaint_changed
from scxtop.tui.sparkline import rate, sparkline

PALETTE = 6
MIN_PLOT_ROWS = 3
"""Below this many rows for the dots, a chart is a one-line sparkline."""


@dataclass(frozen=True, slots=True)
class _Chart:
    title: str
    series: tuple[tuple[str, Sequence[float]], ...]
    """(label, values) lines."""
    bands: tuple[tuple[Sequence[float], Sequence[float]], ...] = ()
    """(low, high) per band, drawn under the line of the same index."""
    unit: str = ""
    visible: bool = True
    """False: the source cannot see it (drawn as n/a)."""


class ChartsPanel(Widget):
    ALLOW_MAXIMIZE = True
    COMPONENT_CLASSES = {
        "charts-panel--title", "charts-panel--axis", "charts-panel--na",
        *(f"charts-panel--c{i}" for i in range(PALETTE)),
        "charts-panel--band",
    }
    DEFAULT_CSS = """
    ChartsPanel > .charts-panel--title { color: $text-accent; text-style: bold; }
    ChartsPanel > .charts-panel--axis { color: $text-muted; }
    ChartsPanel > .charts-panel--na { color: $text-disabled; text-style: italic; }
    ChartsPanel > .charts-panel--c0 { color: $primary; }
    ChartsPanel > .charts-panel--c1 { color: $success; }
    ChartsPanel > .charts-panel--c2 { color: $warning; }
    ChartsPanel > .charts-panel--c3 { color: $error; }
    ChartsPanel > .charts-panel--c4 { color: $accent; }
    ChartsPanel > .charts-panel--c5 { color: $secondary; }
    ChartsPanel > .charts-panel--band { color: $primary-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.data: ChartData | None = None
        self._version = -1
        self._strips: list[Strip] = []
        self._built_for: tuple[int, int, int] = (-1, -1, -1)
        self._styles: dict[str, Style] = {}

    def show(self, data: ChartData) -> None:
        """Take the chart data; repaints the lines that changed, only when the data did."""
        self.data = data
        if data.version != self._version:
            self._version = data.version
            old = self._strips
            width, height = self.size
            self._strips = self._build(width, height)
            self._built_for = (self._version, width, height)
            repaint_changed(self, old, self._strips, width)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = {}
        self._built_for = (-1, -1, -1)

    def charts(self) -> list[_Chart]:
        data = self.data
        if data is None:
            return []
        if data.per_cpu_lines:
            rq = _Chart("runqueue", tuple((f"cpu{c}", s) for c, s in sorted(data.rq.items())))
        else:
            bands = data.bands()
            rq = _Chart("runqueue min/mean/max", tuple((b.label, b.mean) for b in bands),
                        tuple((b.low, b.high) for b in bands))
        return [
            rq,
            _Chart("migrations/s", (("", data.migrations_s),), visible=data.migrations_seen),
            _Chart("ctx switches/s", (("", data.csw_s),), visible=data.csw_seen),
        ]

    def render_line(self, y: int) -> Strip:
        key = (self._version, self.size.width, self.size.height)
        if key != self._built_for:
            self._strips = self._build(self.size.width, self.size.height)
            self._built_for = key
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.rich_style)

    # ---- drawing ------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        """A component style, looked up once per theme change instead of once per segment."""
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"charts-panel--{name}")
        return style

    def _build(self, width: int, height: int) -> list[Strip]:
        charts = self.charts()
        if not charts or width <= 0 or height <= 0:
            return []
        # the runqueue chart takes half the width, the two rates a quarter each
        widths = [width // 2, (width - width // 2) // 2]
        widths.append(width - sum(widths))
        columns = [self._chart(c, w - 1 if i < 2 else w, height)
                   for i, (c, w) in enumerate(zip(charts, widths, strict=True))]
        base = self.rich_style
        gap = Segment(" ", base)
        cells = [w - 1 if i < 2 else w for i, w in enumerate(widths)]
        strips = []
        for y in range(height):
            # the columns side by side, each cut or padded to its cells, a blank cell between
            segments: list[Segment] = []
            for i, column in enumerate(columns):
                line = column[y] if y < len(column) else []
                used = sum(cell_len(s.text) for s in line)
                if used > cells[i]:
                    segments.extend(Strip(line).crop(0, cells[i]))
                elif cells[i] > 0:
                    segments.extend(line)
                    if used < cells[i]:
                        segments.append(Segment(" " * (cells[i] - used), base))
                if i < 2:
                    segments.append(gap)
            strips.append(fitted(segments, width, base))
        return strips

    def _chart(self, chart: _Chart, width: int, height: int) -> list[list[Segment]]:
        """The chart's lines, each exactly `width` cells."""
        base = self.rich_style
        title_style, axis = self._style("title"), self._style("axis")
        lines: list[list[Segment]] = []
        values = [s for _, s in chart.series]
        top = top_of([*values, *(hi for _, hi in chart.bands)])
        if not chart.visible:
            text = f"{chart.title}: n/a"
            lines.append([Segment(text[:width].ljust(width), self._style("na"))])
            return lines + [[Segment(" " * width, base)] for _ in range(height - 1)]
        latest = values[0][-1] if values and values[0] else 0.0
        if height - 1 < MIN_PLOT_ROWS:
            return self._sparklines(chart, width, height, top)
        head = f"{chart.title} {rate(latest) if len(values) == 1 else ''}".rstrip()
        lines.append(self._title(head, chart, width, title_style))
        label = rate(top) or ""
        axis_w = max(len(label), 1) + 1
        canvas = Canvas(width - axis_w, height - 1)
        for i, (low, high) in enumerate(chart.bands):
            canvas.band(low, high, top, PALETTE + i)
        for i, series in enumerate(values):
            canvas.line(list(series), top, i % PALETTE)
        for row in range(canvas.rows):
            tick = label if row == 0 else ("0" if row == canvas.rows - 1 else "")
            segments = [Segment(tick.rjust(axis_w - 1) + "┤" if tick else " " * (axis_w - 1) + "│", axis)]
            for text, layer in canvas.runs(row):
                segments.append(Segment(text, self._layer_style(layer, base)))
            lines.append(segments)
        return lines

    def _layer_style(self, layer: int, base: Style) -> Style:
        if layer == BLANK:
            return base
        if layer >= PALETTE:
            return self._style("band")
        return self._style(f"c{layer}")

    def _title(self, head: str, chart: _Chart, width: int, style: Style) -> list[Segment]:
        segments = [Segment(head + " ", style)]
        used = len(head) + 1
        if len(chart.series) > 1 or chart.bands:
            for i, (name, _) in enumerate(chart.series):
                piece = f"{name} "
                if used + len(piece) > width:
                    break
                segments.append(Segment(piece, self._style(f"c{i % PALETTE}")))
                used += len(piece)
        return segments

    def _sparklines(self, chart: _Chart, width: int, height: int, top: float) -> list[list[Segment]]:
        """Collapsed: one line per chart, its name and a sparkline of its first series (or mean)."""
        values = [s for _, s in chart.series]
        latest = rate(values[0][-1]) if values and values[0] else ""
        name = f"{chart.title.split()[0]} {latest}".strip()
        name = name[: max(0, width // 2)]
        spark_w = max(0, width - len(name) - 1)
        series = values[0] if len(values) == 1 else _mean_series(values)
        line = [Segment(name + " ", self._style("title")),
                Segment(sparkline(list(series), spark_w, top), self._style("c0"))]
        blank = [Segment(" " * width, self.rich_style)]
        return [line] + [blank for _ in range(height - 1)]


def _mean_series(series: list[Sequence[float]]) -> list[float]:
    n = min((len(s) for s in series), default=0)
    if not n:
        return []
    return [sum(s[len(s) - n + i] for s in series) / len(series) for i in range(n)]
