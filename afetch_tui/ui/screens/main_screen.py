"""The main screen: downloads, hosts, details and status, and every action on them.

Each action that asks something first is one `@work` coroutine that awaits its dialog
(`push_screen_wait`) and then acts. Actions apply to the marked downloads when there are
marks, else to the one under the cursor.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from afetch_tui.config import already_listed, listed
from afetch_tui.engine import AfetchError, DownloadSnapshot, DownloadSpec, State, inert
from afetch_tui.ui.format import home_relative, human_size
from afetch_tui.ui.model import Changes, Show, Sort, ViewModel, display_name
from afetch_tui.ui.screens.add_dialog import AddDialog, AddRequest
from afetch_tui.ui.screens.harvest_dialog import HarvestDialog
from afetch_tui.ui.screens.help import HelpDialog
from afetch_tui.ui.screens.prompts import (
    ConfirmDialog,
    RateDialog,
    RemoveChoice,
    RemoveDialog,
    UrlDialog,
)
from afetch_tui.ui.screens.settings import SettingsDialog
from afetch_tui.ui.style import DIM
from afetch_tui.ui.widgets.details_pane import DetailsPane
from afetch_tui.ui.widgets.downloads_table import DownloadsTable
from afetch_tui.ui.widgets.hosts_panel import HostsPanel
from afetch_tui.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from afetch_tui.engine import Manager

T = TypeVar("T")

NARROW = 120
"""Below this width the details pane replaces the hosts panel instead of sharing the row."""

HOSTS_MAX_ROWS = 10
"""The hosts panel grows with the hosts up to this many rows, then scrolls."""


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def describe(snaps: list[DownloadSnapshot]) -> str:
    """“name” for one download, “N downloads” for several."""
    return f"“{display_name(snaps[0])}”" if len(snaps) == 1 else plural(len(snaps), "download")


class MainScreen(Screen[None]):
    """Downloads table on top; hosts panel and details pane below; status bar."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # The footer shows the first ones (whole entries, most used first); every one is
        # in the help and the command palette, titled by its tooltip.
        Binding("a", "add", "Add", tooltip="Add downloads", id="afetch.add"),
        Binding("slash", "find", "Filter", tooltip="Filter by name, URL or host", id="afetch.find"),
        Binding(
            "space,p",
            "toggle_pause",
            "Pause",
            tooltip="Pause / resume the selected or marked downloads",
            key_display="p",
            id="afetch.toggle_pause",
        ),
        Binding("m", "mark", "Mark", tooltip="Mark / unmark the row", id="afetch.mark"),
        Binding(
            "r",
            "retry",
            "Retry",
            tooltip="Retry the selected or marked downloads",
            id="afetch.retry",
        ),
        Binding(
            "delete",
            "remove",
            "Del",
            tooltip="Remove the selected or marked downloads",
            id="afetch.remove",
            show=False,  # "del Del" said little, and 80 cells end at "q Quit"
        ),
        Binding(
            "x",
            "cancel_download",
            "Cancel",
            tooltip="Cancel the selected or marked downloads",
            id="afetch.cancel",
        ),
        Binding(
            "v",
            "cycle_show",
            "State",
            tooltip="Filter by state (cycles)",
            id="afetch.show",
        ),
        Binding(
            "o",
            "cycle_sort",
            "Sort",
            tooltip="Sort (cycles name, size, …)",
            id="afetch.sort",
        ),
        Binding("question_mark", "help", "Help", tooltip="Every key", id="afetch.help"),
        Binding("q", "app.quit", "Quit", tooltip="Quit", id="afetch.quit"),
        Binding(
            "f",
            "add_from_page",
            "Page",
            tooltip="Add links from a web page",
            id="afetch.add_from_page",
            show=False,
        ),
        Binding(
            "asterisk",
            "mark_all",
            "Mark all",
            tooltip="Mark all shown (again: none)",
            id="afetch.mark_all",
            show=False,
        ),
        Binding(
            "escape",
            "clear_view",
            "Clear",
            tooltip="Clear filter, then marks",
            id="afetch.clear_view",
            show=False,
        ),
        Binding(
            "enter",
            "details",
            "Details",
            tooltip="Show / hide the details pane",
            id="afetch.details",
            priority=True,
            show=False,
        ),
        Binding(
            "plus,shift+up",
            "move(-1)",
            "Up",
            tooltip="Move up in the queue",
            id="afetch.move_up",
            show=False,
        ),
        Binding(
            "minus,shift+down",
            "move(1)",
            "Down",
            tooltip="Move down in the queue",
            id="afetch.move_down",
            show=False,
        ),
        Binding(
            "t",
            "move_to(0)",
            "Top",
            tooltip="Move to the top",
            id="afetch.move_top",
            show=False,
        ),
        Binding(
            "b",
            "move_to(-1)",
            "Bottom",
            tooltip="Move to the bottom",
            id="afetch.move_bottom",
            show=False,
        ),
        Binding(
            "P",
            "pause_all",
            "Pause all",
            tooltip="Pause every download",
            id="afetch.pause_all",
            show=False,
        ),
        Binding(
            "R",
            "resume_all",
            "Resume all",
            tooltip="Resume every paused download",
            id="afetch.resume_all",
            show=False,
        ),
        Binding(
            "c",
            "clear_finished",
            "Clear",
            tooltip="Clear completed + cancelled",
            id="afetch.clear_finished",
            show=False,
        ),
        Binding(
            "y",
            "copy('url')",
            "Copy URL",
            tooltip="Copy the URL",
            id="afetch.copy_url",
            show=False,
        ),
        Binding(
            "Y",
            "copy('path')",
            "Copy path",
            tooltip="Copy the file's path",
            id="afetch.copy_path",
            show=False,
        ),
        Binding(
            "u",
            "replace_url",
            "URL",
            tooltip="Replace the URL",
            id="afetch.replace_url",
            show=False,
        ),
        Binding(
            "L",
            "download_limit",
            "Limit",
            tooltip="Rate limit for the download",
            id="afetch.download_limit",
            show=False,
        ),
        Binding(
            "l",
            "host_limit",
            "Host limit",
            tooltip="Rate limit for the host",
            id="afetch.host_limit",
            show=False,
        ),
        Binding(
            "h",
            "toggle_hosts",
            "Hosts",
            tooltip="Show / hide the hosts panel",
            id="afetch.hosts",
            show=False,
        ),
        Binding(
            "s",
            "settings",
            "Settings",
            tooltip="Settings: limits, retries, …",
            id="afetch.settings",
            show=False,
        ),
    ]

    show_hosts = reactive(True)
    show_details = reactive(False)

    def __init__(
        self,
        model: ViewModel,
        manager: Manager,
        *,
        show_hosts: bool = True,
        show_details: bool = False,
    ) -> None:
        super().__init__(id="dashboard")
        self.model = model
        self.manager = manager
        self.add_draft = ""
        """What the add dialog held when it was closed with Escape."""
        self.awaiting_events = False
        """A command was sent: repaint once its events are folded in (`AfetchApp`), not
        at the next timer tick (up to a quarter of a second later)."""
        self._title = "Downloads"
        self._notice: Text | None = None
        """The newest notice, shown after the title (see `afetch_tui.ui.notices`)."""
        self._painted: Text | None = None
        self.set_reactive(MainScreen.show_hosts, show_hosts)
        self.set_reactive(MainScreen.show_details, show_details)

    @property
    def directory(self) -> Path:
        return Path(self.manager.directory)

    # -- composition ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="downloads-box") as box:
            box.border_title = self._title
            yield Input(
                placeholder="filter: name, URL or host · enter keeps it · esc clears",
                id="filter",
                compact=True,
            )
            yield DownloadsTable(self.model, id="downloads")
            yield Static(
                "No downloads yet. Press [b]a[/b] to add URLs, [b]?[/b] for help.",
                id="empty",
            )
        with Horizontal(id="bottom"):
            hosts = HostsPanel(self.model, id="hosts")
            hosts.border_title = "Hosts"
            yield hosts
            details = DetailsPane(id="details")
            details.border_title = "Details"
            yield details
        yield StatusBar(id="status")
        yield Footer(compact=True, show_command_palette=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the filter has the keys, Enter and Escape are the filter's."""
        if action in ("details", "clear_view") and isinstance(self.focused, Input):
            return action == "clear_view"
        return True

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one(DownloadsTable).focus()
        self._arrange()

    def on_resize(self) -> None:
        self._arrange()

    def watch_show_hosts(self) -> None:
        if self.is_mounted:
            self._arrange()

    def watch_show_details(self, shown: bool) -> None:
        if self.is_mounted:
            self._arrange()
            if shown:
                self._show_details(self.table.selected_id)

    @property
    def table(self) -> DownloadsTable:
        return self.query_one(DownloadsTable)

    def _arrange(self) -> None:
        """Show hosts and details side by side when wide; one at a time when narrow.

        The bottom row is only as tall as the hosts need (the details pane, when shown,
        takes what it is given)."""
        hosts = self.query_one(HostsPanel)
        details = self.query_one(DetailsPane)
        bottom = self.query_one("#bottom")
        narrow = self.size.width < NARROW
        hosts.display = self.show_hosts and not (narrow and self.show_details)
        details.display = self.show_details
        bottom.display = self.show_hosts or self.show_details
        bottom.set_class(narrow, "-narrow")
        bottom.set_class(self.show_details, "-details")
        if not self.show_details:
            room = max(2, (self.size.height - 8) // 4)  # at 80x24: 4 hosts, then it scrolls
            rows = min(HOSTS_MAX_ROWS, room, max(1, len(self.model.hosts)))
            bottom.styles.height = rows + 3  # borders and the header
        else:
            bottom.styles.height = None
        if not hosts.display and (hosts.has_focus or self.focused is None):
            self.table.focus()  # never leave the keys with nowhere to go

    # -- live updates ----------------------------------------------------------------

    def apply(self, changes: Changes) -> None:
        """Repaint whatever `changes` touched (called inside `batch_update`)."""
        model = self.model
        table = self.table
        table.sync(changes)
        hosts = self.query_one(HostsPanel)
        before = hosts.row_count
        hosts.sync(changes)
        if hosts.row_count != before:
            self._arrange()
        counts = model.counts()
        self.query_one(StatusBar).show(counts, model.limits, self.directory)
        self.query_one("#empty").display = not model.rows
        self._titles(counts.unfinished, counts.finished)
        details = self.query_one(DetailsPane)
        selected = table.selected_id
        row = model.rows.get(selected) if selected is not None else None
        if details.display and (
            selected in changes.dirty
            or changes.reset
            or details.download_id != selected
            or changes.limits
            or (row is not None and row.snap.host in changes.hosts)  # why it waits
        ):
            self._show_details(selected)

    def _titles(self, unfinished: int, finished: int) -> None:
        """The box title says what is shown; its subtitle how many and how many marked."""
        model = self.model
        box = self.query_one("#downloads-box")
        title = "Downloads"
        if model.filter_text:
            title += f" · “{model.filter_text}”"
        if model.show is not Show.ALL:
            title += f" · {model.show.value}"
        if model.sort is not Sort.QUEUE:
            title += f" · by {model.sort.value}"
        self._title = title
        self._paint_title()
        parts = []
        shown = self.table.row_count
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
        title = Text(self._title)  # the filter is the user's text, never markup
        if self._notice is not None:
            title.append(" · ", style=DIM)
            title.append_text(self._notice)
        if title != self._painted:  # setting it repaints the whole box
            self._painted = title
            self.query_one("#downloads-box").border_title = title

    def _show_details(self, download_id: int | None) -> None:
        row = self.model.rows.get(download_id) if download_id is not None else None
        pane = self.query_one(DetailsPane)
        if row is None:
            pane.show(None)
            return
        pane.show(row.snap, self.model.hosts.get(row.snap.host), self.model.waiting(row.snap))

    @on(DownloadsTable.Highlighted)
    def _highlighted(self, event: DownloadsTable.Highlighted) -> None:
        if self.query_one(DetailsPane).display:
            self._show_details(event.download_id)

    @on(DownloadsTable.Selected)
    def _selected(self) -> None:
        self.action_details()

    # -- the filter ------------------------------------------------------------------

    def action_find(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.model.set_view(text=event.value)
        self.app_tick()

    @on(Input.Submitted, "#filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        box = self.query_one("#filter", Input)
        box.display = bool(event.value)
        self.table.focus()

    def action_clear_view(self) -> None:
        """Escape: clear the filter (text and state), else the marks."""
        box = self.query_one("#filter", Input)
        model = self.model
        if box.has_focus or model.filter_text or model.show is not Show.ALL:
            box.value = ""
            box.display = False
            model.set_view(text="", show=Show.ALL)
            self.table.focus()
        elif model.marks:
            model.changes.dirty |= model.marks
            model.marks.clear()
            model.changes.view = True
        self.app_tick()

    def action_cycle_show(self) -> None:
        options = list(Show)
        show = options[(options.index(self.model.show) + 1) % len(options)]
        self.model.set_view(show=show)  # the box's title says what is shown
        self.app_tick()
        self.table.to_top()

    def action_cycle_sort(self) -> None:
        options = list(Sort)
        sort = options[(options.index(self.model.sort) + 1) % len(options)]
        self.model.set_view(sort=sort)
        self.app_tick()
        self.table.to_top()

    def action_mark(self) -> None:
        selected = self.table.selected_id
        if selected is None:
            return
        self.model.toggle_mark(selected)
        self.table.action_cursor(1)
        self.app_tick()

    def action_mark_all(self) -> None:
        self.model.mark_all_shown()
        self.app_tick()

    def app_tick(self) -> None:
        """Repaint now rather than at the next timer tick (the user is waiting)."""
        changes = self.model.take()
        if changes:
            with self.app.batch_update():
                self.apply(changes)

    # -- helpers -------------------------------------------------------------------

    def selected(self) -> DownloadSnapshot | None:
        """The download under the cursor, or `None` (with a notice) if there is none."""
        download_id = self.table.selected_id
        row = self.model.rows.get(download_id) if download_id is not None else None
        if row is None:
            self.say("No download selected.", severity="warning", timeout=2)
            return None
        return row.snap

    def targets(self) -> list[DownloadSnapshot]:
        """The marked downloads (queue order), else the selected one."""
        ids = self.model.targets(self.table.selected_id)
        if not ids:
            self.say("No download selected.", severity="warning", timeout=2)
        return [self.model.rows[i].snap for i in ids]

    def say(self, message: str, **options: Any) -> None:
        """A toast whose text is never read as markup (names and errors are server text)."""
        self.notify(message, markup=False, **options)

    async def call(self, awaitable: Awaitable[T]) -> T | None:
        """Await a manager command, showing its error (if any) as a notification."""
        try:
            result = await awaitable
        except (AfetchError, OSError) as exc:
            self.say(str(exc), title="afetch", severity="error")
            return None
        self.awaiting_events = True
        self.app_tick()  # what was folded in already
        return result

    # -- adding --------------------------------------------------------------------

    def action_add(self, text: str = "") -> None:
        draft, self.add_draft = self.add_draft, ""
        self.add_downloads(
            AddDialog(
                self.directory,
                text=text or draft,
                connections=self.manager.options.connections,
                keep_draft=self._keep_draft,
            )
        )

    def _keep_draft(self, text: str) -> None:
        self.add_draft = text

    @work(exclusive=True, group="afetch-dialog", exit_on_error=False)
    async def add_downloads(self, dialog: AddDialog) -> None:
        """Ask for URLs (again, with the reason, if the manager refuses them)."""
        while True:
            request = await self.app.push_screen_wait(dialog)
            if request is None:
                return
            urls = await self._skip_or_repeat(request.urls, request.directory)
            if not urls:
                return
            try:
                spec = DownloadSpec(
                    urls,
                    directory=request.directory,
                    name=request.name,
                    paused=request.paused,
                    connections=request.connections,
                    checksum=request.checksum,
                )
                await self.manager.add_many(spec)
            except (AfetchError, OSError) as exc:
                dialog = self._again(request, str(exc))
                continue
            self.say(
                f"Queued {plural(len(urls), 'download')}" + (" (paused)" if request.paused else ""),
                timeout=2,
            )
            return

    @staticmethod
    def _again(request: AddRequest, error: str) -> AddDialog:
        return AddDialog(
            request.directory,
            text="\n".join(request.urls),
            name=request.name or "",
            paused=request.paused,
            connections=request.connections or 1,
            checksum="=".join(request.checksum) if request.checksum else "",
            error=error,
        )

    async def _skip_or_repeat(self, urls: tuple[str, ...], directory: Path) -> tuple[str, ...]:
        """URLs already in the list are asked about first: skip them, or download again."""
        in_list = listed(row.snap for row in self.model.rows.values())
        folder = _as_a_downloads(directory)
        known = {url for url in urls if already_listed(url, folder, in_list)}
        repeated = [url for url in urls if url in known]
        if not repeated:
            return urls
        fresh = tuple(url for url in urls if url not in known)
        what = (
            f"“{inert(repeated[0])}” is"  # inert also masks a password
            if len(repeated) == 1
            else f"{len(repeated)} of these URLs are"
        )
        again = await self.app.push_screen_wait(
            ConfirmDialog(
                "Already in the list",
                f"{what} already in the list (queued or done). Download again?",
                yes="Download again",
                no="Skip" if fresh else "Add nothing",
                danger=False,
            )
        )
        return urls if again else fresh

    @work(exclusive=True, group="afetch-dialog", exit_on_error=False)
    async def action_add_from_page(self) -> None:
        result = await self.app.push_screen_wait(HarvestDialog(self.manager))
        if result is None:
            return
        urls = await self._skip_or_repeat(result.urls, self.manager.defaults.directory)
        ids = (
            await self.call(self.manager.add_many(DownloadSpec(urls, paused=result.paused)))
            if urls
            else None
        )
        if ids:
            self.say(
                f"Queued {plural(len(ids), 'download')} from the page"
                + (" (paused)" if result.paused else ""),
                timeout=2,
            )

    # -- acting on the selection (or the marks) ---------------------------------------

    async def action_toggle_pause(self) -> None:
        snaps = self.targets()
        if not snaps:
            return
        pending = [s for s in snaps if s.state.is_pending]
        paused = [s for s in snaps if s.state is State.PAUSED]
        if pending:
            for snap in pending:
                await self.call(self.manager.pause(snap.id))
        elif paused:
            for snap in paused:
                await self.call(self.manager.resume(snap.id))
        elif len(snaps) == 1:
            snap = snaps[0]
            hint = (
                "press r to retry"
                if snap.state is not State.COMPLETED
                else "nothing to pause or resume"
            )
            self.say(f"“{display_name(snap)}” is {snap.state.value}: {hint}.", timeout=2)
        else:
            self.say("None of the marked downloads can be paused or resumed.", timeout=2)

    @work(exclusive=True, group="afetch-dialog", exit_on_error=False)
    async def action_cancel_download(self) -> None:
        snaps = [s for s in self.targets() if not s.state.is_finished]
        if not snaps:
            self.say("Nothing to cancel: already finished.", timeout=2)
            return
        kept = sum(s.done for s in snaps)
        subject = (
            f"“{display_name(snaps[0])}”" if len(snaps) == 1 else plural(len(snaps), "download")
        )
        message = f"Stop {subject}"
        if kept:
            message += f" and delete the {human_size(kept)} downloaded so far"
        if await self.app.push_screen_wait(
            ConfirmDialog("Cancel download", message + "?", yes="Cancel download", no="Keep")
        ):
            for snap in snaps:
                await self.call(self.manager.cancel(snap.id))

    @work(exclusive=True, group="afetch-dialog", exit_on_error=False)
    async def action_remove(self) -> None:
        snaps = self.targets()
        if not snaps:
            return
        # An unfinished download's .part always goes (nothing could resume it): the
        # choice to keep or delete a file is offered only for finished ones.
        has_file = any(s.state is State.COMPLETED for s in snaps)
        partial = any(not s.state.is_finished and s.done > 0 for s in snaps)
        name = display_name(snaps[0]) if len(snaps) == 1 else plural(len(snaps), "download")
        choice = await self.app.push_screen_wait(
            RemoveDialog(name, has_file=has_file, partial=partial, quoted=len(snaps) == 1)
        )
        if choice is None:
            return
        delete = choice is RemoveChoice.DELETE_FILE
        for snap in snaps:
            await self.call(self.manager.remove(snap.id, delete_file=delete))

    @work(exclusive=True, group="afetch-dialog", exit_on_error=False)
    async def action_retry(self) -> None:
        """Retry the marked or selected failed/cancelled downloads; on any other row,
        offer to retry every failed one (asked: it touches rows you are not on)."""
        snaps = self.targets() if self.model.marks else []
        if not snaps:
            snap = self.selected()
            snaps = [snap] if snap is not None else []
        retryable = [s for s in snaps if s.state in (State.FAILED, State.CANCELLED)]
        if retryable:
            for snap in retryable:
                await self.call(self.manager.retry(snap.id))
            if len(retryable) > 1:
                self.say(f"Retrying {plural(len(retryable), 'download')}.", timeout=2)
            return
        failed = [i for i in self.model.order if self.model.rows[i].snap.state is State.FAILED]
        if not failed:
            self.say("Nothing to retry.", timeout=2)
            return
        if not await self.app.push_screen_wait(
            ConfirmDialog(
                "Retry failed downloads",
                f"This row has not failed. Retry all {plural(len(failed), 'failed download')}?",
                yes=f"Retry {len(failed)}",
                no="Cancel",
                danger=False,
            )
        ):
            return
        for failed_id in failed:
            await self.call(self.manager.retry(failed_id))
        self.say(f"Retrying {plural(len(failed), 'failed download')}.", timeout=2)

    async def action_move(self, offset: int) -> None:
        snap = self.selected()
        if snap is not None:
            await self.call(self.manager.move(snap.id, offset))

    async def action_move_to(self, place: int) -> None:
        """Move the marked or selected downloads to the top (0) or the bottom (-1),
        keeping their order among themselves."""
        snaps = self.targets()
        if snaps:  # the cursor follows the (first) moved row: it stays on it as it moves
            self.table.select_id(snaps[0].id)
        count = len(self.model.order)
        # Top: the last first, so the first ends on top; bottom: the first first.
        for snap in snaps[::-1] if place == 0 else snaps:
            await self.call(self.manager.move(snap.id, -count if place == 0 else count))

    async def action_pause_all(self) -> None:
        await self.call(self.manager.pause_all())

    async def action_resume_all(self) -> None:
        await self.call(self.manager.resume_all())

    def action_copy(self, what: str) -> None:
        snap = self.selected()
        if snap is None:
            return
        if what == "url":
            text, shown = snap.url, snap.shown_url  # the toast never shows a password
        else:
            if snap.path is None:  # not named yet: where it will be
                what = "folder"
            text = str(snap.path or snap.directory)
            shown = home_relative(text)
        self.app.copy_to_clipboard(text)
        self.say(f"Copied {what}: {shown}", timeout=2)

    def action_details(self) -> None:
        self.show_details = not self.show_details

    def action_toggle_hosts(self) -> None:
        show = not self.show_hosts
        if show and self.show_details and self.size.width < NARROW:
            self.show_details = False
        self.show_hosts = show

    @work(exclusive=True, group="afetch-dialog", exit_on_error=False)
    async def action_settings(self) -> None:
        manager = self.manager
        command, _ = manager.on_complete
        result = await self.app.push_screen_wait(
            SettingsDialog(manager.limits, command, manager.defaults)
        )
        if result is None:
            return
        said = []
        if result.on_complete_changed:
            _, time_limit = manager.on_complete
            manager.set_on_complete(result.on_complete, time_limit)
            said.append(
                "On-complete command set." if result.on_complete else "No on-complete command."
            )
        if (
            result.defaults is not None
            and await self.call(manager.set_defaults(result.defaults)) is not None
        ):
            said.append("New downloads and attempts take the new defaults.")
        if result.changes:
            try:
                changed = replace(manager.limits, **result.changes)  # Limits checks itself
            except AfetchError as exc:
                self.say(str(exc), title="afetch", severity="error")
            else:
                if await self.call(manager.set_limits(changed)) is not None:
                    said.insert(0, "Limits updated.")
        if said:
            self.say(" ".join(said), timeout=2)

    @work(exclusive=True, group="afetch-dialog", exit_on_error=False)
    async def action_replace_url(self) -> None:
        snap = self.selected()
        if snap is None:
            return
        if snap.state is State.COMPLETED:
            self.say("That download is complete.", timeout=2)
            return
        url = await self.app.push_screen_wait(UrlDialog(display_name(snap), snap.shown_url))
        if url is not None:
            await self.call(self.manager.replace_url(snap.id, url))

    @work(exclusive=True, group="afetch-dialog", exit_on_error=False)
    async def action_download_limit(self) -> None:
        snaps = self.targets()
        if not snaps:
            return
        subject = (
            f"“{display_name(snaps[0])}”" if len(snaps) == 1 else plural(len(snaps), "download")
        )
        result = await self.app.push_screen_wait(
            RateDialog("Download limit", subject, snaps[0].limit_rate)
        )
        if result is not None:
            for snap in snaps:
                await self.call(self.manager.set_download_limit(snap.id, result.rate))

    def action_host_limit(self) -> None:
        """`l`: the hosts panel's selected host, or the selected download's host."""
        panel = self.query_one(HostsPanel)
        if panel.has_focus:
            self.edit_host_limit(panel.selected_host)
            return
        snap = self.selected()
        if snap is not None:
            self.edit_host_limit(snap.host)

    @work(exclusive=True, group="afetch-dialog", exit_on_error=False)
    async def edit_host_limit(self, host: str | None = None) -> None:
        """Ask for a host's bandwidth limit (the selected host by default)."""
        host = host or self.query_one(HostsPanel).selected_host
        if host is None:
            self.say("No host yet.", timeout=2)
            return
        snap = self.model.hosts.get(host)
        result = await self.app.push_screen_wait(
            RateDialog("Host limit", host, snap.limit_rate if snap else None)
        )
        if result is not None:
            await self.call(self.manager.set_host_limit(host, result.rate))

    @work(exclusive=True, group="afetch-dialog", exit_on_error=False)
    async def action_clear_finished(self) -> None:
        finished = sum(
            1
            for row in self.model.rows.values()
            if row.snap.state in (State.COMPLETED, State.CANCELLED)
        )
        if not finished:
            self.say("Nothing finished to clear.", timeout=2)
            return
        if not await self.app.push_screen_wait(
            ConfirmDialog(
                "Clear finished",
                f"Clear {plural(finished, 'completed or cancelled row')} from the list? "
                "The files stay.",
                yes="Clear",
                no="Keep",
                danger=False,
            )
        ):
            return
        cleared = await self.call(self.manager.clear_finished())
        if cleared is not None:
            self.say(f"Cleared {plural(len(cleared), 'finished download')}.", timeout=2)

    def action_help(self) -> None:
        bindings = [b for b in self.BINDINGS if isinstance(b, Binding)]
        self.app.push_screen(HelpDialog(bindings))


def _as_a_downloads(directory: Path) -> Path:
    """A folder as a download's is written (`check_directory`), to compare with it."""
    return directory.expanduser().absolute()
