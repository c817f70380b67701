"""The main screen: downloads, hosts, details and status, and every action on them."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar, TypeVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from afetch_tui.engine.errors import AfetchError
from afetch_tui.engine.events import DownloadSnapshot, State
from afetch_tui.ui.format import human_size
from afetch_tui.ui.model import Changes
from afetch_tui.ui.screens.add_dialog import AddDialog, AddRequest
from afetch_tui.ui.screens.harvest_dialog import HarvestDialog, HarvestResult
from afetch_tui.ui.screens.help import HelpDialog
from afetch_tui.ui.screens.prompts import (
    ConfirmDialog,
    RateDialog,
    RateResult,
    RemoveChoice,
    RemoveDialog,
    UrlDialog,
)
from afetch_tui.ui.screens.settings import SettingsDialog, SettingsResult
from afetch_tui.ui.widgets.details_pane import DetailsPane
from afetch_tui.ui.widgets.downloads_table import DownloadsTable, display_name
from afetch_tui.ui.widgets.hosts_panel import HostsPanel
from afetch_tui.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from afetch_tui.ui.app import AfetchApp

T = TypeVar("T")

NARROW = 120
"""Below this width the details pane replaces the hosts panel instead of sharing the row."""


TITLES = {
    "afetch.add": "Add downloads",
    "afetch.add_from_page": "Add from page (pick links)",
    "afetch.toggle_pause": "Pause / resume selected",
    "afetch.cancel": "Cancel selected",
    "afetch.remove": "Remove selected",
    "afetch.retry": "Retry selected (or every failed one)",
    "afetch.move_up": "Move selected up",
    "afetch.move_down": "Move selected down",
    "afetch.pause_all": "Pause all",
    "afetch.resume_all": "Resume all",
    "afetch.details": "Toggle details pane",
    "afetch.hosts": "Toggle hosts panel",
    "afetch.settings": "Settings (limits, on-complete command)",
    "afetch.replace_url": "Replace URL of selected",
    "afetch.download_limit": "Rate limit for selected",
    "afetch.clear_finished": "Clear finished",
    "afetch.help": "Help (keys)",
    "afetch.quit": "Quit",
}
"""Long names for the command palette and the help dialog (the footer uses the short ones)."""


class DashboardScreen(Screen[None]):
    """Downloads table on top; hosts panel and details pane below; status bar."""

    add_draft = ""
    """What the add dialog held when it was closed with Escape."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # All in the footer, most used first: a narrow terminal shows the first ones.
        Binding("a", "add", "Add", id="afetch.add"),
        Binding("f", "add_from_page", "Page", id="afetch.add_from_page"),
        Binding("space,p", "toggle_pause", "Pause", id="afetch.toggle_pause", key_display="p"),
        Binding("x", "cancel_download", "Cancel", id="afetch.cancel"),
        Binding("delete", "remove", "Remove", id="afetch.remove"),
        Binding("r", "retry", "Retry", id="afetch.retry"),
        Binding("s", "settings", "Set", id="afetch.settings"),
        Binding("question_mark", "help", "Help", id="afetch.help"),
        Binding("q", "app.quit", "Quit", id="afetch.quit"),
        Binding("enter", "details", "Details", id="afetch.details", priority=True),
        Binding("plus,shift+up", "move(-1)", "Up", id="afetch.move_up"),
        Binding("minus,shift+down", "move(1)", "Down", id="afetch.move_down"),
        Binding("P", "pause_all", "Pause all", id="afetch.pause_all"),
        Binding("R", "resume_all", "Resume all", id="afetch.resume_all"),
        Binding("h", "toggle_hosts", "Hosts", id="afetch.hosts"),
        Binding("u", "replace_url", "URL", id="afetch.replace_url"),
        Binding("L", "download_limit", "Limit", id="afetch.download_limit"),
        Binding("c", "clear_finished", "Clear", id="afetch.clear_finished"),
    ]

    def __init__(self) -> None:
        super().__init__(id="dashboard")
        self.ready = False
        """True once the widgets exist (ticks before that are skipped)."""

    @property
    def afetch(self) -> AfetchApp:
        return cast("AfetchApp", self.app)

    # -- composition ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        model = self.afetch.model
        with Vertical(id="downloads-box") as box:
            box.border_title = "Downloads"
            yield DownloadsTable(model, id="downloads")
            yield Static(
                "No downloads yet. Press [b]a[/b] to add URLs, [b]?[/b] for help.",
                id="empty",
            )
        with Horizontal(id="bottom"):
            hosts = HostsPanel(model, id="hosts")
            hosts.border_title = "Hosts"
            yield hosts
            details = DetailsPane(id="details")
            details.border_title = "Details"
            yield details
        yield StatusBar(id="status")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(DownloadsTable).focus()
        self._arrange()
        self.ready = True

    def on_resize(self) -> None:
        self._arrange()

    def _arrange(self) -> None:
        """Show hosts and details side by side when wide; one at a time when narrow."""
        hosts = self.query_one(HostsPanel)
        details = self.query_one(DetailsPane)
        bottom = self.query_one("#bottom")
        wanted_hosts = self.afetch.show_hosts
        wanted_details = self.afetch.show_details
        narrow = self.size.width < NARROW
        hosts.display = wanted_hosts and not (narrow and wanted_details)
        details.display = wanted_details
        bottom.display = wanted_hosts or wanted_details
        bottom.set_class(narrow, "-narrow")
        bottom.set_class(wanted_details, "-details")
        if not hosts.display and (hosts.has_focus or self.focused is None):
            self.query_one(DownloadsTable).focus()  # never leave the keys with nowhere to go

    # -- live updates ----------------------------------------------------------------

    def apply(self, changes: Changes) -> None:
        """Repaint whatever `changes` touched (called inside `batch_update`)."""
        app = self.afetch
        table = self.query_one(DownloadsTable)
        table.sync(changes)
        self.query_one(HostsPanel).sync(changes)
        self.query_one(StatusBar).show(app.model.counts(), app.model.limits, app.directory)
        if changes.reset or changes.added or changes.removed:
            self.query_one("#empty").display = not app.model.rows
            count = len(app.model.rows)
            self.query_one("#downloads-box").border_subtitle = f"{count} in queue" if count else ""
        details = self.query_one(DetailsPane)
        selected = table.selected_id
        if details.display and (
            selected in changes.dirty or changes.reset or details.download_id != selected
        ):
            self._show_details(selected)

    def _show_details(self, download_id: int | None) -> None:
        """Show a fresh snapshot (it carries connections and parts that events do not)."""
        app = self.afetch
        row = app.model.rows.get(download_id) if download_id is not None else None
        fresh = app.fetch(row.snap.id) if row is not None else None
        self.query_one(DetailsPane).show(fresh or (row.snap if row else None))

    @on(DataTable.RowHighlighted, "#downloads")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.query_one(DetailsPane).display:
            key = event.row_key.value
            self._show_details(int(key) if key is not None else None)

    @on(DataTable.RowSelected, "#downloads")
    def _selected(self) -> None:
        self.action_details()

    @on(HostsPanel.EditLimit)
    def _edit_host_limit(self, event: HostsPanel.EditLimit) -> None:
        self.edit_host_limit(event.host)

    # -- helpers -------------------------------------------------------------------

    def selected(self) -> DownloadSnapshot | None:
        """The download under the cursor, or `None` (with a notice) if there is none."""
        download_id = self.query_one(DownloadsTable).selected_id
        row = self.afetch.model.rows.get(download_id) if download_id is not None else None
        if row is None:
            self.notify("No download selected.", severity="warning", timeout=2)
            return None
        return row.snap

    async def call(self, awaitable: Awaitable[T]) -> T | None:
        """Await a manager command, showing its error (if any) as a notification."""
        try:
            return await awaitable
        except (AfetchError, OSError) as exc:
            self.notify(str(exc), title="afetch", severity="error", markup=False)
        except LookupError:
            self.notify("That download is gone.", severity="warning", timeout=2)
        return None

    # -- actions -------------------------------------------------------------------

    def action_add(self, text: str = "") -> None:
        manager = self.afetch.manager
        draft, self.add_draft = self.add_draft, ""
        self.open_add_dialog(
            AddDialog(
                self.afetch.directory,
                text=text or draft,
                connections=manager.options.connections,
                keep_draft=self._keep_draft,
            )
        )

    def _keep_draft(self, text: str) -> None:
        self.add_draft = text

    def open_add_dialog(self, dialog: AddDialog) -> None:
        self.app.push_screen(dialog, callback=self._added)

    async def _added(self, request: AddRequest | None) -> None:
        if request is None:
            return
        try:
            await self.afetch.manager.add_many(
                list(request.urls),
                directory=request.directory,
                name=request.name,
                paused=request.paused,
                connections=request.connections,
                checksum=request.checksum,
            )
        except (AfetchError, OSError) as exc:
            self.open_add_dialog(
                AddDialog(
                    request.directory,
                    text="\n".join(request.urls),
                    name=request.name or "",
                    paused=request.paused,
                    connections=request.connections or 1,
                    checksum="=".join(request.checksum) if request.checksum else "",
                    error=str(exc),
                )
            )
            return
        count = len(request.urls)
        self.notify(
            f"Queued {count} download{'s' if count != 1 else ''}"
            + (" (paused)" if request.paused else ""),
            timeout=2,
        )

    def action_add_from_page(self) -> None:
        self.app.push_screen(HarvestDialog(self.afetch.manager), callback=self._harvested)

    async def _harvested(self, result: HarvestResult | None) -> None:
        if result is None:
            return
        ids = await self.call(self.afetch.manager.add_many(result.urls, paused=result.paused))
        if ids:
            count = len(ids)
            self.notify(
                f"Queued {count} download{'s' if count != 1 else ''} from the page"
                + (" (paused)" if result.paused else ""),
                timeout=2,
            )

    async def action_toggle_pause(self) -> None:
        snap = self.selected()
        if snap is None:
            return
        manager = self.afetch.manager
        if snap.state is State.PAUSED:
            await self.call(manager.resume(snap.id))
        elif snap.state.is_pending:
            await self.call(manager.pause(snap.id))
        else:
            hint = "press r to retry" if snap.state is not State.COMPLETED else "it is done"
            self.notify(
                f"“{display_name(snap)}” is {snap.state.value}: {hint}.", timeout=2, markup=False
            )

    def action_cancel_download(self) -> None:
        snap = self.selected()
        if snap is None:
            return
        if snap.state.is_finished:
            self.notify(
                f"“{display_name(snap)}” is already {snap.state.value}.", timeout=2, markup=False
            )
            return
        message = f"Stop “{display_name(snap)}”"
        if snap.done:
            message += f" and delete the {human_size(snap.done)} downloaded so far"
        self.app.push_screen(
            ConfirmDialog("Cancel download", message + "?", yes="Cancel download", no="Keep"),
            callback=lambda yes: self._cancel_confirmed(snap.id, yes),
        )

    async def _cancel_confirmed(self, download_id: int, yes: bool | None) -> None:
        if yes:
            await self.call(self.afetch.manager.cancel(download_id))

    def action_remove(self) -> None:
        snap = self.selected()
        if snap is None:
            return
        # An unfinished download's .part always goes (nothing could resume it): the
        # choice to keep or delete a file is offered only for finished ones.
        finished = snap.state.is_finished
        self.app.push_screen(
            RemoveDialog(
                display_name(snap),
                has_file=finished and (snap.state is State.COMPLETED or snap.done > 0),
                partial=not finished and snap.done > 0,
            ),
            callback=lambda choice: self._remove_chosen(snap.id, choice),
        )

    async def _remove_chosen(self, download_id: int, choice: RemoveChoice | None) -> None:
        if choice is None:
            return
        delete = choice is RemoveChoice.DELETE_FILE
        await self.call(self.afetch.manager.remove(download_id, delete_file=delete))

    async def action_retry(self) -> None:
        download_id = self.query_one(DownloadsTable).selected_id
        row = self.afetch.model.rows.get(download_id) if download_id is not None else None
        manager = self.afetch.manager
        if row is not None and row.snap.state in (State.FAILED, State.CANCELLED):
            await self.call(manager.retry(row.snap.id))
            return
        rows = self.afetch.model.rows.values()
        failed = [r.snap.id for r in rows if r.snap.state is State.FAILED]
        if not failed:
            self.notify("Nothing to retry.", timeout=2)
            return
        for failed_id in failed:
            await self.call(manager.retry(failed_id))
        self.notify(f"Retrying {len(failed)} failed download{'s' * (len(failed) != 1)}.")

    async def action_move(self, offset: int) -> None:
        snap = self.selected()
        if snap is not None:
            await self.call(self.afetch.manager.move(snap.id, offset))

    async def action_pause_all(self) -> None:
        await self.call(self.afetch.manager.pause_all())

    async def action_resume_all(self) -> None:
        await self.call(self.afetch.manager.resume_all())

    def action_details(self) -> None:
        app = self.afetch
        app.show_details = not app.show_details
        self._arrange()
        if app.show_details:
            self._show_details(self.query_one(DownloadsTable).selected_id)

    def action_toggle_hosts(self) -> None:
        app = self.afetch
        app.show_hosts = not app.show_hosts
        if app.show_hosts and app.show_details and self.size.width < NARROW:
            app.show_details = False
        self._arrange()

    def action_settings(self) -> None:
        manager = self.afetch.manager
        command, _ = manager.on_complete
        self.app.push_screen(SettingsDialog(manager.limits, command), callback=self._settings)

    async def _settings(self, result: SettingsResult | None) -> None:
        if result is None:
            return
        manager = self.afetch.manager
        said = []
        if result.on_complete_changed:
            _, time_limit = manager.on_complete
            manager.set_on_complete(result.on_complete, time_limit)
            said.append(
                "On-complete command set." if result.on_complete else "No on-complete command."
            )
        changed = replace(manager.limits, **result.changes)
        if result.changes and await self.call(manager.set_limits(changed)) is not None:
            said.insert(0, "Limits updated.")
        if said:
            self.notify(" ".join(said), timeout=2)

    def action_replace_url(self) -> None:
        snap = self.selected()
        if snap is None:
            return
        if snap.state is State.COMPLETED:
            self.notify("That download is complete.", timeout=2)
            return
        self.app.push_screen(
            UrlDialog(display_name(snap), snap.shown_url),
            callback=lambda url: self._replace(snap.id, url),
        )

    async def _replace(self, download_id: int, url: str | None) -> None:
        if url is not None:
            await self.call(self.afetch.manager.replace_url(download_id, url))

    def action_download_limit(self) -> None:
        snap = self.selected()
        if snap is None:
            return
        self.app.push_screen(
            RateDialog("Download limit", f"“{display_name(snap)}”", snap.limit_rate),
            callback=lambda result: self._download_limit(snap.id, result),
        )

    async def _download_limit(self, download_id: int, result: RateResult | None) -> None:
        if result is not None:
            await self.call(self.afetch.manager.set_download_limit(download_id, result.rate))

    def edit_host_limit(self, host: str | None = None) -> None:
        """Ask for a host's bandwidth limit (the selected host by default)."""
        panel = self.query_one(HostsPanel)
        host = host or panel.selected_host
        if host is None:
            self.notify("No host yet.", timeout=2)
            return
        snap = self.afetch.model.hosts.get(host)
        self.app.push_screen(
            RateDialog("Host limit", host, snap.limit_rate if snap else None),
            callback=lambda result: self._host_limit(host, result),
        )

    async def _host_limit(self, host: str, result: RateResult | None) -> None:
        if result is not None:
            await self.call(self.afetch.manager.set_host_limit(host, result.rate))

    async def action_clear_finished(self) -> None:
        cleared = await self.call(self.afetch.manager.clear_finished())
        if cleared is not None:
            count = len(cleared)
            self.notify(f"Cleared {count} finished download{'s' * (count != 1)}.", timeout=2)

    def action_help(self) -> None:
        keys = [
            (b.key, TITLES.get(b.id or "", b.description))
            for b in self.BINDINGS
            if isinstance(b, Binding)
        ]
        self.app.push_screen(HelpDialog(keys))
