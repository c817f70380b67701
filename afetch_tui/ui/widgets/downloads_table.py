"""The downloads table: one row per download, in queue order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text

from afetch_tui.engine.events import DownloadSnapshot, State
from afetch_tui.ui.format import human_duration, human_size, human_speed, percent, progress_bar
from afetch_tui.ui.format import sparkline as draw_sparkline
from afetch_tui.ui.model import Changes, DownloadRow, ViewModel
from afetch_tui.ui.style import (
    BAR_STYLE,
    DIM,
    SPARK_STYLE,
    STATE_LOOK,
    TRACK_STYLE,
    WARN,
    truncate_middle,
)
from afetch_tui.ui.widgets.columns import ColumnSpec, Layout
from afetch_tui.ui.widgets.live_table import Cells, LiveTable, same_cell

REBUILD_THRESHOLD = 64
"""Removing more rows than this at once rebuilds the table (remove_row is O(rows))."""


def row_key(download_id: int) -> str:
    return str(download_id)


class DownloadsTable(LiveTable):
    """Every download with its progress, speed, trend, ETA and state."""

    SPECS: ClassVar[tuple[ColumnSpec, ...]] = (
        ColumnSpec("pos", "#", 3, priority=6, right=True),
        ColumnSpec("name", "Name", 16, flex=4, max_width=56),
        ColumnSpec("host", "Host", 16, priority=3, flex=1, max_width=24),
        ColumnSpec("size", "Size", 9, priority=2, right=True),
        ColumnSpec("progress", "Progress", 10, priority=1, flex=2, max_width=30),
        ColumnSpec("percent", "%", 6, right=True),
        ColumnSpec("speed", "Speed", 10, right=True),
        ColumnSpec("now", "Now", 10, priority=5, right=True),
        ColumnSpec("trend", "Trend", 10, priority=4),
        ColumnSpec("eta", "ETA", 6, priority=1, right=True),
        ColumnSpec("state", "State", 13),
        ColumnSpec("retries", "Retry", 5, priority=3, right=True),
    )

    def __init__(self, model: ViewModel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model

    @property
    def selected_id(self) -> int | None:
        """The id of the download under the cursor."""
        key = self.selected_key
        return int(key) if key is not None else None

    def select_id(self, download_id: int) -> None:
        self.select_key(row_key(download_id))

    def row_keys(self) -> Iterable[str]:
        return (row_key(i) for i in self.model.order)

    def row_cells(self, key: str, layout: Layout) -> Cells:
        download_id = int(key)
        return download_cells(
            self.model.rows[download_id],
            self.model.position(download_id),
            layout,
        )

    def sync(self, changes: Changes) -> None:
        """Apply one batch of view-model changes, touching only what changed."""
        if self.layout_ is None:
            return
        if changes.reset or len(changes.removed) > REBUILD_THRESHOLD:
            self.rebuild()
            return
        # Removing a row keeps the cursor's row *number*, which then points at another
        # download: remember which download was selected, and select it again.
        selected = self.selected_key
        for download_id in changes.removed:
            self.drop(row_key(download_id))
        for download_id in changes.added:
            self.upsert(row_key(download_id))
        for download_id in changes.dirty:
            if download_id in self.model.rows:
                self.upsert(row_key(download_id))
        if changes.order or changes.removed:
            self._reorder(selected)
        elif selected in self._shown:
            self.select_key(selected)

    def _reorder(self, selected: str | None) -> None:
        """Refresh the position column, sort rows into queue order, keep the selection."""
        layout = self.layout_
        assert layout is not None
        if "pos" in layout.keys:
            for download_id in self.model.order:
                self.upsert_cell(row_key(download_id), "pos", _pos(self.model, download_id))
        # The name cells are unique objects, so their identity tells the row apart.
        rank = {
            id(self._shown[row_key(i)]["name"]): n
            for n, i in enumerate(self.model.order)
            if row_key(i) in self._shown
        }
        self.sort("name", key=lambda cell: rank.get(id(cell), len(rank)))
        if selected is not None and selected in self._shown:
            self.select_key(selected)

    def upsert_cell(self, key: str, column: str, value: object) -> None:
        shown = self._shown.get(key)
        if shown is not None and not same_cell(shown.get(column), value):
            shown[column] = value
            self.update_cell(key, column, value, update_width=False)


def _pos(model: ViewModel, download_id: int) -> Text:
    return Text(str(model.position(download_id) + 1), style=DIM, justify="right")


def display_name(snap: DownloadSnapshot) -> str:
    """The file name, or the last part of the URL until the name is known."""
    if snap.name:
        return snap.name
    url = snap.shown_url
    tail = url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    return tail or url


def download_cells(row: DownloadRow, position: int, layout: Layout) -> dict[str, object]:
    """Every cell of one download row, for the columns in `layout`."""
    snap = row.snap
    state = snap.state
    look = STATE_LOOK[state]
    running = state.is_running
    cells: dict[str, object] = {}
    for key in layout.keys:
        width = layout.width_of(key)
        if key == "pos":
            value: object = Text(str(position + 1), style=DIM, justify="right")
        elif key == "name":
            style = "" if snap.name else "italic"
            if state is State.CANCELLED:
                style += " strike"
            value = Text(truncate_middle(display_name(snap), width), style=style.strip())
        elif key == "host":
            value = Text(truncate_middle(snap.host, width), style=DIM)
        elif key == "size":
            value = Text(human_size(snap.total) if snap.total else "?", justify="right")
        elif key == "progress":
            value = _bar(snap, width)
        elif key == "percent":
            value = Text(percent(snap.fraction), justify="right")
        elif key == "speed":
            value = Text(human_speed(snap.speed) if running else "", justify="right")
        elif key == "now":
            value = Text(human_speed(snap.speed_now) if running else "", justify="right")
        elif key == "trend":
            value = Text(draw_sparkline(row.samples, width), style=SPARK_STYLE)
        elif key == "eta":
            value = Text(human_duration(snap.eta) if running else "", justify="right")
        elif key == "state":
            value = Text(f"{look.icon} {_state_word(snap)}", style=look.style)
        elif key == "retries":
            value = Text(
                str(snap.retries) if snap.retries else "",
                style=WARN,
                justify="right",
            )
        else:
            continue
        cells[key] = value
    return cells


def _state_word(snap: DownloadSnapshot) -> str:
    """The state, or how the checksum went once it is known."""
    if snap.checksum_ok is True and snap.state is State.COMPLETED:
        return "verified"
    if snap.checksum_ok is False and snap.state is State.FAILED:
        return "bad checksum"
    return STATE_LOOK[snap.state].word


def _bar(snap: DownloadSnapshot, width: int) -> Text:
    done, rest = progress_bar(snap.fraction, width)
    text = Text(done, style=BAR_STYLE[snap.state])
    text.append(rest, style=TRACK_STYLE)
    return text
