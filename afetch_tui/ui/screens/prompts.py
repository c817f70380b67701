"""Small dialogs: yes/no, remove (with or without the file), a rate, a replacement URL."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Generic, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from afetch_tui.engine import InputError, validate_url
from afetch_tui.ui.format import format_rate_input, human_rate, parse_rate
from afetch_tui.ui.screens.dialog import Dialog


class ConfirmDialog(Dialog[bool]):
    """Asks a yes/no question; Escape means no."""

    def __init__(
        self, title: str, message: str, *, yes: str = "Yes", no: str = "No", danger: bool = True
    ) -> None:
        super().__init__()
        self._title, self._message, self._yes, self._no = title, message, yes, no
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="confirm-dialog") as box:
            box.border_title = self._title
            yield Static(self._message, classes="message", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(self._no, id="no", compact=True)
                yield Button(
                    self._yes,
                    id="yes",
                    variant="error" if self._danger else "primary",
                    compact=True,
                )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#no", Button).focus()

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class RemoveChoice(enum.Enum):
    KEEP_FILE = "keep"
    DELETE_FILE = "delete"


class RemoveDialog(Dialog[RemoveChoice | None]):
    """Remove a download from the list, optionally deleting its file."""

    def __init__(
        self, name: str, *, has_file: bool, partial: bool = False, quoted: bool = True
    ) -> None:
        super().__init__()
        self._name = f"“{name}”" if quoted else name
        self._has_file = has_file
        self._partial = partial

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="confirm-dialog") as box:
            box.border_title = "Remove download"
            yield Static(f"Remove {self._name} from the list?", classes="message", markup=False)
            if self._has_file:
                yield Static(
                    "Deleting the file cannot be undone.", classes="message warning", markup=False
                )
            elif self._partial:
                yield Static(
                    "Partly downloaded files will be deleted.",
                    classes="message warning",
                    markup=False,
                )
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Remove", id="keep", variant="primary", compact=True)
                if self._has_file:
                    yield Button("Remove + delete file", id="delete", variant="error", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#cancel", Button).focus()  # the safe choice, as in every dialog

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        choice = {"keep": RemoveChoice.KEEP_FILE, "delete": RemoveChoice.DELETE_FILE}
        self.dismiss(choice.get(event.button.id or ""))


@dataclass(frozen=True, slots=True)
class RateResult:
    """A bandwidth limit; `None` means unlimited."""

    rate: float | None


T = TypeVar("T")


class _OneFieldDialog(Dialog[T | None], Generic[T]):
    """A title, a label, one input with a hint under it, Cancel and an OK button.

    Subclasses say what the field holds (`_field`) and turn its text into the result
    (`_parse`, raising `ValueError`/`InputError` with a one-line reason shown as the hint).
    """

    DIALOG_CLASSES = "prompt-dialog"
    """CSS classes of the dialog box (not `_classes`: that is Textual's own attribute)."""
    _field_id = "field"

    def __init__(self, title: str, label: str, value: str, hint: str, ok: str) -> None:
        super().__init__()
        self._title, self._label, self._value, self._hint, self._ok = title, label, value, hint, ok

    def _input(self) -> Input:
        return Input(self._value, id=self._field_id, compact=True)

    def _parse(self, text: str) -> T:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes=self.DIALOG_CLASSES) as box:
            box.border_title = self._title
            yield Label(self._label, markup=False)
            yield self._input()
            yield Static(self._hint, id="hint", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(self._ok, id="ok", variant="primary", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(f"#{self._field_id}", Input).focus()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted)
    def _submit(self) -> None:
        hint = self.query_one("#hint", Static)
        try:
            result = self._parse(self.query_one(f"#{self._field_id}", Input).value)
        except (ValueError, InputError) as exc:
            hint.update(f"✗ {exc}")
            hint.add_class("-error")
            return
        self.dismiss(result)


class RateDialog(_OneFieldDialog[RateResult]):
    """Asks for a bandwidth limit such as `2M`; empty means unlimited."""

    def __init__(self, title: str, subject: str, current: float | None) -> None:
        super().__init__(
            title,
            f"{subject} · now {human_rate(current)}",
            format_rate_input(current),
            "e.g. 2M, 500K, 1.5MiB · empty = unlimited",
            "Set",
        )

    _field_id = "rate"

    def _input(self) -> Input:
        return Input(self._value, id=self._field_id, placeholder="unlimited", compact=True)

    def _parse(self, text: str) -> RateResult:
        return RateResult(parse_rate(text))


class UrlDialog(_OneFieldDialog[str]):
    """Asks for a replacement URL (for the next attempt of a download)."""

    _field_id = "url"

    def __init__(self, name: str, current: str) -> None:
        super().__init__(
            "Replace URL",
            f"New address for “{name}”",
            current,
            "Progress is kept if the new URL serves the same file.",
            "Replace",
        )

    def _parse(self, text: str) -> str:
        return validate_url(text)
