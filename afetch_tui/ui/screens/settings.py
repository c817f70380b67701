"""The settings dialog: concurrency and bandwidth limits, and the defaults new downloads
and attempts get (folder, connections, retries, timeout), applied live."""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.validation import Function, Integer, ValidationResult, Validator
from textual.widgets import Button, Input, Label, Static

from afetch_tui.engine import MIN_REQUEST_RATE, Defaults, InputError, Limits, parse_command
from afetch_tui.ui.format import UNLIMITED_WORDS, format_rate_input, home_relative, parse_rate
from afetch_tui.ui.screens.dialog import Dialog


class RateValidator(Validator):
    """Accepts `2M`, `500K`, `1.5MiB`, or empty for unlimited."""

    def validate(self, value: str) -> ValidationResult:
        try:
            parse_rate(value)
        except ValueError as exc:
            return self.failure(str(exc))
        return self.success()


def parse_request_rate(text: str) -> float | None:
    """Requests per second: a positive number, or empty for unlimited."""
    raw = text.strip().lower().removesuffix("/s")
    if raw in UNLIMITED_WORDS:
        return None
    value = float(raw)
    if not math.isfinite(value) or value < MIN_REQUEST_RATE:
        raise ValueError(f"must be a number, at least {MIN_REQUEST_RATE:g}")
    return value


def _is_request_rate(text: str) -> bool:
    try:
        parse_request_rate(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class SettingsResult:
    """The limits the user chose, and just the fields that differ from before."""

    limits: Limits
    changes: dict[str, Any]
    on_complete: tuple[str, ...] | None = None
    """The command to run for each completed file (its path appended), or None."""
    on_complete_changed: bool = False
    defaults: Defaults | None = None
    """New defaults (folder, connections, retries, timeout), or None if unchanged."""


HOOK_HINT = "the file's path is added last; no shell"
LIMITS_HEADING = "Limits · apply now, to running downloads too · kept for next start"
DEFAULTS_HEADING = "For new downloads and attempts from now on · this run only"
KEYS_HINT = "enter or ctrl+s: apply · esc: cancel"

# (field, label, hint)
_FIELDS = (
    ("max_concurrent", "Max concurrent downloads", "1 or more"),
    ("max_per_host", "Max connections per host", "1 or more"),
    ("rate", "Total bandwidth cap", "2M, 500K · empty: none"),
    ("rate_per_host", "Bandwidth cap per host", "e.g. 1M · empty: none"),
    ("host_request_rate", "Requests per second per host", "e.g. 2 · empty: none"),
)
_DEFAULT_FIELDS = (
    ("connections", "Connections per new file", "1 to 16"),
    ("retries", "Retries per download", "0 to 100"),
    ("timeout", "Timeout, seconds", "idle this long: retry"),
    ("directory", "Folder for new downloads", ""),
)
_HINTS = {name: hint for name, _, hint in _FIELDS + _DEFAULT_FIELDS}


class SettingsDialog(Dialog[SettingsResult | None]):
    """Edits `Limits`; Apply returns only what changed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "apply", "Apply", id="afetch.settings.apply"),
    ]

    def __init__(
        self,
        limits: Limits,
        on_complete: tuple[str, ...] | None = None,
        defaults: Defaults | None = None,
    ) -> None:
        super().__init__()
        self._limits = limits
        self._on_complete = on_complete
        self._defaults = defaults
        self._shown: dict[str, str] = {}
        """Each limit's field as first filled in."""

    def compose(self) -> ComposeResult:
        limits = self._limits
        values = self._shown = {
            "max_concurrent": str(limits.max_concurrent),
            "max_per_host": str(limits.max_per_host),
            "rate": format_rate_input(limits.rate),
            "rate_per_host": format_rate_input(limits.rate_per_host),
            "host_request_rate": _number(limits.host_request_rate),
        }
        with Vertical(id="dialog", classes="settings-dialog") as box:
            box.border_title = "Settings"
            yield Static(LIMITS_HEADING, classes="section")
            for name, label, hint in _FIELDS:
                with Horizontal(classes="field"):
                    yield Label(label, classes="field-label wide")
                    yield Input(
                        values[name],
                        id=name,
                        placeholder="unlimited" if "rate" in name else "",
                        validators=self._validators(name),
                        classes="short",
                        compact=True,
                    )
                    yield Static(hint, classes="hint", id=f"{name}-hint")
            yield Static(DEFAULTS_HEADING, classes="section later")
            if self._defaults is not None:
                yield from self._default_fields(self._defaults)
            with Horizontal(classes="field"):
                yield Label("Run when a file completes", classes="field-label wide")
                yield Input(
                    shlex.join(self._on_complete) if self._on_complete else "",
                    id="on_complete",
                    placeholder="nothing",
                    compact=True,
                )
            yield Static(HOOK_HINT, classes="hint under", id="on_complete-hint")
            with Horizontal(classes="buttons"):
                yield Static(KEYS_HINT, classes="keys")
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Apply", id="apply", variant="primary", compact=True)

    def _default_fields(self, defaults: Defaults) -> ComposeResult:
        values = {
            "connections": str(defaults.connections),
            "retries": str(defaults.retries),
            "timeout": f"{defaults.timeout:g}",
            "directory": home_relative(defaults.directory),  # ~ is expanded back
        }
        for name, label, hint in _DEFAULT_FIELDS:
            with Horizontal(classes="field"):
                yield Label(label, classes="field-label wide")
                yield Input(
                    values[name],
                    id=name,
                    classes="" if name == "directory" else "short",
                    compact=True,
                )
                if name != "directory":
                    yield Static(hint, classes="hint", id=f"{name}-hint")
        yield Static("", classes="hint under", id="directory-hint")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#max_concurrent", Input).focus()

    @staticmethod
    def _validators(name: str) -> list[Validator]:
        if name in {"max_concurrent", "max_per_host"}:
            return [Integer(minimum=1, maximum=1000, failure_description="a whole number ≥ 1")]
        if name == "host_request_rate":
            return [Function(_is_request_rate, "a positive number of requests per second")]
        return [RateValidator()]

    @on(Input.Changed)
    def _show_problem(self, event: Input.Changed) -> None:
        if event.input.id is None:
            return
        hint = self.query_one(f"#{event.input.id}-hint", Static)
        if event.input.id == "on_complete":
            problem = self._command_problem()
            hint.update(f"✗ {problem}" if problem else HOOK_HINT)
            hint.set_class(problem is not None, "-error")
            return
        default = _HINTS[event.input.id]
        if self._defaults is not None and event.input.id in {n for n, _, _ in _DEFAULT_FIELDS}:
            try:  # this field with the others as they were: the problem is this one's
                self._read_defaults(self._defaults, only=event.input.id)
            except InputError as exc:
                hint.update(f"✗ {exc}")
                hint.add_class("-error")
                event.input.add_class("-invalid")
            else:
                hint.update(default)
                hint.remove_class("-error")
                event.input.remove_class("-invalid")
            return
        result = event.validation_result
        if result is not None and not result.is_valid:
            hint.update(f"✗ {result.failure_descriptions[0]}")
            hint.add_class("-error")
        else:
            hint.update(default)
            hint.remove_class("-error")

    def read(self) -> Limits | None:
        """The limits in the form, or `None` if any field is invalid."""
        values: dict[str, Any] = {}
        for field in fields(Limits):
            widget = self.query_one(f"#{field.name}", Input)
            result = widget.validate(widget.value)
            if result is not None and not result.is_valid:
                widget.focus()
                return None
            text = widget.value
            if text == self._shown[field.name]:  # untouched: exactly as it was (a rate
                values[field.name] = getattr(self._limits, field.name)  # shown rounded)
            elif field.name in {"max_concurrent", "max_per_host"}:
                values[field.name] = int(text)
            elif field.name == "host_request_rate":
                values[field.name] = parse_request_rate(text)
            else:
                values[field.name] = parse_rate(text)
        return Limits(**values)

    def _read_defaults(self, base: Defaults, only: str | None = None) -> Defaults:
        """`Defaults` built from the form (just the field `only`, if given, over `base`):
        the numbers are passed on as typed when they are not numbers, so `Defaults`
        alone says what is wrong (`InputError`)."""
        values: dict[str, Any] = {}
        for name, _, _ in _DEFAULT_FIELDS:
            if only is not None and name != only:
                continue
            text = self.query_one(f"#{name}", Input).value.strip()
            if name == "directory":
                values[name] = Path(text)
            else:
                values[name] = _number_or_text(text, whole=name != "timeout")
        return replace(base, **values)

    def _focus_bad_default(self, base: Defaults) -> None:
        """Focus the first default field that `Defaults` refuses (its hint says why)."""
        for name, _, _ in _DEFAULT_FIELDS:
            try:
                self._read_defaults(base, only=name)
            except InputError:
                self.query_one(f"#{name}", Input).focus()
                return

    def read_command(self) -> tuple[str, ...] | None:
        """The on-complete command, split (`InputError` if it cannot run)."""
        text = self.query_one("#on_complete", Input).value.strip()
        return parse_command(text) if text else None

    def _command_problem(self) -> str | None:
        try:
            self.read_command()
        except InputError as exc:
            return str(exc).removeprefix("--on-complete: ")
        return None

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#apply")
    @on(Input.Submitted)
    def action_apply(self) -> None:
        limits = self.read()
        if limits is None:
            return
        try:
            command = self.read_command()
        except InputError:
            self.query_one("#on_complete", Input).focus()
            return
        defaults = None
        if self._defaults is not None:
            try:
                defaults = self._read_defaults(self._defaults)
            except InputError:
                self._focus_bad_default(self._defaults)
                return
            if defaults == self._defaults:
                defaults = None
        changes = {
            field.name: getattr(limits, field.name)
            for field in fields(Limits)
            if getattr(limits, field.name) != getattr(self._limits, field.name)
        }
        self.dismiss(
            SettingsResult(limits, changes, command, command != self._on_complete, defaults)
        )


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


def _number_or_text(text: str, *, whole: bool) -> object:
    try:
        return int(text) if whole else float(text)
    except ValueError:
        return text
