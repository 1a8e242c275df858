"""The `?` screen: every key the dashboard answers to, with what it does."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


def binding_table(bindings: list[BindingType]) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", expand=False)
    table.add_column("key", style="bold")
    table.add_column("does")
    for binding in bindings:
        if isinstance(binding, Binding) and binding.description:
            table.add_row(binding.key_display or binding.key, binding.description)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close help", id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: auto; height: auto; max-height: 90%; border: round $primary;
        background: $surface; padding: 1 2; }
    """

    def __init__(self, bindings: list[BindingType], extra: str = "") -> None:
        super().__init__()
        self._bindings = bindings
        self._extra = extra

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]scxtop keys[/b]  (ctrl+p: command palette)\n")
            yield Static(binding_table(self._bindings))
            if self._extra:
                yield Static(f"\n{self._extra}")
