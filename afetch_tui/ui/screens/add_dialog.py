"""The add dialog: paste one or many URLs, pick a directory, maybe a name, maybe paused."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, Static, TextArea

from afetch_tui.engine.errors import InputError
from afetch_tui.engine.urls import validate_url
from afetch_tui.ui.screens.dialog import Dialog
from afetch_tui.ui.style import DIM, ERROR, GOOD


@dataclass(frozen=True, slots=True)
class AddRequest:
    """What the user asked to add."""

    urls: tuple[str, ...]
    directory: Path
    name: str | None = None
    paused: bool = False


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that is not a usable URL, and why."""

    number: int
    text: str
    reason: str


def parse_url_lines(text: str) -> tuple[list[str], list[BadLine]]:
    """Split pasted text into valid URLs and bad lines; blanks and `#` comments are skipped."""
    urls: list[str] = []
    bad: list[BadLine] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            urls.append(validate_url(stripped))
        except InputError as exc:
            bad.append(BadLine(number, stripped, str(exc)))
    return urls, bad


def drop_lines(text: str, numbers: set[int]) -> str:
    """`text` without the given 1-based line numbers."""
    return "\n".join(
        line for number, line in enumerate(text.splitlines(), 1) if number not in numbers
    )


class AddDialog(Dialog[AddRequest | None]):
    """Returns an `AddRequest`, or `None` when cancelled. Bad lines block submission."""

    def __init__(
        self,
        directory: Path,
        *,
        text: str = "",
        name: str = "",
        paused: bool = False,
        error: str | None = None,
    ) -> None:
        super().__init__()
        self._directory = directory
        self._text = text
        self._name = name
        self._paused = paused
        self._error = error
        self._urls: list[str] = []
        self._bad: list[BadLine] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="add-dialog") as box:
            box.border_title = "Add downloads"
            yield Label("URLs, one per line (blank lines and # comments are ignored)", markup=False)
            yield TextArea(
                self._text,
                id="urls",
                soft_wrap=False,
                show_line_numbers=True,
                placeholder="https://example.com/file.iso",
            )
            yield Static(id="problems")
            with Horizontal(classes="field"):
                yield Label("Save to", classes="field-label")
                yield Input(str(self._directory), id="directory")
            with Horizontal(classes="field"):
                yield Label("File name", classes="field-label")
                yield Input(self._name, id="name", placeholder="from the server (one URL only)")
            yield Checkbox("Start paused", self._paused, id="paused")
            with Horizontal(classes="buttons"):
                yield Button("Drop invalid", id="drop", variant="warning")
                yield Button("Cancel", id="cancel")
                yield Button("Add", id="add", variant="primary")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#urls", TextArea).focus()
        self._revalidate()

    @on(TextArea.Changed, "#urls")
    def _urls_changed(self) -> None:
        self._error = None
        self._revalidate()

    def _revalidate(self) -> None:
        text = self.query_one("#urls", TextArea).text
        self._urls, self._bad = parse_url_lines(text)
        problems = self.query_one("#problems", Static)
        report = Text()
        if self._error:
            report.append(f"✗ {self._error}\n", style=ERROR)
        for bad in self._bad[:6]:
            report.append(f"✗ line {bad.number}: ", style=f"bold {ERROR}")
            report.append(f"{bad.reason}\n", style=ERROR)
        if len(self._bad) > 6:
            report.append(f"  … and {len(self._bad) - 6} more bad lines\n", style=ERROR)
        if not self._bad and self._urls:
            count = len(self._urls)
            report.append(f"✓ {count} URL{'s' if count != 1 else ''} ready", style=GOOD)
        elif not self._urls and not self._bad:
            report.append("Paste or type at least one http(s) URL.", style=DIM)
        problems.update(report.rstrip() or report)
        problems.set_class(bool(self._bad or self._error), "-error")
        add = self.query_one("#add", Button)
        add.disabled = bool(self._bad) or not self._urls
        add.label = f"Add {len(self._urls)}" if len(self._urls) > 1 else "Add"
        self.query_one("#drop", Button).display = bool(self._bad)
        name = self.query_one("#name", Input)
        name.disabled = len(self._urls) > 1

    @on(Button.Pressed, "#drop")
    def _drop_invalid(self) -> None:
        area = self.query_one("#urls", TextArea)
        area.text = drop_lines(area.text, {bad.number for bad in self._bad})
        self._revalidate()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#add")
    @on(Input.Submitted)
    def _submit(self) -> None:
        self._revalidate()
        if self._bad or not self._urls:
            return
        directory = self.query_one("#directory", Input).value.strip() or "."
        name = self.query_one("#name", Input).value.strip() or None
        self.dismiss(
            AddRequest(
                urls=tuple(self._urls),
                directory=Path(directory).expanduser(),
                name=name if len(self._urls) == 1 else None,
                paused=self.query_one("#paused", Checkbox).value,
            )
        )
