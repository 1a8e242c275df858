"""Text bars, sparklines and compact numbers for the panels: plain strings, so a row costs no widgets."""

from __future__ import annotations

import math
from collections.abc import Sequence

SPARKS = " ▁▂▃▄▅▆▇█"
EIGHTHS = " ▏▎▍▌▋▊▉█"


def sparkline(values: Sequence[float], width: int, top: float) -> str:
    """The last `width` values as block characters scaled to `top`, right-aligned."""
    tail = list(values)[-width:]
    if not math.isfinite(top):  # a value from a file: draw what can be drawn
        top = max((v for v in tail if math.isfinite(v)), default=1.0)
    if top <= 0:
        top = 1.0
    chars = []
    for value in tail:
        if math.isnan(value):
            chars.append("?")
            continue
        level = round(min(max(value, 0.0), top) / top * (len(SPARKS) - 1))
        if value > 0 and level == 0:
            level = 1
        chars.append(SPARKS[level])
    return "".join(chars).rjust(width)


def bar(value: float, width: int, top: float) -> str:
    """A horizontal bar of `width` cells with eighth-cell resolution; full at `top` and beyond."""
    if math.isnan(value):
        return "?".ljust(width)[:width]
    if top <= 0 or not math.isfinite(top):
        top = max(value, 1.0) if math.isfinite(value) else 1.0
    eighths = round(min(max(value, 0.0), top) / top * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (EIGHTHS[part] if part else "")
    return text.ljust(width)[:width]


def cpu_ranges(cpus: Sequence[int]) -> str:
    """[0, 1, 2, 5] -> '0-2,5' (the kernel's cpulist format)."""
    parts: list[str] = []
    ordered = sorted(cpus)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def rate(value: float | None) -> str | None:
    """Per-second rates compactly: 950, 12.3k, 412k, 4.1M; None stays unknown."""
    if value is None:
        return None
    if value >= 1e6:
        return f"{value / 1e6:.1f}M"
    if value >= 1e5:
        return f"{value / 1e3:.0f}k"
    if value >= 1e4:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"
