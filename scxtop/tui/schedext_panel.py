"""The sched_ext panel: what the kernel says runs, the timeline of changes, and switch progress."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from scxtop.model import SchedExtEnableState, SchedExtEvent, SchedExtEventKind, SchedExtState
from scxtop.sched_ext.report import EventRate

TIMELINE_LINES = 5
EVENT_PREFIX = "SCX_EV_"
OUTPUT_WIDTH = 200
"""A scheduler's output line is cut here (the panel wraps what fits)."""
ALARMING = {SchedExtEventKind.EJECTED, SchedExtEventKind.SWITCH_FAILED}


def _clock(when: float) -> str:
    try:
        return time.strftime("%H:%M:%S", time.localtime(when))
    except (OverflowError, ValueError, OSError):  # a time from a recording or the journal
        return "?"


def _yes_no(value: bool | None) -> str:
    return "n/a" if value is None else ("yes" if value else "no")


def _value(value: object) -> str:
    return "n/a" if value is None else str(value)


class SchedExtPanel(Widget):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state: SchedExtState | None = None
        self.events: Sequence[SchedExtEvent] = ()
        self.progress: Sequence[str] = ()
        self.switching: str | None = None
        self.output: Sequence[str] = ()
        self.rates: tuple[EventRate, ...] | None = None
        self.bypass: bool | None = None
        self._laid_out_height = -1

    def show(self, state: SchedExtState, events: Sequence[SchedExtEvent], progress: Sequence[str],
             switching: str | None = None, output: Sequence[str] = (),
             rates: tuple[EventRate, ...] | None = None, bypass: bool | None = None) -> None:
        """`rates`: the kernel's `root/events` counters per second over the last interval (None
        when they cannot be seen); `bypass`: whether sched_ext was bypassing the BPF scheduler."""
        shown = (state, tuple(events), tuple(progress), switching, tuple(output), rates, bypass)
        if shown == (self.state, self.events, self.progress, self.switching, self.output, self.rates,
                     self.bypass):
            return  # unchanged: no repaint, and above all no re-layout
        (self.state, self.events, self.progress, self.switching, self.output, self.rates,
         self.bypass) = shown
        # The panel's height follows its lines (height: auto), so a new number of lines needs a
        # layout; new values in the same lines (the event rates, every interval) only a repaint.
        height = self._height()
        self.refresh(layout=height != self._laid_out_height)
        self._laid_out_height = height

    def _height(self) -> int:
        """Lines the panel's text takes at its current width, wrapped as Textual will wrap it."""
        width = self.content_size.width
        if width <= 0:
            return -1  # not laid out yet: the first layout measures it
        return len(self.render().wrap(self.app.console, width))

    def render(self) -> Text:
        state = self.state
        text = Text()
        if self.switching is not None:  # first: a long panel is cut at the bottom
            text.append(f"switching… to {self.switching}\n", style="bold yellow")
        if state is None:
            text.append("waiting for the first sample…", style="italic")
        elif not state.supported:
            text.append("this kernel has no sched_ext", style="italic")
        else:
            running = state.ops or "none (fair class)"
            text.append("state ", style="bold")
            text.append(f"{_value(state.state):<9}")
            text.append(" scheduler ", style="bold")
            text.append(running + "\n", style="bold green" if state.ops else "")
            text.append("enable_seq ", style="bold")
            text.append(f"{_value(state.enable_seq)}  ")
            text.append("switch_all ", style="bold")
            text.append(f"{_yes_no(state.switch_all)}  ")
            text.append("nr_rejected ", style="bold")
            text.append(f"{_value(state.nr_rejected)}\n")
            if state.state != SchedExtEnableState.DISABLED or state.events:
                text.append("bypass ", style="bold")
                text.append(f"{_yes_no(self.bypass)}  ", style="bold red" if self.bypass else "")
                self._event_rates(text)
            self._output(text)
            self._timeline(text)
        for line in self.progress[-4:]:
            text.append(f"\n{line}", style="italic")
        return text

    def _event_rates(self, text: Text) -> None:
        """The counters that moved, fastest first, on one line (they differ between kernels)."""
        if self.rates is None:
            text.append("events/s ", style="bold")
            seen = self.state is not None and self.state.events
            text.append("waiting for a second read\n" if seen else "n/a\n", style="italic")
            return
        moved = sorted((r for r in self.rates if r.per_s), key=lambda r: (-r.per_s, r.name))
        text.append("events/s ", style="bold")
        if not moved:
            text.append(f"all 0 ({len(self.rates)} counters)\n")
            return
        parts = [f"{r.name.removeprefix(EVENT_PREFIX).lower()} {r.per_s:.3g}" for r in moved]
        text.append(", ".join(parts) + "\n")

    def _output(self, text: Text) -> None:
        """The scheduler's own last lines: plain text (it prints what it likes), never markup."""
        if not self.output or not (self.state and self.state.ops):
            return
        text.append("output ", style="bold")
        for i, line in enumerate(self.output):
            shown = "".join(ch if ch.isprintable() else " " for ch in line)
            text.append(("" if i == 0 else "       ") + shown[:OUTPUT_WIDTH] + "\n", style="dim")

    def _timeline(self, text: Text) -> None:
        room = TIMELINE_LINES
        if not self.events:
            text.append("timeline: no change seen since start", style="italic")
            return
        text.append("timeline\n", style="bold")
        lines = []
        for event in list(self.events)[-room:]:
            line = Text(f"{_clock(event.time)} {event.kind.value} {event.ops or 'default'}")
            if event.previous:
                line.append(f" (was {event.previous})")
            if event.by_us:
                line.append(" by scxtop")
            if event.detail:
                line.append(f": {event.detail}")
            if event.kind in ALARMING:
                line.stylize("bold red")
            lines.append(line)
        text.append(Text("\n").join(lines))
