"""The help dialog: every key, what it does, and a word on the columns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


def short_key_label(keys: str) -> str:
    """`plus,shift+up` → `+ ⇧↑`: the same keys in fewer cells, for the help's grid."""
    return " ".join(
        _SHORT.get(key, _NAMES.get(key, format_key(key))) for key in map(str.strip, keys.split(","))
    )


_NAMES = {"enter": "enter", "delete": "del", "space": "space", "escape": "esc"}
_SHORT = {"shift+up": "⇧↑", "shift+down": "⇧↓"}

SPEEDS_NOTE = (
    f"Speed: smoothed over ~{SMOOTHING_SECONDS:.0f} s · Now: the last {NOW_WINDOW:.0f} s · "
    "Trend: the last 16 s"
)
COUNTS_NOTE = "Hosts' Done/Fail, Bytes: across restarts"
"""What the hosts panel counts: its downloads' outcomes and bytes, across restarts."""

TARGETS = " the selected or marked downloads"
"""Said once above the keys instead of after each action that acts on them."""

MOVING = (
    ("↑↓ j k", "Move; g G home end: 1st, last"),
    ("tab", "Downloads ⇄ hosts"),
    ("ctrl+p", "Every action by name"),
)
"""Keys that are not the screen's own bindings (the table's and Textual's)."""


def key_grid(entries: Sequence[tuple[str, str]], columns: int) -> Table:
    """`entries` (key, what it does) down `columns` side-by-side columns."""
    grid = Table.grid(padding=(0, 1), expand=True)
    for _ in range(columns):
        grid.add_column(style="bold #58a6ff", no_wrap=True, justify="right")
        grid.add_column(ratio=1)
    rows = -(-len(entries) // columns)
    for row in range(rows):
        cells: list[str] = []
        for column in range(columns):
            index = column * rows + row
            cells += entries[index] if index < len(entries) else ("", "")
        grid.add_row(*cells)
    return grid


class HelpDialog(Dialog[None]):
    """Lists the bindings it is given (described by their tooltips) in two columns, the
    state icons, and what the speed columns mean: it fits 80x24 without scrolling."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,q", "cancel", "Close", id="afetch.help.close"),
    ]

    def __init__(self, bindings: Iterable[Binding]) -> None:
        super().__init__()
        self._keys = list(bindings)
        """Not `_bindings`: that is Textual's own attribute."""

    def entries(self) -> list[tuple[str, str]]:
        """(key, what it does) for every binding, then the keys that move around."""
        shown = [
            (short_key_label(b.key), (b.tooltip or b.description).replace(TARGETS, ""))
            for b in self._keys
        ]
        return shown + list(MOVING)

    def compose(self) -> ComposeResult:
        looks = [Text(f"{look.icon} {look.word}", style=look.style) for look in STATE_LOOK.values()]
        states = Table.grid(padding=(0, 2))
        per_row = 5
        for _ in range(per_row):
            states.add_column(no_wrap=True)
        for start in range(0, len(looks), per_row):
            states.add_row(*looks[start : start + per_row])
        with Vertical(id="dialog", classes="help-dialog") as box:
            box.border_title = "Keys"
            box.border_subtitle = "actions: on the marked rows, else the selected one"
            with VerticalScroll():
                yield Static(key_grid(self.entries(), 2), id="help-keys")
                yield Static(states, classes="help-states")
                yield Static(
                    Text(
                        f"{SPEEDS_NOTE}\n{COUNTS_NOTE} · rates: 2M, 500K, 1.5MiB",
                        style=DIM,
                    )
                )
