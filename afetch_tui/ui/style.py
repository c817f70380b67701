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


def truncate_middle(text: str, width: int) -> str:
    """Shorten `text` to `width` cells with an ellipsis in the middle (keeps extensions)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    head = (width - 1) * 2 // 3
    tail = width - 1 - head
    return text[:head] + "…" + (text[-tail:] if tail else "")


def common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def elide_name(name: str, width: int, neighbours: tuple[str, ...] = ()) -> str:
    """Shorten a file name to `width` cells keeping what tells it from its `neighbours`.

    Names in a long queue often share a long prefix (``dataset-part-0001.parquet``,
    ``…-0002…``) or differ only in the middle (``…-amd64-…``/``…-arm64-…``): plain
    middle truncation makes them identical. Here the text from just before the first
    difference is kept, the shared prefix is shortened to its first few characters and
    the extension stays.
    """
    if len(name) <= width:
        return name
    if width < 8:
        return truncate_middle(name, width)
    head_kept = (width - 1) * 2 // 3
    splits = [common_prefix(name, other) for other in neighbours if other != name]
    close = [split for split in splits if split >= head_kept]
    # the earliest difference from any close neighbour, so it differs from all of them
    split = min(close) if close else max(splits, default=0)
    dot = name.rfind(".")
    ext = name[dot:] if dot > 0 and len(name) - dot <= 8 and dot > split else ""
    if len(close) > 1 and max(close) > split + 4:
        # it differs from one neighbour early and from another late (amd64/arm64, then
        # -0/-10): keep the late difference as the tail, so both show
        late = name[max(close) - 1 :]
        if len(late) > len(ext) and len(late) <= (width - 2) // 2:
            ext = late
    plain = truncate_middle(name, width)
    if split < head_kept or split >= len(name) - len(ext):
        if split >= len(name) - len(ext) and ext:  # they differ in the extension
            return name[: width - len(ext) - 1] + "…" + ext
        return plain
    lead = max(2, min(6, (width - len(ext)) // 5))
    room = width - lead - 1 - len(ext)
    start = max(lead, min(split - 2, len(name) - len(ext) - room))
    core = name[start : len(name) - len(ext)]
    if len(core) > room:
        core = core[: room - 1] + "…" if ext else core[:room]
        if not ext:
            return name[:lead] + "…" + core
    return name[:lead] + "…" + core + ext
