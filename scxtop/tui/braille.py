"""Braille plotting without Textual: a canvas of 2x4 dots per cell, lines and bands on it.

Each dot column is one sample, newest at the right, so a chart `w` cells wide shows the last 2w
samples. Every cell remembers which layer drew it last (the widget colours cells by layer), so a
line per CPU or a band plus its mean each get their own theme colour.
"""

from __future__ import annotations

from collections.abc import Sequence

# bit of the dot at (column 0..1, row 0..3 from the top) in a braille cell
_DOT = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
BLANK = -1


class Canvas:
    """`cols` x `rows` cells; y is 0 at the bottom, `rows * 4 - 1` at the top."""

    def __init__(self, cols: int, rows: int) -> None:
        self.cols = max(0, cols)
        self.rows = max(0, rows)
        self._bits = [[0] * self.cols for _ in range(self.rows)]
        self._layer = [[BLANK] * self.cols for _ in range(self.rows)]

    @property
    def width(self) -> int:
        return self.cols * 2

    @property
    def height(self) -> int:
        return self.rows * 4

    def dot(self, x: int, y: int, layer: int) -> None:
        if not (0 <= x < self.width and 0 <= y < self.height):
            return
        row = self.rows - 1 - y // 4
        cell = x // 2
        self._bits[row][cell] |= _DOT[x % 2][3 - y % 4]
        self._layer[row][cell] = layer

    def column(self, x: int, low: int, high: int, layer: int) -> None:
        """Every dot of column x from low to high: `dot` for each, without a call per dot (a chart
        draws a few thousand a sample)."""
        if not 0 <= x < self.width:
            return
        cell, bits, layers = x // 2, self._bits, self._layer
        dots = _DOT[x % 2]
        last_row = self.rows - 1
        for y in range(max(0, min(low, high)), min(self.height - 1, max(low, high)) + 1):
            row = last_row - (y >> 2)
            bits[row][cell] |= dots[3 - (y & 3)]
            layers[row][cell] = layer

    def scale(self, value: float, top: float) -> int:
        """A value as a dot row: 0 at the bottom, `top` (and above) at the top."""
        if top <= 0:
            return 0
        return round(min(max(value, 0.0), top) / top * (self.height - 1))

    def line(self, values: Sequence[float], top: float, layer: int) -> None:
        """The newest `width` values, joined by vertical strokes so steep changes stay connected."""
        tail = values[-self.width:] if self.width else ()
        offset = self.width - len(tail)
        previous: int | None = None
        for i, value in enumerate(tail):
            y = self.scale(value, top)
            self.column(offset + i, y if previous is None else previous, y, layer)
            previous = y

    def band(self, lows: Sequence[float], highs: Sequence[float], top: float, layer: int) -> None:
        """Every dot between low and high, per sample (a min..max band)."""
        n = min(len(lows), len(highs), self.width)
        offset = self.width - n
        for i in range(n):
            self.column(offset + i, self.scale(lows[-n + i], top), self.scale(highs[-n + i], top), layer)

    def runs(self, row: int) -> list[tuple[str, int]]:
        """One cell row as (text, layer) runs, blank cells in layer BLANK."""
        out: list[tuple[str, int]] = []
        run: list[str] = []
        run_layer = BLANK
        for bits, layer in zip(self._bits[row], self._layer[row], strict=True):
            if not bits:
                layer = BLANK
            if layer != run_layer and run:
                out.append(("".join(run), run_layer))
                run = []
            run_layer = layer
            run.append(chr(0x2800 + bits) if bits else " ")
        if run:
            out.append(("".join(run), run_layer))
        return out
