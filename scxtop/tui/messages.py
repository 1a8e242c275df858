"""Messages the worker threads post to the app: samples, failures, switch progress."""

from __future__ import annotations

from textual.message import Message

from scxtop.model import Sample
from scxtop.sched_ext.types import SwitchResult
from scxtop.tui.collector import Failure


class SampleArrived(Message):
    def __init__(self, sample: Sample) -> None:
        super().__init__()
        self.sample = sample


class SourceFailed(Message):
    def __init__(self, failure: Failure) -> None:
        super().__init__()
        self.failure = failure


class SwitchProgress(Message):
    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line


class SwitchDone(Message):
    def __init__(self, result: SwitchResult) -> None:
        super().__init__()
        self.result = result


class SchedulerOutput(Message):
    """The running scheduler's last output lines, read off the UI thread."""

    def __init__(self, lines: tuple[str, ...]) -> None:
        super().__init__()
        self.lines = lines
