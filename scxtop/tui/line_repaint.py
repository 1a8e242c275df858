"""What the Line-API panels share: repaint only the lines that changed, and their styles cached.

A refresh of the whole widget re-renders every line; a region refresh re-renders one. Panels that
rebuild their lines per sample compare old and new and ask only for the lines that differ.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


def repaint_changed(widget: Widget, old: Sequence[Strip], new: Sequence[Strip], width: int) -> None:
    """Refresh the lines of `widget` where `new` differs from `old`; all of it when the count changed."""
    if len(old) != len(new):
        widget.refresh()
        return
    for y, (before, after) in enumerate(zip(old, new, strict=True)):
        if before != after:
            widget.refresh(Region(0, y, width, 1))


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
