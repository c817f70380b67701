"""The help dialog: every key, what it does, and a word on the columns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.keys import format_key
from textual.widgets import Static

from afetch_tui.ui.screens.dialog import Dialog
from afetch_tui.ui.style import DIM, STATE_LOOK


def key_label(keys: str) -> str:
    """`space,p` → `space / p`, with Textual's own key names."""
    return " / ".join(_NAMES.get(key, format_key(key)) for key in map(str.strip, keys.split(",")))


_NAMES = {"enter": "enter", "delete": "delete", "space": "space"}


class HelpDialog(Dialog[None]):
    """Lists the bindings it is given, and the state icons."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,q", "cancel", "Close", id="afetch.help.close"),
    ]

    def __init__(self, keys: Iterable[tuple[str, str]]) -> None:
        super().__init__()
        self._keys = list(keys)

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 2))
        keys.add_column(style="bold #58a6ff", no_wrap=True, justify="right")
        keys.add_column()
        for key, description in self._keys:
            keys.add_row(key_label(key), description)
        keys.add_row(key_label("l"), "Set the selected host's rate limit (hosts panel)")
        keys.add_row(key_label("tab"), "Switch between downloads and hosts")
        keys.add_row(key_label("ctrl+p"), "Command palette: every action by name")
        states = Text()
        for look in STATE_LOOK.values():
            states.append(f"{look.icon} {look.word}   ", style=look.style)
        with Vertical(id="dialog", classes="help-dialog") as box:
            box.border_title = "Keys"
            with VerticalScroll():
                yield Static(keys)
                yield Static(Text("\nStates", style="bold"))
                yield Static(states)
                yield Static(
                    Text(
                        "\nSpeed is smoothed; Now is the last second; Trend is the last "
                        "16 seconds. Rates accept 2M, 500K, 1.5MiB.",
                        style=DIM,
                    )
                )
