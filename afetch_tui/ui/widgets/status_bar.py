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
    left = _left_variants(counts)
    folder = Text("→ ", style=DIM)
    folder.append(home_relative(directory), style="bold")

    text = speed.copy()
    for part in (tally, running, limit, per_host, left, folder):
        glue = Text(" · ") if part is per_host else sep
        for variant in part if isinstance(part, tuple) else (part,):
            if variant is None or not variant.plain:
                continue
            if text.cell_len + glue.cell_len + variant.cell_len <= width:
                text.append_text(glue)
                text.append_text(variant)
                break
    return text


def _left_variants(counts: Counts) -> tuple[Text, ...]:
    """What is left and the queue's ETA, longest first. With files of unknown size both
    are lower bounds and say so (`≥`): `≥1.2 GiB left · ETA ≥3m (4 unsized)`, then
    without the count, then the ETA alone; with more than half unsized, `ETA ?`."""
    if not counts.left and not counts.unknown:
        return ()
    at_least = "≥" if counts.unknown else ""
    eta = human_duration(counts.eta)
    # Mostly unsized, a bound says next to nothing ('ETA ≥1s' with 980 to size): '?'.
    guess = counts.unknown * 2 <= counts.unfinished
    if counts.left and eta and guess:
        when = f"ETA {at_least}{eta}"
    elif counts.unknown and counts.speed > 1 and counts.paused < counts.unfinished:
        when = "ETA ?"  # running, but too few sizes known yet
    else:
        when = ""
    size = f"{at_least}{human_size(counts.left)} left" if counts.left and guess else ""
    main = " · ".join(part for part in (size, when) if part)
    unsized = Text(f" ({counts.unknown} unsized)", style=DIM) if counts.unknown else Text()
    variants = [Text(main) + unsized, Text(main)]
    if when and size:
        variants.append(Text(when) + unsized)
        variants.append(Text(when))
    return tuple(v for v in variants if v.plain)
