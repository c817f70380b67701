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

from afetch_tui.engine.meter import NOW_WINDOW, SMOOTHING_SECONDS
from afetch_tui.ui.screens.dialog import Dialog
from afetch_tui.ui.style import DIM, STATE_LOOK


def key_label(keys: str) -> str:
    """`space,p` → `space / p`, with Textual's own key names."""
    return " / ".join(_NAMES.get(key, format_key(key)) for key in map(str.strip, keys.split(",")))


_NAMES = {"enter": "enter", "delete": "del", "space": "space", "escape": "esc"}


class HelpDialog(Dialog[None]):
    """Lists the bindings it is given (titled by their tooltips), and the state icons."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,q", "cancel", "Close", id="afetch.help.close"),
    ]

    def __init__(self, bindings: Iterable[Binding]) -> None:
        super().__init__()
        self._keys = list(bindings)
        """Not `_bindings`: that is Textual's own attribute."""

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 2))
        keys.add_column(style="bold #58a6ff", no_wrap=True, justify="right")
        keys.add_column()
        for binding in self._keys:
            keys.add_row(key_label(binding.key), binding.tooltip or binding.description)
        keys.add_row("↑↓ j k", "Move the cursor; home/g, end/G: first, last")
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
                        f"\nSpeed (and a host's Avg) is smoothed over ~{SMOOTHING_SECONDS:.0f} s; "
                        f"Now is the last {NOW_WINDOW:.0f} s; Trend is the last 16 s. "
                        "A waiting row says why (host cooling, host cap, n/n running, "
                        "retry in). Rates accept 2M, 500K, 1.5MiB.",
                        style=DIM,
                    )
                )
