"""The left column: CPU rows on top, the charts in whatever height the rows leave.

With few CPUs the rows need a few lines and the charts take the rest; with many, the rows take
all but CHARTS_SMALL lines (the charts collapse to sparklines). Heights are set only when the
number of rows or the column's size changes, never on a data update, so a refresh never
re-lays out the screen.
"""

from __future__ import annotations

from textual.containers import Vertical

CHARTS_SMALL = 3
"""Border plus one sparkline line: what the charts keep when the CPU rows need the room."""
CHARTS_WANT = 10
"""Below this the charts give their room to CPU rows that do not fit."""
BORDER = 2


class CpuColumn(Vertical):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._fitted: tuple[int, int] = (-1, -1)

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        """Give the CPU panel the lines its rows need, up to what leaves the charts their share."""
        from scxtop.tui.charts_panel import ChartsPanel
        from scxtop.tui.cpu_panel import CpuPanel

        panels = list(self.query_children(CpuPanel))
        charts = list(self.query_children(ChartsPanel))
        if not panels or not charts:
            return
        cpus, chart = panels[0], charts[0]
        scrollbar = 1 if cpus.virtual_size.width > self.size.width - BORDER else 0
        want = cpus.virtual_size.height + BORDER + scrollbar
        room = self.size.height
        key = (want, room)
        if key == self._fitted or room <= 0:
            return
        self._fitted = key
        if want + CHARTS_WANT <= room:
            height = want
        else:
            height = max(BORDER + 2, room - CHARTS_SMALL) if want + CHARTS_SMALL > room else want
        cpus.styles.height = height
        chart.display = room - height >= CHARTS_SMALL
