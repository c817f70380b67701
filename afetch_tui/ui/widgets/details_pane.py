"""The details pane: everything about the selected download, and its attempt log."""

from __future__ import annotations

import time
from collections.abc import Iterable

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from afetch_tui.engine import DownloadSnapshot, HostSnapshot, LogEntry, RegionInfo, State
from afetch_tui.format import countdown
from afetch_tui.ui.format import (
    home_relative,
    human_duration,
    human_rate,
    human_size,
    human_speed,
    percent,
    progress_bar,
)
from afetch_tui.ui.model import display_name
from afetch_tui.ui.style import DIM, ERROR, GOOD, STATE_LOOK, TRACK_STYLE, WARN

_Shown = tuple[DownloadSnapshot | None, HostSnapshot | None, str | None, int]
"""What the pane shows: the download, its host, why it waits, at what width."""


class DetailsPane(VerticalScroll):
    """Shows one download; `show(None)` shows a hint instead."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._body = Static(id="details-body")
        self._shown: _Shown | None = None
        self.download_id: int | None = None

    def compose(self) -> ComposeResult:
        yield self._body

    def show(
        self,
        snap: DownloadSnapshot | None,
        host: HostSnapshot | None = None,
        waiting: str | None = None,
    ) -> None:
        """Show `snap`, its host's state and why it waits (repaints only on a change)."""
        # Room for the scrollbar even while there is none: a body laid out without it
        # wraps its widest lines (the parts bar) once the scrollbar shows.
        scrollbar = 0 if self.show_vertical_scrollbar else self.styles.scrollbar_size_vertical
        width = max(20, self.scrollable_content_region.width - scrollbar)
        key = (snap, host, waiting, width)
        if key == self._shown and snap is not None:
            return
        self._shown = key
        self.download_id = snap.id if snap is not None else None
        if snap is None:
            self.border_title = "Details"
            self._body.update(Text("No download selected.", style=DIM))
            return
        self.border_title = f"Details · #{snap.id}"
        self._body.update(render_details(snap, host, waiting, width))

    def on_resize(self) -> None:
        """Lay the parts out again for the new width (the first show can come before the
        pane has its size: the parts were then drawn one a line)."""
        if self._shown is not None and self._shown[0] is not None:
            snap, host, waiting, _ = self._shown
            self.show(snap, host, waiting)


def _clock(stamp: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(stamp))


def _sep(text: Text) -> None:
    text.append(" · ", style=DIM)


def render_details(
    snap: DownloadSnapshot,
    host: HostSnapshot | None = None,
    waiting: str | None = None,
    width: int = 60,
) -> RenderableType:
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
    if waiting is not None:
        _sep(state)
        state.append(f"waiting: {waiting}", style=WARN)
    grid.add_row("state", state)
    if host is not None:
        grid.add_row("host", host_state(host))
    size = Text(f"{human_size(snap.done)} of {human_size(snap.total)}")
    if snap.fraction is not None:
        size.append(f" ({percent(snap.fraction)})")
    grid.add_row("size", size)
    if snap.regions and snap.state is not State.COMPLETED:
        grid.add_row("parts", _regions(snap, max(10, width - 10)))

    transfer = Text()
    if snap.state.is_running:
        transfer.append(f"speed {human_speed(snap.speed) or '0 B/s'}")
        _sep(transfer)
        transfer.append(f"now {human_speed(snap.speed_now) or '0 B/s'}")
        _sep(transfer)
        transfer.append(f"ETA {human_duration(snap.eta) or '?'}")
        _sep(transfer)
    transfer.append(f"{snap.connections}/{snap.max_connections} conn")
    _sep(transfer)
    retries = f"{snap.retries} {'retry' if snap.retries == 1 else 'retries'}"
    transfer.append(retries, style=WARN if snap.retries else "")
    _sep(transfer)
    transfer.append(f"limit {human_rate(snap.limit_rate)}")
    grid.add_row("xfer", transfer)
    grid.add_row("url", Text(snap.shown_url))
    path = snap.path
    where = home_relative(path) if path else f"{home_relative(snap.directory)}/…"
    grid.add_row("file", Text(where))
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

    parts: list[RenderableType] = [grid]
    if host is not None and host.log:
        parts += [Text(f"Host {host.host} · lately", style=f"bold {DIM}"), _entries(host.log)]
    parts.append(Text(f"Log · {len(snap.log)}", style=f"bold {DIM}"))
    parts.append(_entries(snap.log) if snap.log else Text("nothing yet", style=DIM))
    return Group(*parts)


def _entries(entries: Iterable[LogEntry]) -> Table:
    """Timestamped lines, coloured by what they say."""
    log = Table.grid(padding=(0, 1))
    log.add_column(style=DIM, no_wrap=True)
    log.add_column(overflow="fold")
    for entry in entries:
        log.add_row(_clock(entry.time), Text(entry.message, style=_log_style(entry.message)))
    return log


def _regions(snap: DownloadSnapshot, width: int = 40) -> Text:
    """A bar of the parts, each as wide as its share of the file and filled as far as its
    connection got, then one entry per part: how far it is and, if active, its speed."""
    regions = snap.regions
    total = max(1, sum(max(1, r.end - r.start) for r in regions))
    usable = max(len(regions), width - (len(regions) - 1))
    active = sum(1 for r in regions if r.active)
    count = len(regions)
    text = Text(f"{count} part{'s' * (count != 1)}", style="bold")
    text.append(f" · {active} active\n" if active else "\n", style=DIM)
    edge = covered = 0  # cells drawn, and bytes they stand for: the rounding never adds up
    for n, region in enumerate(regions):
        size = max(1, region.end - region.start)
        covered += size
        cells = max(1, round(usable * covered / total) - edge)
        edge += cells
        done, rest = progress_bar(min(1.0, region.done / size), cells)
        if n:
            text.append("│", style=DIM)
        text.append(done, style=_region_style(region, size))
        text.append(rest, style=TRACK_STYLE)
    # One entry per part, packed into lines so an entry never breaks across two.
    line = 0
    for n, region in enumerate(regions, 1):
        size = max(1, region.end - region.start)
        entry = Text(f"#{n}", style=f"bold {_region_style(region, size)}")
        if region.done >= size:
            entry.append(" ✓", style=GOOD)
        else:
            entry.append(f" {region.done * 100 // size}%", style=DIM)
            if region.active:
                entry.append(f" {human_speed(region.speed) or '0 B/s'}")
        if n == 1 or line + 3 + entry.cell_len > width:
            text.append("\n")
            line = 0
        else:
            text.append("   ")
            line += 3
        text.append_text(entry)
        line += entry.cell_len
    return text


def host_state(host: HostSnapshot) -> Text:
    """The host's condition in one line: cooling, a lowered cap, its pushback history."""
    text = Text(host.host, style="bold")
    _sep(text)
    text.append(f"{host.active} running, {host.connections}/{host.connection_cap} conn")
    over = host.connections - host.connection_cap
    if over > 0 and host.connection_cap:
        _sep(text)
        text.append(
            f"{over} over the lowered cap: they finish, and none starts until it has room",
            style=WARN,
        )
    if host.cooldown_remaining > 0:
        _sep(text)
        text.append(f"cooling down {countdown(host.cooldown_remaining)}", style=WARN)
    pushback = host.status_429 + host.status_5xx
    if pushback:
        _sep(text)
        text.append(
            f"pushed back {host.status_429}x 429, {host.status_5xx}x 5xx; "
            "its connection cap halves on each and grows back with time and successes",
            style=WARN,
        )
    if host.limit_rate is not None:
        _sep(text)
        text.append(f"limit {human_rate(host.limit_rate)}")
    return text


def _region_style(region: RegionInfo, size: int) -> str:
    if region.done >= size:
        return GOOD
    return "#58a6ff" if region.active else DIM


def _log_style(message: str) -> str:
    lowered = message.lower()
    if "fail" in lowered or "error" in lowered:
        return ERROR
    if "retry" in lowered or "pushed back" in lowered or "429" in lowered or "held" in lowered:
        return WARN
    return ""
