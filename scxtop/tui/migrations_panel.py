"""The Migrations panel: where tasks move between CPUs, and which tasks move most.

A source x destination heat map when every CPU fits on screen; otherwise the busiest pairs ranked.
Rates are per second so a change of interval does not change the picture.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.strip import Strip
from textual.widget import Widget

from scxtop.kernel.bounds import printable
from scxtop.model import Sample
from scxtop.tui.line_repaint import BorderTexts, fitted, repaint_changed
from scxtop.tui.sparkline import rate

CELL = 4
LABEL = 5
MIGRATORS = 5


def heatmap_fits(nr_cpus: int, width: int, height: int) -> bool:
    """The matrix needs a column per CPU and a line per CPU, plus room for the migrators."""
    return LABEL + CELL * nr_cpus <= width and nr_cpus + 2 + MIGRATORS + 1 <= height


class MigrationsPanel(BorderTexts, Widget):
    """Drawn with the Line API: the lines are built as segments when the sample changes, and only
    the lines that differ from the ones on screen are repainted (a Rich `Text` was re-rendered
    whole, and wrapped, on every change)."""

    DEFAULT_CSS = """
    MigrationsPanel { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sample: Sample | None = None
        self._shown: tuple[object, ...] | None = None
        self._strips: list[Strip] = []
        self._built_for: tuple[object, ...] | None = None
        self._styles: dict[str, Style] = {}
        self._heat: tuple[Color, Color] | None = None

    def show(self, sample: Sample) -> None:
        """Take the sample; repaints only the lines that changed, and only when the data did."""
        self.sample = sample
        shown = (sample.migrations, sample.top_migrators, sample.interval_s,
                 tuple(c.cpu for c in sample.cpus), sample.source)
        if shown == self._shown:
            return
        self._shown = shown
        total = sample.total_migrations
        per_s = "" if total is None else f" {rate(total / (sample.interval_s or 1))}/s"
        old = self._strips
        self._build()
        self.set_border_title(f"Migrations{per_s}")
        repaint_changed(self, old, self._strips, self.content_size.width)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = {}
        self._heat = None
        self._built_for = None

    def _style(self, name: str) -> Style:
        """The panel's style, bold or italic on top, looked up once per style change."""
        style = self._styles.get(name)
        if style is None:
            style = self.rich_style
            if name == "bold":
                style += Style(bold=True)
            elif name == "italic":
                style += Style(italic=True)
            self._styles[name] = style
        return style

    def render_line(self, y: int) -> Strip:
        width, _ = self.content_size
        if self._key() != self._built_for:
            self._build()
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self._style("base"))

    def _key(self) -> tuple[object, ...]:
        return (self._shown, self.size, self.content_size)

    def _build(self) -> None:
        self._built_for = self._key()
        width, _ = self.content_size
        base = self._style("base")
        self._strips = [fitted(line, width, base) for line in self._lines()]

    def _lines(self) -> list[list[Segment]]:
        """The panel's lines as segments: plain text from the data, styles from the theme."""
        sample = self.sample
        if sample is None:
            return [[Segment("waiting for the first sample…", self._style("italic"))]]
        if sample.migrations is None:
            what = f"n/a: the {sample.source} source cannot see migrations"
            return [[Segment(what, self._style("italic"))]]
        nr_cpus = len(sample.cpus)
        if heatmap_fits(nr_cpus, self.size.width, self.size.height):
            lines = self._heatmap(sample)
        else:
            lines = self._ranked(sample, max(3, self.size.height - MIGRATORS - 3))
        return lines + self._migrators(sample)

    def _heat_style(self, fraction: float) -> Style:
        if self._heat is None:
            variables = self.app.get_css_variables()
            self._heat = (Color.parse(variables.get("surface", "black")),
                          Color.parse(variables.get("error", "red")))
        base, hot = self._heat
        background = base.blend(hot, min(1.0, fraction))
        foreground = background.get_contrast_text(0.9)
        return self._style("base") + Style(bgcolor=background.rich_color, color=foreground.rich_color)

    def _right(self, line: list[Segment], value: str, width: int, style: Style) -> None:
        """Right-align with unstyled padding (SVG renderers collapse styled leading blanks)."""
        line.append(Segment(" " * max(0, width - len(value)), self._style("base")))
        line.append(Segment(value, style))

    def _heatmap(self, sample: Sample) -> list[list[Segment]]:
        base, bold = self._style("base"), self._style("bold")
        cpus = sorted(c.cpu for c in sample.cpus)
        rates = {(m.src, m.dst): m.count / (sample.interval_s or 1) for m in sample.migrations or ()}
        top = max(rates.values(), default=0.0) or 1.0
        # cells hold at most CELL - 1 characters: the compact rate ("12k") fits
        head = [Segment("from".ljust(LABEL), bold)]
        for dst in cpus:
            self._right(head, str(dst), CELL, bold)
        head.append(Segment("  (to)", base))
        lines = [head]
        for src in cpus:
            line: list[Segment] = []
            self._right(line, str(src), LABEL - 1, bold)
            line.append(Segment(" ", base))
            for dst in cpus:
                per_s = rates.get((src, dst), 0.0)
                cell = "·" if src == dst else (rate(per_s) or "" if per_s else "")
                line.append(Segment(f"{cell:>{CELL}}", self._heat_style(per_s / top) if per_s else base))
            lines.append(line)
        return lines

    def _ranked(self, sample: Sample, count: int) -> list[list[Segment]]:
        base = self._style("base")
        pairs = sorted(sample.migrations or (), key=lambda m: -m.count)[:count]
        lines = [[Segment("busiest pairs   src → dst      /s", self._style("bold"))]]
        if not pairs:
            lines.append([Segment("  none", self._style("italic"))])
        for pair in pairs:
            per_s = rate(pair.count / (sample.interval_s or 1))
            lines.append([Segment(f"  cpu{pair.src:<5} → cpu{pair.dst:<5} {per_s:>7}", base)])
        return lines

    def _migrators(self, sample: Sample) -> list[list[Segment]]:
        base = self._style("base")
        lines = [[Segment("top migrating tasks", self._style("bold"))]]
        if sample.top_migrators is None:
            lines.append([Segment("  n/a", self._style("italic"))])
            return lines
        migrators = sorted(sample.top_migrators, key=lambda m: -m.count)[:MIGRATORS]
        if not migrators:
            lines.append([Segment("  none", self._style("italic"))])
        for task in migrators:
            per_s = rate(task.count / (sample.interval_s or 1))
            lines.append([Segment(f"  {task.pid:>7} {printable(task.comm)[:16]:<16} {per_s:>6}/s", base)])
        return lines
