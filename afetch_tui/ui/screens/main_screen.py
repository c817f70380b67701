"""The main screen: downloads, hosts, details and status, and the keys that act on them.

It composes the widgets and binds the keys; what each key does lives in
`afetch_tui.ui.screens.main` (one job a module), and each `action_` here hands over to it.
Each action that asks something first runs in one dialog worker (`asks_first`): it awaits
its dialog (`push_screen_wait`) and then acts. Actions apply to the marked downloads when
there are marks, else to the one under the cursor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from afetch_tui.ui.model import Changes, ViewModel
from afetch_tui.ui.screens.add_dialog import AddDialog
from afetch_tui.ui.screens.help import HelpDialog
from afetch_tui.ui.screens.main import asking, commands, view
from afetch_tui.ui.screens.main.adding import Adding
from afetch_tui.ui.screens.main.context import ActionContext
from afetch_tui.ui.screens.main.paint import NARROW, Painter
from afetch_tui.ui.widgets.details_pane import DetailsPane
from afetch_tui.ui.widgets.downloads_table import DownloadsTable
from afetch_tui.ui.widgets.hosts_panel import HostsPanel
from afetch_tui.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from afetch_tui.engine import Manager

asks_first = work(exclusive=True, group="afetch-dialog", exit_on_error=False)
"""One dialog at a time: a worker that awaits its dialog, then acts."""


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
        self.awaiting_events = False
        """A command was sent: repaint once its events are folded in (`AfetchApp`), not
        at the next timer tick (up to a quarter of a second later)."""
        self.painter = Painter(self, model, manager)
        self.ctx = ActionContext(self, model, manager, repaint=self.app_tick, sent=self._sent)
        self.adding = Adding(self.ctx)
        self.set_reactive(MainScreen.show_hosts, show_hosts)
        self.set_reactive(MainScreen.show_details, show_details)

    @property
    def table(self) -> DownloadsTable:
        return self.query_one(DownloadsTable)

    # -- composition ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="downloads-box") as box:
            box.border_title = self.painter.title
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
                self.painter.show_details(self.table.selected_id)

    # -- repainting (`paint`) -----------------------------------------------------------

    def _arrange(self) -> None:
        self.painter.arrange(self.show_hosts, self.show_details)

    def apply(self, changes: Changes) -> None:
        """Repaint whatever `changes` touched (called inside `batch_update`)."""
        if self.painter.apply(changes):
            self._arrange()

    def show_notice(self, notice: Text | None) -> None:
        """The newest notice, in the box's top border after its title (None: none)."""
        self.painter.show_notice(notice)

    def app_tick(self) -> None:
        """Repaint now rather than at the next timer tick (the user is waiting)."""
        changes = self.model.take()
        if changes:
            with self.app.batch_update():
                self.apply(changes)

    def _sent(self) -> None:
        self.awaiting_events = True
        self.app_tick()  # what was folded in already

    @on(DownloadsTable.Highlighted)
    def _highlighted(self, event: DownloadsTable.Highlighted) -> None:
        if self.query_one(DetailsPane).display:
            self.painter.show_details(event.download_id)

    @on(DownloadsTable.Selected)
    def _selected(self) -> None:
        self.action_details()

    # -- what is shown and marked (`view`) -----------------------------------------------

    def action_find(self) -> None:
        view.find(self.ctx)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        view.filter_changed(self.ctx, event.value)

    @on(Input.Submitted, "#filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        view.filter_kept(self.ctx, event.value)

    def action_clear_view(self) -> None:
        view.clear_view(self.ctx)

    def action_cycle_show(self) -> None:
        view.cycle_show(self.ctx)

    def action_cycle_sort(self) -> None:
        view.cycle_sort(self.ctx)

    def action_mark(self) -> None:
        view.mark(self.ctx)

    def action_mark_all(self) -> None:
        view.mark_all(self.ctx)

    def action_details(self) -> None:
        self.show_details = not self.show_details

    def action_toggle_hosts(self) -> None:
        show = not self.show_hosts
        if show and self.show_details and self.size.width < NARROW:
            self.show_details = False
        self.show_hosts = show

    def action_help(self) -> None:
        bindings = [b for b in self.BINDINGS if isinstance(b, Binding)]
        self.app.push_screen(HelpDialog(bindings))

    # -- adding (`adding`) ---------------------------------------------------------------

    def action_add(self, text: str = "") -> None:
        self.add_downloads(self.adding.dialog(text))

    @asks_first
    async def add_downloads(self, dialog: AddDialog) -> None:
        await self.adding.add(dialog)

    @asks_first
    async def action_add_from_page(self) -> None:
        await self.adding.from_page()

    # -- at once, on the selection or the marks (`commands`) -------------------------------

    async def action_toggle_pause(self) -> None:
        await commands.toggle_pause(self.ctx)

    async def action_move(self, offset: int) -> None:
        await commands.move(self.ctx, offset)

    async def action_move_to(self, place: int) -> None:
        await commands.move_to(self.ctx, place)

    async def action_pause_all(self) -> None:
        await commands.pause_all(self.ctx)

    async def action_resume_all(self) -> None:
        await commands.resume_all(self.ctx)

    def action_copy(self, what: str) -> None:
        commands.copy(self.ctx, what)

    # -- asked first (`asking`) ----------------------------------------------------------

    @asks_first
    async def action_cancel_download(self) -> None:
        await asking.cancel(self.ctx)

    @asks_first
    async def action_remove(self) -> None:
        await asking.remove(self.ctx)

    @asks_first
    async def action_retry(self) -> None:
        await asking.retry(self.ctx)

    @asks_first
    async def action_replace_url(self) -> None:
        await asking.replace_url(self.ctx)

    @asks_first
    async def action_download_limit(self) -> None:
        await asking.download_limit(self.ctx)

    def action_host_limit(self) -> None:
        """`l`: the hosts panel's selected host, or the selected download's host."""
        panel = self.query_one(HostsPanel)
        if panel.has_focus:
            self.edit_host_limit(panel.selected_host)
        elif (snap := self.ctx.selected()) is not None:
            self.edit_host_limit(snap.host)

    @asks_first
    async def edit_host_limit(self, host: str | None = None) -> None:
        await asking.edit_host_limit(self.ctx, host)

    @asks_first
    async def action_settings(self) -> None:
        await asking.settings(self.ctx)

    @asks_first
    async def action_clear_finished(self) -> None:
        await asking.clear_finished(self.ctx)
