"""The wakeup-latency panel: runqlat's log2 histogram as horizontal bars, the last interval beside
everything since start, with the buckets holding p50, p99 and the maximum marked.

Drawn with the Line API: the lines are built once per new chart data (or size), and only the
lines that differ from what is on screen are repainted. A short panel keeps the busiest buckets, a narrow one
drops the since-start bars. Colours are the theme's (component classes), so light, dark and
NO_COLOR all read: the bars are block characters, the marks are words.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from scxtop.model import LatencyHistogram
from scxtop.tui.latency_view import HistRow, fit_rows, histogram_rows, short_us
from scxtop.tui.line_repaint import BorderTexts, component_style, fitted, repaint_changed
from scxtop.tui.sparkline import bar, rate

LABEL = 11
COUNT = 5
MIN_BAR = 4


def summary(histogram: LatencyHistogram | None) -> str:
    if histogram is None or not histogram.total:
        return ""
    p50, p99 = histogram.percentile(50), histogram.percentile(99)
    top = max(b.high_us for b in histogram.buckets if b.count)
    return f"p50 <{short_us(p50 or 0)} p99 <{short_us(p99 or 0)} max <{short_us(top)}"


class LatencyPanel(BorderTexts, Widget):
    ALLOW_MAXIMIZE = True
    COMPONENT_CLASSES = {"latency-panel--header", "latency-panel--last", "latency-panel--total",
                         "latency-panel--mark", "latency-panel--na"}
    DEFAULT_CSS = """
    LatencyPanel > .latency-panel--header { color: $text-muted; text-style: bold; }
    LatencyPanel > .latency-panel--last { color: $success; }
    LatencyPanel > .latency-panel--total { color: $primary; }
    LatencyPanel > .latency-panel--mark { color: $warning; text-style: bold; }
    LatencyPanel > .latency-panel--na { color: $text-disabled; text-style: italic; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.last: LatencyHistogram | None = None
        self.total: LatencyHistogram | None = None
        self.source = ""
        self._version = -1
        self._strips: list[Strip] = []
        self._built_for: tuple[int, int, int] = (-1, -1, -1)
        self._styles: dict[str, Style] = {}

    def show(self, last: LatencyHistogram | None, total: LatencyHistogram | None, source: str,
             version: int) -> None:
        """Take the histograms; redraws only the lines that changed, and only when the data did."""
        if version == self._version:
            return
        self._version = version
        self.last, self.total, self.source = last, total, source
        since = summary(total)
        self.set_border_subtitle(f"since start {since}" if since else "")
        width, height = self.content_size
        old = self._strips
        self._build(width, height)
        repaint_changed(self, old, self._strips, width)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = {}
        self._built_for = (-1, -1, -1)

    def _style(self, name: str) -> Style:
        return component_style(self, self._styles, "latency-panel", name)

    def render_line(self, y: int) -> Strip:
        width, height = self.content_size
        if (self._version, width, height) != self._built_for:
            self._build(width, height)
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self._style("base"))

    def _build(self, width: int, height: int) -> None:
        self._built_for = (self._version, width, height)
        self._strips = [fitted(line, width, self._style("base"))
                        for line in self._lines(width, height)]

    def _lines(self, width: int, height: int) -> list[list[Segment]]:
        """The panel's lines as segments: plain text from the data, styles from the theme."""
        base = self._style("base")
        if self.last is None and self.total is None:
            what = f"n/a: the {self.source} source cannot see wakeup latency" if self.source else "waiting…"
            return [[Segment(what, self._style("na"))]]
        rows = histogram_rows(self.last, self.total)
        if not rows:
            return [[Segment("no wakeups yet", self._style("na"))]]
        marks_w = max((len(" ".join(r.marks)) for r in rows), default=0)
        room = width - LABEL - 1 - COUNT - 1 - (marks_w + 1 if marks_w else 0)
        both = room >= 2 * MIN_BAR + 1
        bar_w = max(1, (room - 1) // 2 if both else room)
        lines: list[list[Segment]] = []
        if height >= 3:
            head = "latency".ljust(LABEL) + " " + "last".rjust(COUNT) + " " + "interval".ljust(bar_w)
            if both:
                head += " " + "since start".ljust(bar_w)
            lines.append([Segment(head, self._style("header"))])
            height -= 1
        top_last = max((r.last for r in rows), default=0) or 1
        top_total = max((r.total for r in rows), default=0) or 1
        for row in fit_rows(rows, height):
            lines.append(self._row(row, bar_w, both, top_last, top_total, base))
        return lines

    def _row(self, row: HistRow, bar_w: int, both: bool, top_last: int, top_total: int,
             base: Style) -> list[Segment]:
        count = rate(row.last) or "0"
        segments = [Segment(row.label.rjust(LABEL) + " " + " " * (COUNT - len(count)) + count + " ", base),
                    Segment(bar(row.last, bar_w, top_last), self._style("last"))]
        if both:
            segments += [Segment(" ", base), Segment(bar(row.total, bar_w, top_total), self._style("total"))]
        if row.marks:
            segments.append(Segment(" " + " ".join(row.marks), self._style("mark")))
        return segments
