"""The one-line status bar: total speed, counts by state, limits and destination."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from afetch_tui.engine.events import Limits, State
from afetch_tui.ui.format import home_relative, human_rate, human_speed
from afetch_tui.ui.model import Counts
from afetch_tui.ui.style import DIM, STATE_LOOK


class StatusBar(Static):
    """Repainted only when its text changes."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._last: str | None = None

    def show(self, counts: Counts, limits: Limits, directory: Path) -> None:
        text = render_status(counts, limits, directory)
        key = text.markup
        if key != self._last:
            self._last = key
            self.update(text, layout=False)


def render_status(counts: Counts, limits: Limits, directory: Path) -> Text:
    """Speed · counts by state · limits · destination, in one line."""
    text = Text()
    text.append(" ⇣ ", style="bold #58a6ff")
    text.append(f"{human_speed(counts.speed) or '0 B/s':>11}", style="bold")
    text.append("  │ ", style=DIM)
    groups = (
        (State.DOWNLOADING, counts.active, "active"),
        (State.QUEUED, counts.queued, "queued"),
        (State.PAUSED, counts.paused, "paused"),
        (State.COMPLETED, counts.completed, "done"),
        (State.FAILED, counts.failed, "failed"),
    )
    for state, count, word in groups:
        if not count and state is not State.DOWNLOADING:
            continue  # quiet groups make room for the limits and directory
        look = STATE_LOOK[state]
        text.append(f"{look.icon} {count} {word}  ", style=look.style if count else DIM)
    text.append("│ ", style=DIM)
    text.append(f"max {limits.max_concurrent} · {limits.max_per_host}/host")
    text.append(f" · cap {human_rate(limits.rate)}")
    if limits.rate_per_host is not None:
        text.append(f" · {human_rate(limits.rate_per_host)}/host")
    text.append("  │ ", style=DIM)
    text.append("→ ", style=DIM)
    text.append(home_relative(directory), style="bold")
    return text
