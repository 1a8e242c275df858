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
        for y in range(min(low, high), max(low, high) + 1):
            self.dot(x, y, layer)

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
        bits, layers = self._bits[row], self._layer[row]
        for cell in range(self.cols):
            layer = layers[cell] if bits[cell] else BLANK
            char = chr(0x2800 + bits[cell]) if bits[cell] else " "
            if out and out[-1][1] == layer:
                out[-1] = (out[-1][0] + char, layer)
            else:
                out.append((char, layer))
        return out
