"""The `?` screen: every key the dashboard answers to, with what it does."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


def binding_lines(bindings: list[BindingType]) -> Text:
    """One line per key: the key as the footer shows it, then what it does."""
    text = Text()
    for binding in bindings:
        if isinstance(binding, Binding) and binding.description:
            text.append(f"{binding.key_display or binding.key:>7}  ", style="bold")
            text.append(f"{binding.description}\n")
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close help", id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: auto; height: auto; max-height: 90%; border: round $primary;
        background: $surface; padding: 1 2; }
    HelpScreen Static { width: auto; }
    """

    def __init__(self, bindings: list[BindingType], extra: str = "") -> None:
        super().__init__()
        self.key_list = bindings
        self._extra = extra

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]scxtop keys[/b]  (ctrl+p: command palette)\n")
            yield Static(binding_lines(self.key_list))
            if self._extra:  # built from key names, which the config may set: plain text, not markup
                yield Static(Text(f"\n{self._extra}"))
