"""The Migrations panel: where tasks move between CPUs, and which tasks move most.

A source x destination heat map when every CPU fits on screen; otherwise the busiest pairs ranked.
Rates are per second so a change of interval does not change the picture.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.widget import Widget

from scxtop.model import Sample
from scxtop.tui.sparkline import rate

CELL = 4
LABEL = 5
MIGRATORS = 5


def heatmap_fits(nr_cpus: int, width: int, height: int) -> bool:
    """The matrix needs a column per CPU and a line per CPU, plus room for the migrators."""
    return LABEL + CELL * nr_cpus <= width and nr_cpus + 2 + MIGRATORS + 1 <= height


def _right(text: Text, value: str, width: int, style: str) -> None:
    """Right-align with unstyled padding (SVG renderers collapse styled leading blanks)."""
    text.append(" " * max(0, width - len(value)))
    text.append(value, style=style)


class MigrationsPanel(Widget):
    DEFAULT_CSS = """
    MigrationsPanel { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sample: Sample | None = None
        self._shown: tuple[object, ...] | None = None
        self._title = ""

    def show(self, sample: Sample) -> None:
        """Take the sample; repaints only when what the panel draws from it changed."""
        self.sample = sample
        shown = (sample.migrations, sample.top_migrators, sample.interval_s,
                 tuple(c.cpu for c in sample.cpus), sample.source)
        if shown == self._shown:
            return
        self._shown = shown
        total = sample.total_migrations
        per_s = "" if total is None else f" {rate(total / (sample.interval_s or 1))}/s"
        if f"Migrations{per_s}" != self._title:  # a new title repaints the panel by itself
            self._title = self.border_title = f"Migrations{per_s}"
        else:
            self.refresh()

    def render(self) -> Text:
        sample = self.sample
        if sample is None:
            return Text("waiting for the first sample…", style="italic")
        if sample.migrations is None:
            return Text(f"n/a: the {sample.source} source cannot see migrations", style="italic")
        nr_cpus = len(sample.cpus)
        text = Text()
        if heatmap_fits(nr_cpus, self.size.width, self.size.height):
            self._heatmap(text, sample)
        else:
            self._ranked(text, sample, max(3, self.size.height - MIGRATORS - 3))
        self._migrators(text, sample)
        return text

    def _heat_style(self, fraction: float) -> Style:
        variables = self.app.get_css_variables()
        base = Color.parse(variables.get("surface", "black"))
        hot = Color.parse(variables.get("error", "red"))
        background = base.blend(hot, min(1.0, fraction))
        foreground = background.get_contrast_text(0.9)
        return Style(bgcolor=background.rich_color, color=foreground.rich_color)

    def _heatmap(self, text: Text, sample: Sample) -> None:
        cpus = sorted(c.cpu for c in sample.cpus)
        rates = {(m.src, m.dst): m.count / (sample.interval_s or 1) for m in sample.migrations or ()}
        top = max(rates.values(), default=0.0) or 1.0
        # cells hold at most CELL - 1 characters: the compact rate ("12k") fits
        text.append("from".ljust(LABEL), style="bold")
        for dst in cpus:
            _right(text, str(dst), CELL, "bold")
        text.append("  (to)\n")
        for src in cpus:
            _right(text, str(src), LABEL - 1, "bold")
            text.append(" ")
            for dst in cpus:
                per_s = rates.get((src, dst), 0.0)
                cell = "·" if src == dst else (rate(per_s) or "" if per_s else "")
                text.append(f"{cell:>{CELL}}", style=self._heat_style(per_s / top) if per_s else "")
            text.append("\n")

    def _ranked(self, text: Text, sample: Sample, lines: int) -> None:
        pairs = sorted(sample.migrations or (), key=lambda m: -m.count)[:lines]
        text.append("busiest pairs   src → dst      /s\n", style="bold")
        if not pairs:
            text.append("  none\n", style="italic")
        for pair in pairs:
            per_s = rate(pair.count / (sample.interval_s or 1))
            text.append(f"  cpu{pair.src:<5} → cpu{pair.dst:<5} {per_s:>7}\n")

    def _migrators(self, text: Text, sample: Sample) -> None:
        text.append("top migrating tasks\n", style="bold")
        if sample.top_migrators is None:
            text.append("  n/a\n", style="italic")
            return
        migrators = sorted(sample.top_migrators, key=lambda m: -m.count)[:MIGRATORS]
        if not migrators:
            text.append("  none\n", style="italic")
        for task in migrators:
            per_s = rate(task.count / (sample.interval_s or 1))
            text.append(f"  {task.pid:>7} {task.comm[:16]:<16} {per_s:>6}/s\n")
