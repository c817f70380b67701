"""The one-line status bar: total speed, counts by state, limits, what is left, folder."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from afetch_tui.engine import Limits, State
from afetch_tui.ui.format import home_relative, human_duration, human_rate, human_size, human_speed
from afetch_tui.ui.model import Counts
from afetch_tui.ui.style import DIM, STATE_LOOK, WARN


class StatusBar(Static):
    """Repainted only when its text changes; keeps what matters most when narrow."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._last: str | None = None

    def show(self, counts: Counts, limits: Limits, directory: Path) -> None:
        text = render_status(counts, limits, directory, self.size.width or 80)
        key = text.markup
        if key != self._last:
            self._last = key
            self.update(text, layout=False)

    def on_resize(self) -> None:
        self._last = None


def render_status(counts: Counts, limits: Limits, directory: Path, width: int = 200) -> Text:
    """Speed · counts by state · limits · left and ETA · destination, in one line.

    Parts are added in order of importance; one that does not fit is left out (the
    folder first, then what is left, then the per-host rate).
    """
    sep = Text("  │ ", style=DIM)
    speed = Text()
    speed.append(" ⇣ ", style="bold #58a6ff")
    speed.append(f"{human_speed(counts.speed) or '0 B/s'}", style="bold")
    narrow = width < 120
    groups = (
        (State.DOWNLOADING, counts.active, "active"),
        (State.QUEUED, counts.queued, "queued"),
        (State.RETRYING, counts.retrying, "retrying"),
        (State.PAUSED, counts.paused, "paused"),
        (State.COMPLETED, counts.completed, "done"),
        (State.FAILED, counts.failed, "failed"),
    )
    tally = Text()
    for state, count, word in groups:
        if not count and state is not State.DOWNLOADING:
            continue  # quiet groups make room for the rest
        look = STATE_LOOK[state]
        label = f"{look.icon}{count}" if narrow else f"{look.icon} {count} {word}"
        tally.append(label + " ", style=look.style if count else DIM)
    tally.rstrip()
    running = Text()
    if counts.transferring > limits.max_concurrent:  # it was lowered under running ones
        running.append(
            f"{counts.transferring}/{limits.max_concurrent} running: the extra finish first",
            style=WARN,
        )
    limit = Text(f"max {limits.max_concurrent} · {limits.max_per_host}/host")
    limit.append(f" · cap {human_rate(limits.rate)}")
    per_host = Text(f"{human_rate(limits.rate_per_host)}/host") if limits.rate_per_host else None
    left = Text()
    if counts.left:
        left.append(f"{human_size(counts.left)} left")
        eta = human_duration(counts.eta)
        if eta:
            left.append(f" · ETA {eta}")
        if counts.unknown:
            left.append(f" (+{counts.unknown} unsized)", style=DIM)
    folder = Text("→ ", style=DIM)
    folder.append(home_relative(directory), style="bold")

    text = speed.copy()
    for part in (tally, running, limit, per_host, left, folder):
        if part is None or not part.plain:
            continue
        glue = Text(" · ") if part is per_host else sep
        if text.cell_len + glue.cell_len + part.cell_len > width:
            continue
        text.append_text(glue)
        text.append_text(part)
    return text
