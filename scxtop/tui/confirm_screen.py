"""A yes/no question before scxtop changes the running scheduler.

The question names a scheduler (from PATH or a config file): it is a `Text`, never markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: auto; height: auto; border: round $warning;
        background: $surface; padding: 1 2; }
    ConfirmScreen Static { width: auto; }
    """

    def __init__(self, question: Text) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question)
            yield Static("\n[b]y[/b]/enter: yes    [b]n[/b]/escape: no")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
