"""What the app shows instead of the dashboard when the terminal is too small to draw it."""

from __future__ import annotations

from textual.widgets import Static

MIN_WIDTH = 80
MIN_HEIGHT = 24


def too_small(width: int, height: int) -> bool:
    return width < MIN_WIDTH or height < MIN_HEIGHT


class TooSmall(Static):
    DEFAULT_CSS = """
    TooSmall { width: 1fr; height: 1fr; content-align: center middle; text-align: center; }
    """

    def explain(self, width: int, height: int) -> None:
        self.update(
            f"scxtop needs a terminal of at least {MIN_WIDTH}x{MIN_HEIGHT};"
            f" this one is {width}x{height}. Enlarge it or press q to quit."
        )
