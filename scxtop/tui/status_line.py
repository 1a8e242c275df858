"""The status line: which source feeds the dashboard, what it cannot see, and how it is doing."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

from scxtop.model import Sample


@dataclass(frozen=True, slots=True)
class Status:
    source: str = "starting"
    interval_s: float = 1.0
    limitations: tuple[str, ...] = ()
    lost_events: int = 0
    paused: bool = False
    retry: str = ""
    """'retrying in 4s (attempt 3): bpftrace exited' while a failed source waits to reopen."""
    position: str = ""
    """Replay position, e.g. '12/300 t=11.0s'."""
    wakeup: str = ""
    """Wakeup-to-run latency percentiles of the interval, e.g. 'wakeup p50 4µs p99 512µs'."""

    @classmethod
    def of(cls, sample: Sample, **rest: object) -> Status:
        return cls(source=sample.source, limitations=sample.limitations,
                   lost_events=sample.lost_events, wakeup=wakeup_text(sample),
                   # The caller passes the remaining fields by name; a wrong one fails at once.
                   **rest)  # type: ignore[arg-type]


def wakeup_text(sample: Sample) -> str:
    histogram = sample.wakeup_latency
    if histogram is None or not histogram.total:
        return ""
    return f"wakeup p50 {_us(histogram.percentile(50))} p99 {_us(histogram.percentile(99))}"


def _us(value: int | None) -> str:
    if value is None:
        return "n/a"
    if value >= 1_000_000:
        return f"{value / 1e6:.1f}s"
    if value >= 1000:
        return f"{value / 1e3:.0f}ms"
    return f"{value}µs"


class StatusLine(Widget):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.status = Status()

    def show(self, status: Status) -> None:
        if status != self.status:
            self.status = status
            self.refresh()

    def render(self) -> Text:
        status = self.status
        text = Text(no_wrap=True, overflow="ellipsis")
        if status.paused:
            text.append(" PAUSED ", style="reverse bold")
            text.append(" ")
        if status.position:
            text.append("replay ", style="bold")
            text.append(f"{status.position} · recorded by ")
        text.append(status.source, style="bold")
        text.append(f" · every {status.interval_s:.3g}s")
        if status.wakeup:
            text.append(f" · {status.wakeup}")
        text.append(f" · lost events {status.lost_events}", style="bold red" if status.lost_events else "")
        if status.limitations:
            text.append(f" · cannot see: {', '.join(status.limitations)}", style="italic")
        if status.retry:
            text.append(f" · {status.retry}", style="bold red")
        return text
