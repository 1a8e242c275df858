"""The sched_ext panel: what the kernel says runs, the timeline of changes, and switch progress."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from scxtop.model import SchedExtEvent, SchedExtEventKind, SchedExtState

TIMELINE_LINES = 5
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

    def show(self, state: SchedExtState, events: Sequence[SchedExtEvent], progress: Sequence[str],
             switching: str | None = None, output: Sequence[str] = ()) -> None:
        shown = (state, tuple(events), tuple(progress), switching, tuple(output))
        if shown == (self.state, self.events, self.progress, self.switching, self.output):
            return  # unchanged: no repaint, and above all no re-layout
        self.state, self.events, self.progress, self.switching, self.output = shown
        self.refresh(layout=True)  # the panel's height follows its lines

    def render(self) -> Text:
        state = self.state
        text = Text()
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
            self._output(text)
            self._timeline(text)
        if self.switching is not None:
            text.append(f"\nswitching… to {self.switching}", style="bold yellow")
        for line in self.progress[-4:]:
            text.append(f"\n{line}", style="italic")
        return text

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
