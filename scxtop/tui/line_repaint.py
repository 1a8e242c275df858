"""What the Line-API panels share: repaint only the lines that changed, and their styles cached.

A refresh of the whole widget re-renders every line; a region refresh re-renders one. Panels that
rebuild their lines per sample compare old and new and ask only for the lines that differ, and
a border title or subtitle that changed repaints its own border line, not the panel.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Self

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

_UNSET = object()

if TYPE_CHECKING:
    _WidgetMixin = Widget
else:  # a plain mixin: Textual takes CSS and component classes from the first base that is a widget
    _WidgetMixin = object


class BorderTexts(_WidgetMixin):
    """A panel whose border title and subtitle, when they change, repaint only the border line
    that shows them. Assigning `border_title` refreshes the whole widget: every line of it is
    rendered again and, to the compositor, changed (sent to the terminal again), and the panels
    retitle themselves with a number that moves every sample. Listed before the widget class:
    `class Panel(BorderTexts, Widget)`."""

    _border_row: Region | None = None
    """While a border text is assigned: the one line its refresh repaints (content coordinates)."""
    _shown_title: object = _UNSET
    _shown_subtitle: object = _UNSET

    def set_border_title(self, title: str | Text) -> None:
        """Show `title` in the top border (a str is markup, as `border_title`'s); nothing when unchanged."""
        self._set_border_text("title", title, bottom=False)

    def set_border_subtitle(self, subtitle: str | Text) -> None:
        """Show `subtitle` in the bottom border; nothing when unchanged."""
        self._set_border_text("subtitle", subtitle, bottom=True)

    def _set_border_text(self, which: str, text: str | Text, bottom: bool) -> None:
        if text == getattr(self, f"_shown_{which}"):
            return
        setattr(self, f"_shown_{which}", text)
        self._border_row = self._border_line(bottom=bottom)
        try:
            setattr(self, f"border_{which}", text)  # Textual's setter: refresh() with no region
        finally:
            self._border_row = None

    def _border_line(self, bottom: bool) -> Region:
        """The top or bottom line of the widget, border included, relative to its content (what
        `refresh` takes)."""
        left, top = self.content_offset
        width, height = self.outer_size
        return Region(-left, height - 1 - top if bottom else -top, width, 1)

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> Self:
        if self._border_row is not None and not regions and not layout and not recompose:
            regions = (self._border_row,)
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


def repaint_lines(widget: Widget, lines: Iterable[int], width: int, top: int = 0) -> None:
    """Refresh these lines of `widget` (content lines, less `top`: a scroll view's first visible
    line) in one call, neighbours as one region. Every `refresh` call clears the widget's layout
    and style caches and re-reads its geometry: a call per line was most of a panel's update."""
    regions: list[Region] = []
    start = end = -1
    for y in sorted(set(lines)):
        if y == end:
            end += 1
            continue
        if end > start:
            regions.append(Region(0, start - top, width, end - start))
        start, end = y, y + 1
    if end > start:
        regions.append(Region(0, start - top, width, end - start))
    if regions:
        widget.refresh(*regions)


def repaint_changed(widget: Widget, old: Sequence[Strip], new: Sequence[Strip], width: int) -> None:
    """Refresh the lines of `widget` where `new` differs from `old`. A line only one of them has
    is repainted too (the panel draws a blank line past its last one); lines past both are blank
    before and after."""
    repaint_lines(widget, (y for y in range(max(len(old), len(new)))
                           if y >= len(old) or y >= len(new) or old[y] != new[y]), width)


def component_style(widget: Widget, cache: dict[str, Style], prefix: str, name: str) -> Style:
    """The widget's own style ("base"), or with its `prefix--name` component style on top; looked
    up once per style change (the caller empties `cache` in notify_style_update)."""
    style = cache.get(name)
    if style is None:
        style = widget.rich_style
        if name != "base":
            style += widget.get_component_rich_style(f"{prefix}--{name}")
        cache[name] = style
    return style


def fitted(segments: list[Segment], width: int, pad: Style) -> Strip:
    """A line cut or padded to exactly `width` cells, as one Strip: a crop and an extend would
    each make a Strip of their own (with its caches), and most lines need neither."""
    length = Segment.get_line_length(segments)
    if length == width:
        return Strip(segments, width)
    if length < width:
        return Strip([*segments, Segment(" " * (width - length), pad)], width)
    return Strip(segments, length).crop(0, width)
