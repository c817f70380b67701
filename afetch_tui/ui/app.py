"""The afetch Textual app: a live dashboard over a download manager (`engine.api.Manager`:
the `DownloadManager` in this process, or another afetch's over its control socket).

The app runs on the manager's own asyncio loop. A worker folds the manager's events into
the view model; a timer (4 Hz) repaints only the rows that changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from afetch_tui.engine.errors import AfetchError
from afetch_tui.engine.events import DownloadSnapshot, HandedOff, HookFinished, State
from afetch_tui.ui.model import ViewModel
from afetch_tui.ui.screens.dashboard import TITLES, DashboardScreen
from afetch_tui.ui.screens.prompts import ConfirmDialog
from afetch_tui.ui.widgets.downloads_table import display_name

if TYPE_CHECKING:
    from afetch_tui.engine.api import Manager

REFRESH_HZ = 4.0
MAX_NOTICES_PER_TICK = 3


class AfetchApp(App[None]):
    """A terminal download manager. Construct with a started manager."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "afetch"

    def __init__(
        self,
        manager: Manager,
        *,
        refresh_hz: float = REFRESH_HZ,
        cursor_blink: bool = True,
        show_hosts: bool = True,
        show_details: bool = False,
    ) -> None:
        super().__init__()
        self.manager = manager
        self.model = ViewModel()
        self.model.on_finished = self._finished
        self.model.fetch = self.fetch
        self.refresh_hz = refresh_hz
        self.cursor_blink = cursor_blink
        self.show_hosts = show_hosts
        self.show_details = show_details
        self._notices: list[DownloadSnapshot | HookFinished] = []
        """Finished downloads and failed hooks to announce once no modal is open."""
        self._subscription: Any = None

    @property
    def directory(self) -> Path:
        return Path(self.manager.directory)

    def get_default_screen(self) -> Screen[Any]:
        return DashboardScreen()

    # -- lifetime ------------------------------------------------------------------

    def on_mount(self) -> None:
        self._subscription = self.manager.subscribe()
        self._resync()
        self.consume_events()
        self.set_interval(1 / self.refresh_hz, self.tick, name="afetch-refresh")
        self.call_after_refresh(self.tick)

    def on_unmount(self) -> None:
        if self._subscription is not None:
            self._subscription.close()

    def _resync(self) -> None:
        manager = self.manager
        self.model.load(manager.downloads(), manager.hosts(), manager.limits)

    @work(exclusive=True, exit_on_error=False, group="afetch-events", name="events")
    async def consume_events(self) -> None:
        """Fold manager events into the view model until the subscription ends."""
        async for event in self._subscription:
            if isinstance(event, HookFinished):
                self._hook_finished(event)
            elif isinstance(event, HandedOff):
                self.notify(f"{len(event.ids)} queued by {event.source}", title="Added")
            elif not self.model.apply(event):
                self._resync()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "events" or event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        self.log.error("event worker failed", error)
        self.notify(f"Live updates stopped: {error!r}; resyncing.", severity="error")
        if self._subscription is not None:
            self._subscription.close()  # else the manager keeps feeding a queue nobody reads
        self._subscription = self.manager.subscribe()
        self._resync()
        self.consume_events()

    # -- refresh -------------------------------------------------------------------

    def tick(self) -> None:
        """Apply the changes collected since the last tick (skipped under a modal).

        Notices wait while a modal is open, so a toast never lands on a dialog's buttons.
        """
        if not self.is_running:  # shutting down: the widgets may already be gone
            return
        screen = self.screen
        if not isinstance(screen, DashboardScreen) or not screen.ready:
            return
        self._flush_notices()
        self.model.sample_speeds()
        changes = self.model.take()
        if not changes:
            return
        with self.batch_update():
            screen.apply(changes)

    def fetch(self, download_id: int) -> DownloadSnapshot | None:
        """The manager's current snapshot of one download, if it still exists."""
        try:
            return self.manager.download(download_id)
        except (AfetchError, LookupError):
            return None

    def _hook_finished(self, event: HookFinished) -> None:
        if not event.ok:
            self._notices.append(event)

    def _finished(self, snap: DownloadSnapshot) -> None:
        self._notices.append(snap)

    def _flush_notices(self) -> None:
        notices, self._notices = self._notices, []
        hooks = [n for n in notices if isinstance(n, HookFinished)]
        if len(hooks) > MAX_NOTICES_PER_TICK:
            self.notify(
                f"{len(hooks)} files' commands failed.", title="on-complete", severity="warning"
            )
            hooks = []
        for hook in hooks:
            self.notify(
                hook.message, title="on-complete command failed", severity="warning", markup=False
            )
        notices = [n for n in notices if isinstance(n, DownloadSnapshot)]
        if len(notices) > MAX_NOTICES_PER_TICK:
            done = sum(1 for n in notices if n.state is State.COMPLETED)
            failed = len(notices) - done
            self.notify(
                f"{done} completed, {failed} failed.",
                severity="error" if failed else "information",
            )
            return
        for snap in notices:
            if snap.state is State.COMPLETED:
                self.notify(
                    f"✓ {display_name(snap)}", title="Download complete", timeout=4, markup=False
                )
            else:
                self.notify(
                    f"✗ {display_name(snap)}: {snap.error or 'failed'}",
                    title="Download failed",
                    severity="error",
                    timeout=8,
                    markup=False,
                )

    # -- quitting --------------------------------------------------------------------

    async def action_quit(self) -> None:
        active = sum(1 for row in self.model.rows.values() if row.snap.state.is_pending)
        if not active:
            self.exit()
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.exit()

        noun = "download is" if active == 1 else "downloads are"
        await self.push_screen(
            ConfirmDialog(
                "Quit afetch?",
                f"{active} {noun} not finished: {self._after_quit}",
                yes="Quit",
                no="Stay",
            ),
            callback=confirmed,
        )

    @property
    def _after_quit(self) -> str:
        """What quitting does to unfinished downloads (they run here, or in another afetch)."""
        owner = self.manager.owner
        return f"they go on in {owner}." if owner else "they stop now and resume next time."

    # -- command palette -------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if not isinstance(screen, DashboardScreen):
            return
        for binding in screen.BINDINGS:
            if isinstance(binding, Binding) and binding.id and binding.action != "app.quit":
                help_text = f"{binding.description} ({binding.key})"
                yield SystemCommand(
                    TITLES.get(binding.id, binding.description),
                    help_text,
                    partial(screen.run_action, binding.action),
                )
        yield SystemCommand(
            "Host limit", "Set the selected host's bandwidth limit (l)", screen.edit_host_limit
        )


async def run_dashboard(manager: Manager, **options: Any) -> None:
    """Run the dashboard on the current loop until the user quits."""
    await AfetchApp(manager, **options).run_async()
