"""Painting the main screen: its layout, what a batch of changes touched, and the titles.

The downloads box's title says what is shown (filter, state, sort) and the newest notice;
its subtitle how many are shown, marked, to go and finished.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.screen import Screen

from afetch_tui.ui.model import Changes, Show, Sort
from afetch_tui.ui.style import DIM
from afetch_tui.ui.widgets.details_pane import DetailsPane
from afetch_tui.ui.widgets.downloads_table import DownloadsTable
from afetch_tui.ui.widgets.hosts_panel import HostsPanel
from afetch_tui.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from afetch_tui.engine import Manager
    from afetch_tui.ui.model import ViewModel

NARROW = 120
"""Below this width the details pane replaces the hosts panel instead of sharing the row."""

HOSTS_MAX_ROWS = 10
"""The hosts panel grows with the hosts up to this many rows, then scrolls."""


class Painter:
    """Repaints the main screen from its model; keeps the title it painted last (setting
    it repaints the whole box)."""

    def __init__(self, screen: Screen[Any], model: ViewModel, manager: Manager) -> None:
        self.screen = screen
        self.model = model
        self.manager = manager
        self.title = "Downloads"
        self._notice: Text | None = None
        """The newest notice, shown after the title (see `afetch_tui.ui.notices`)."""
        self._painted: Text | None = None

    def arrange(self, show_hosts: bool, show_details: bool) -> None:
        """Show hosts and details side by side when wide; one at a time when narrow.

        The bottom row is only as tall as the hosts need (the details pane, when shown,
        takes what it is given)."""
        screen = self.screen
        hosts = screen.query_one(HostsPanel)
        details = screen.query_one(DetailsPane)
        bottom = screen.query_one("#bottom")
        narrow = screen.size.width < NARROW
        hosts.display = show_hosts and not (narrow and show_details)
        details.display = show_details
        bottom.display = show_hosts or show_details
        bottom.set_class(narrow, "-narrow")
        bottom.set_class(show_details, "-details")
        if not show_details:
            room = max(2, (screen.size.height - 8) // 4)  # at 80x24: 4 hosts, then it scrolls
            rows = min(HOSTS_MAX_ROWS, room, max(1, len(self.model.hosts)))
            bottom.styles.height = rows + 3  # borders and the header
        else:
            bottom.styles.height = None
        if not hosts.display and (hosts.has_focus or screen.focused is None):
            screen.query_one(DownloadsTable).focus()  # never leave the keys with nowhere to go

    def apply(self, changes: Changes) -> bool:
        """Repaint whatever `changes` touched (called inside `batch_update`); true when
        the hosts panel has more or fewer rows (arrange again: it is as tall as they)."""
        screen = self.screen
        model = self.model
        table = screen.query_one(DownloadsTable)
        table.sync(changes)
        hosts = screen.query_one(HostsPanel)
        before = hosts.row_count
        hosts.sync(changes)
        counts = model.counts()
        screen.query_one(StatusBar).show(counts, model.limits, Path(self.manager.directory))
        screen.query_one("#empty").display = not model.rows
        self._titles(counts.unfinished, counts.finished)
        details = screen.query_one(DetailsPane)
        selected = table.selected_id
        row = model.rows.get(selected) if selected is not None else None
        if details.display and (
            selected in changes.dirty
            or changes.reset
            or details.download_id != selected
            or changes.limits
            or (row is not None and row.host in changes.hosts)  # why it waits
        ):
            self.show_details(selected)
        return hosts.row_count != before

    def show_details(self, download_id: int | None) -> None:
        model = self.model
        row = model.rows.get(download_id) if download_id is not None else None
        pane = self.screen.query_one(DetailsPane)
        if row is None:
            pane.show(None)
            return
        snap = row.snap
        pane.show(snap, model.hosts.get(snap.host), model.waiting(snap))

    def _titles(self, unfinished: int, finished: int) -> None:
        """The box title says what is shown; its subtitle how many and how many marked."""
        model = self.model
        box = self.screen.query_one("#downloads-box")
        title = "Downloads"
        if model.filter_text:
            title += f" · “{model.filter_text}”"
        if model.show is not Show.ALL:
            title += f" · {model.show.value}"
        if model.sort is not Sort.QUEUE:
            title += f" · by {model.sort.value}"
        self.title = title
        self._paint_title()
        parts = []
        shown = self.screen.query_one(DownloadsTable).row_count
        if shown != len(model.rows):
            parts.append(f"{shown} of {len(model.rows)} shown")
        if model.marks:
            parts.append(f"{len(model.marks)} marked")
        if unfinished:
            parts.append(f"{unfinished} to go")
        if finished:
            parts.append(f"{finished} finished")
        subtitle = " · ".join(parts)
        if box.border_subtitle != subtitle:
            box.border_subtitle = subtitle

    def show_notice(self, notice: Text | None) -> None:
        """The newest notice, in the box's top border after its title (None: none)."""
        if notice is None and self._notice is None:
            return
        if notice is not None and self._notice is not None and notice == self._notice:
            return
        self._notice = notice
        self._paint_title()

    def _paint_title(self) -> None:
        title = Text(self.title)  # the filter is the user's text, never markup
        if self._notice is not None:
            title.append(" · ", style=DIM)
            title.append_text(self._notice)
        if title != self._painted:  # setting it repaints the whole box
            self._painted = title
            self.screen.query_one("#downloads-box").border_title = title
