"""The base of every modal: Escape cancels, and cursors can be told not to blink."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Input, TextArea

ResultT = TypeVar("ResultT")

SHORT = 30
"""Below this many rows dialogs tighten their spacing (class `-short`)."""


class Dialog(ModalScreen[ResultT]):
    """A modal screen that dismisses with `None` on Escape."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="afetch.dialog.cancel"),
    ]

    def on_mount(self) -> None:
        blink = getattr(self.app, "cursor_blink", True)
        for widget in self.query("Input, TextArea"):
            if isinstance(widget, Input | TextArea):
                widget.cursor_blink = blink

    def on_resize(self) -> None:
        self.set_class(self.size.height < SHORT, "-short")

    def action_cancel(self) -> None:
        self.dismiss(None)
