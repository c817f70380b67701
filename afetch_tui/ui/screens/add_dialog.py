"""The add dialog: paste one or many URLs, pick a directory, maybe a name, a checksum and
how many connections each may use, maybe paused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, Static, TextArea

from afetch_tui.engine import (
    MAX_CONNECTIONS,
    Checksum,
    InputError,
    check_connections,
    parse_checksum,
    validate_url,
)
from afetch_tui.ui.format import home_relative
from afetch_tui.ui.screens.dialog import Dialog
from afetch_tui.ui.style import DIM, ERROR, GOOD

"""The most ranged connections one download may use (the engine's own cap)."""


@dataclass(frozen=True, slots=True)
class AddRequest:
    """What the user asked to add."""

    urls: tuple[str, ...]
    directory: Path
    name: str | None = None
    paused: bool = False
    connections: int | None = None
    """Ranged connections for each download (None: the manager's default)."""
    checksum: Checksum | None = None
    """(algorithm, hex digest) the file must match (one URL only)."""


def parse_connections(text: str) -> int:
    """A whole number of connections from 1 to 16, or `InputError` saying why not."""
    raw = text.strip()
    return check_connections(int(raw) if raw.isdigit() else None)


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

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Add", id="afetch.add.submit"),
    ]

    def action_cancel(self) -> None:
        """Escape keeps what was typed (``keep_draft``), so the next `a` brings it back."""
        if self._keep_draft is not None:
            self._keep_draft(self.query_one("#urls", TextArea).text)
        self.dismiss(None)

    def __init__(
        self,
        directory: Path,
        *,
        text: str = "",
        name: str = "",
        paused: bool = False,
        connections: int = 1,
        checksum: str = "",
        error: str | None = None,
        keep_draft: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self._keep_draft = keep_draft
        self._directory = directory
        self._text = text
        self._name = name
        self._paused = paused
        self._connections = connections
        self._checksum = checksum
        self._error = error
        self._urls: list[str] = []
        self._bad: list[BadLine] = []
        self._field_errors: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="add-dialog") as box:
            box.border_title = "Add downloads"
            yield Label(
                "URLs, one per line (# comments ignored) · ctrl+s adds",
                markup=False,
            )
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
                yield Input(home_relative(self._directory), id="directory", compact=True)
            with Horizontal(classes="field"):
                yield Label("File name", classes="field-label")
                yield Input(
                    self._name,
                    id="name",
                    placeholder="from the server (one URL only)",
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label("Checksum", classes="field-label")
                yield Input(
                    self._checksum,
                    id="checksum",
                    placeholder="optional, one URL only: sha256=HEX (or md5, sha1, sha512)",
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label("Connections", classes="field-label")
                yield Input(
                    str(self._connections),
                    id="connections",
                    type="integer",
                    max_length=2,
                    classes="tiny",
                    compact=True,
                )
                yield Static(f"1 to {MAX_CONNECTIONS} per file", classes="hint")
                yield Checkbox("Start paused", self._paused, id="paused", compact=True)
            with Horizontal(classes="buttons"):
                yield Button("Drop invalid", id="drop", variant="warning", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Add", id="add", variant="primary", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#urls", TextArea).focus()
        self._revalidate()

    @on(TextArea.Changed, "#urls")
    @on(Input.Changed, "#checksum, #connections")
    def _changed(self) -> None:
        self._error = None
        self._revalidate()

    def _check_fields(self) -> tuple[int | None, Checksum | None]:
        """Read connections and checksum, noting what is wrong with them."""
        self._field_errors = {}
        connections: int | None = None
        checksum: Checksum | None = None
        try:
            connections = parse_connections(self.query_one("#connections", Input).value)
        except InputError as exc:
            self._field_errors["connections"] = str(exc)
        if len(self._urls) > 1 and self.query_one("#name", Input).value.strip():
            self._field_errors["file name"] = "a file name can only go with a single URL"
        text = self.query_one("#checksum", Input).value.strip()
        if text:
            if len(self._urls) > 1:
                self._field_errors["checksum"] = "a checksum can only go with a single URL"
            else:
                try:
                    checksum = parse_checksum(text)
                except InputError as exc:
                    self._field_errors["checksum"] = str(exc).removeprefix("--checksum ")
        return connections, checksum

    def _revalidate(self, refused: bool = False) -> None:
        text = self.query_one("#urls", TextArea).text
        self._urls, self._bad = parse_url_lines(text)
        self._check_fields()
        problems = self.query_one("#problems", Static)
        report = Text()
        if refused:  # ctrl+s with something wrong: say why nothing happened
            report.append("✗ Nothing added: ", style=f"bold {ERROR}")
            reason = (
                "fix or drop the bad lines below."
                if self._bad or self._field_errors
                else "paste at least one http(s) URL."
            )
            report.append(f"{reason}\n", style=ERROR)
        if self._error:
            report.append(f"✗ {self._error}\n", style=ERROR)
        for field, reason in self._field_errors.items():
            report.append(f"✗ {field}: ", style=f"bold {ERROR}")
            report.append(f"{reason}\n", style=ERROR)
        for bad in self._bad[:6]:
            report.append(f"✗ line {bad.number}: ", style=f"bold {ERROR}")
            report.append(f"{bad.reason}\n", style=ERROR)
        if len(self._bad) > 6:
            report.append(f"  … and {len(self._bad) - 6} more bad lines\n", style=ERROR)
        if not self._bad and self._urls and not self._field_errors:
            count = len(self._urls)
            report.append(f"✓ {count} URL{'s' if count != 1 else ''} ready", style=GOOD)
        elif not self._urls and not self._bad:
            report.append("Paste or type at least one http(s) URL.", style=DIM)
        report.rstrip()  # in place: Text.rstrip returns None
        problems.update(report)
        problems.set_class(bool(self._bad or self._error or self._field_errors), "-error")
        add = self.query_one("#add", Button)
        add.disabled = bool(self._bad or self._field_errors) or not self._urls
        add.label = f"Add {len(self._urls)}" if len(self._urls) > 1 else "Add"
        self.query_one("#drop", Button).display = bool(self._bad)
        for single in self.query("#name, #checksum").results(Input):
            single.disabled = len(self._urls) > 1 and not single.value

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
    def action_submit(self) -> None:
        self._revalidate()
        connections, checksum = self._check_fields()
        if self._bad or self._field_errors or not self._urls:
            self._revalidate(refused=True)
            return
        directory = self.query_one("#directory", Input).value.strip() or "."
        name = self.query_one("#name", Input).value.strip() or None
        self.dismiss(
            AddRequest(
                urls=tuple(self._urls),
                directory=Path(directory).expanduser(),
                name=name if len(self._urls) == 1 else None,
                paused=self.query_one("#paused", Checkbox).value,
                connections=connections,
                checksum=checksum,
            )
        )
