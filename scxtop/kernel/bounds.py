"""Numbers read from files others control (recordings, the switch journal): one check for all;
and text others choose (task names, recordings), made safe to show on a terminal.

A value a widget draws, a clock formats or a rate divides by must be a real, finite number in
its range; anything else is refused where it is read, never met later as a crash.
"""

from __future__ import annotations

import math

MAX_TIME = 253402300799.0
"""9999-12-31T23:59:59Z, the last second datetime can show: a later time is garbage."""
MAX_COUNT = 1 << 63
"""Above any counter the kernel keeps (u64 seen as signed)."""


def number_problem(value: object, low: float = -MAX_COUNT, high: float = MAX_COUNT) -> str | None:
    """Why `value` is not a finite number in [low, high] (e.g. 'nan, not a finite number'), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{type(value).__name__}, not a number"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value}, not a finite number"
    if not low <= value <= high:
        return f"{value:.6g}, out of range"
    return None


def printable(text: str) -> str:
    """`text` with every character that is not printable shown as '?': any local user can name a
    process `\\x1b[2J` (prctl PR_SET_NAME), and ESC, CR and the other controls would reach root's
    terminal as they are (clear the screen, set its title, write its clipboard)."""
    return text if text.isprintable() else "".join(ch if ch.isprintable() else "?" for ch in text)
