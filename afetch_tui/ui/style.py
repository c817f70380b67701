"""How states look: an icon and a word (readable without colour) plus a colour."""

from __future__ import annotations

from typing import NamedTuple

from afetch_tui.engine import State


class StateLook(NamedTuple):
    icon: str
    word: str
    style: str


STATE_LOOK: dict[State, StateLook] = {
    State.QUEUED: StateLook("…", "queued", "#8b949e"),
    State.CONNECTING: StateLook("⇄", "connecting", "#79c0ff"),
    State.DOWNLOADING: StateLook("↓", "downloading", "bold #58a6ff"),
    State.PAUSED: StateLook("‖", "paused", "#d29922"),
    State.RETRYING: StateLook("↻", "retrying", "#f0883e"),
    State.VERIFYING: StateLook("≡", "verifying", "#bc8cff"),
    State.COMPLETED: StateLook("✓", "completed", "#3fb950"),
    State.FAILED: StateLook("✗", "failed", "bold #f85149"),
    State.CANCELLED: StateLook("⊘", "cancelled", "#6e7681"),
}

BAR_STYLE: dict[State, str] = {
    State.QUEUED: "#6e7681",
    State.CONNECTING: "#79c0ff",
    State.DOWNLOADING: "#58a6ff",
    State.PAUSED: "#d29922",
    State.RETRYING: "#f0883e",
    State.VERIFYING: "#bc8cff",
    State.COMPLETED: "#3fb950",
    State.FAILED: "#f85149",
    State.CANCELLED: "#6e7681",
}

TRACK_STYLE = "#30363d"
"""The unfilled part of a progress bar."""

SPARK_STYLE = "#39c5cf"
DIM = "#8b949e"
WARN = "#f0883e"
ERROR = "#f85149"
GOOD = "#3fb950"
