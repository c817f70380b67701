"""The details pane: everything about the selected download, and its attempt log."""

from __future__ import annotations

import time

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from afetch_tui.engine.events import DownloadSnapshot, State
from afetch_tui.ui.format import human_duration, human_rate, human_size, human_speed, percent
from afetch_tui.ui.style import DIM, ERROR, GOOD, STATE_LOOK, WARN
from afetch_tui.ui.widgets.downloads_table import display_name


class DetailsPane(VerticalScroll):
    """Shows one download; `show(None)` shows a hint instead."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._body = Static(id="details-body")
        self._shown: DownloadSnapshot | None = None
        self.download_id: int | None = None

    def compose(self) -> ComposeResult:
        yield self._body

    def show(self, snap: DownloadSnapshot | None) -> None:
        """Show `snap` (repaints only when it differs from what is shown)."""
        if snap is self._shown and snap is not None:
            return
        self._shown = snap
        self.download_id = snap.id if snap is not None else None
        if snap is None:
            self.border_title = "Details"
            self._body.update(Text("No download selected.", style=DIM))
            return
        self.border_title = f"Details · #{snap.id}"
        self._body.update(render_details(snap))


def _clock(stamp: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(stamp))


def _sep(text: Text) -> None:
    text.append(" · ", style=DIM)


def render_details(snap: DownloadSnapshot) -> RenderableType:
    """A compact key/value grid for `snap` followed by its timestamped log."""
    look = STATE_LOOK[snap.state]
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(style=DIM, no_wrap=True, justify="right", width=8)
    grid.add_column(overflow="fold", ratio=1)

    title = Text(display_name(snap), style="bold")
    state = Text(f"{look.icon} {look.word}", style=look.style)
    if snap.error:
        _sep(state)
        state.append(snap.error, style=ERROR)
    grid.add_row("", title)
    grid.add_row("state", state)
    grid.add_row("url", Text(snap.url))
    path = snap.path
    grid.add_row("file", Text(str(path) if path else f"{snap.directory}/…"))

    size = Text(f"{human_size(snap.done)} of {human_size(snap.total)}")
    if snap.fraction is not None:
        size.append(f" ({percent(snap.fraction)})")
    grid.add_row("size", size)

    transfer = Text()
    if snap.state.is_running:
        transfer.append(f"{human_speed(snap.speed) or '0 B/s'} avg")
        _sep(transfer)
        transfer.append(f"{human_speed(snap.speed_now) or '0 B/s'} now")
        _sep(transfer)
        transfer.append(f"ETA {human_duration(snap.eta) or '?'}")
        _sep(transfer)
    transfer.append(f"{snap.connections}/{snap.max_connections} conn")
    _sep(transfer)
    transfer.append(f"{snap.retries} retries", style=WARN if snap.retries else "")
    _sep(transfer)
    transfer.append(f"limit {human_rate(snap.limit_rate)}")
    grid.add_row("xfer", transfer)

    if snap.regions:
        grid.add_row("parts", _regions(snap))
    if snap.checksum is not None:
        algorithm, digest = snap.checksum
        verdict = {None: ("not yet verified", DIM), True: ("✓ verified", GOOD)}.get(
            snap.checksum_ok, ("✗ mismatch", ERROR)
        )
        line = Text(f"{algorithm} {digest[:16]}… ")
        line.append(verdict[0], style=verdict[1])
        grid.add_row("checksum", line)
    grid.add_row("etag", Text(snap.etag or "—", style="" if snap.etag else DIM))
    grid.add_row(
        "modified", Text(snap.last_modified or "—", style="" if snap.last_modified else DIM)
    )
    when = Text(f"added {_clock(snap.added_at)}")
    if snap.finished_at is not None:
        took = human_duration(snap.finished_at - snap.added_at)
        word = "finished" if snap.state is State.COMPLETED else "ended"
        _sep(when)
        when.append(f"{word} {_clock(snap.finished_at)} ({took})")
    grid.add_row("when", when)

    header = Text(f"Log · {len(snap.log)}", style=f"bold {DIM}")
    if not snap.log:
        return Group(grid, header, Text("nothing yet", style=DIM))
    log = Table.grid(padding=(0, 1))
    log.add_column(style=DIM, no_wrap=True)
    log.add_column(overflow="fold")
    for entry in snap.log:
        log.add_row(_clock(entry.time), Text(entry.message, style=_log_style(entry.message)))
    return Group(grid, header, log)


def _regions(snap: DownloadSnapshot, width: int = 32) -> Text:
    """One cell-row per part: how far each connection has got (`━` done, `─` to go)."""
    text = Text()
    for n, region in enumerate(snap.regions):
        size = max(1, region.end - region.start)
        filled = round(width * min(1.0, region.done / size))
        style = "#58a6ff" if region.active else GOOD if region.done >= size else DIM
        if n:
            text.append("\n")
        text.append("━" * filled, style=style)
        text.append("─" * (width - filled), style="#30363d")
        text.append(f" {percent(region.done / size)}", style=DIM)
    return text


def _log_style(message: str) -> str:
    lowered = message.lower()
    if "fail" in lowered or "error" in lowered:
        return ERROR
    if "retry" in lowered or "pushed back" in lowered or "429" in lowered:
        return WARN
    return ""
