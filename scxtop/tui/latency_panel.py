"""The wakeup-latency panel: runqlat's log2 histogram as horizontal bars, the last interval beside
everything since start, with the buckets holding p50, p99 and the maximum marked.

Redrawn only when the chart data changed; a short panel keeps the busiest buckets, a narrow one
drops the since-start bars. Colours are the theme's (component classes), so light, dark and
NO_COLOR all read: the bars are block characters, the marks are words.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from scxtop.model import LatencyHistogram
from scxtop.tui.latency_view import HistRow, fit_rows, histogram_rows, short_us
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


class LatencyPanel(Widget):
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

    def show(self, last: LatencyHistogram | None, total: LatencyHistogram | None, source: str,
             version: int) -> None:
        if version == self._version:
            return
        self._version = version
        self.last, self.total, self.source = last, total, source
        since = summary(total)
        self.border_title = "Wakeup latency"
        self.border_subtitle = f"since start {since}" if since else ""
        self.refresh()

    def render(self) -> Text:
        if self.last is None and self.total is None:
            na = self.get_component_rich_style("latency-panel--na")
            what = f"n/a: the {self.source} source cannot see wakeup latency" if self.source else "waiting…"
            return Text(what, style=na)
        rows = histogram_rows(self.last, self.total)
        if not rows:
            return Text("no wakeups yet", style=self.get_component_rich_style("latency-panel--na"))
        width, height = self.content_size.width, self.content_size.height
        marks_w = max((len(" ".join(r.marks)) for r in rows), default=0)
        room = width - LABEL - 1 - COUNT - 1 - (marks_w + 1 if marks_w else 0)
        both = room >= 2 * MIN_BAR + 1
        bar_w = max(1, (room - 1) // 2 if both else room)
        text = Text(no_wrap=True, overflow="crop")
        header = self.get_component_rich_style("latency-panel--header")
        if height >= 3:
            text.append("latency".ljust(LABEL) + " " + "last".rjust(COUNT) + " " + "interval".ljust(bar_w),
                        style=header)
            if both:
                text.append(" " + "since start".ljust(bar_w), style=header)
            text.append("\n")
            height -= 1
        shown = fit_rows(rows, height)
        styles = {name: self.get_component_rich_style(f"latency-panel--{name}")
                  for name in ("last", "total", "mark")}
        top_last = max((r.last for r in rows), default=0) or 1
        top_total = max((r.total for r in rows), default=0) or 1
        for i, row in enumerate(shown):
            self._row(text, row, bar_w, both, top_last, top_total, styles)
            if i < len(shown) - 1:
                text.append("\n")
        return text

    def _row(self, text: Text, row: HistRow, bar_w: int, both: bool, top_last: int, top_total: int,
             styles: dict[str, Style]) -> None:
        text.append(row.label.rjust(LABEL) + " ")
        count = rate(row.last) or "0"
        text.append(" " * (COUNT - len(count)) + count + " ")
        text.append(bar(row.last, bar_w, top_last), style=styles["last"])
        if both:
            text.append(" ")
            text.append(bar(row.total, bar_w, top_total), style=styles["total"])
        if row.marks:
            text.append(" " + " ".join(row.marks), style=styles["mark"])
