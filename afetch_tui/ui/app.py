"""The afetch Textual app: a live dashboard over a download manager (`engine.api.Manager`:
the `DownloadManager` in this process, or another afetch's over its control socket).

The app runs on the manager's own asyncio loop. A worker folds the manager's events into
the view model; a timer (4 Hz) repaints only the rows that changed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import Notification, Notify
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from afetch_tui.engine import DownloadSnapshot, HandedOff, HookFinished, State
from afetch_tui.ui.collector import ShortCollections
from afetch_tui.ui.format import plural
from afetch_tui.ui.model import ViewModel, display_name
from afetch_tui.ui.notices import newest_notice
from afetch_tui.ui.screens.help import key_label
from afetch_tui.ui.screens.main_screen import MainScreen
from afetch_tui.ui.screens.prompts import ConfirmDialog
from afetch_tui.ui.style import DIM

if TYPE_CHECKING:
    from afetch_tui.config import Backlog
    from afetch_tui.engine import Manager

REFRESH_HZ = 4.0
SUMMARY_SECONDS = 6.0
"""How long the running summary of finished downloads stays after its last change."""
QUIET_AFTER = 3
"""More completions than this (and no failure) are summed up once the queue is done."""


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
        notice: str | None = None,
        backlog: Backlog | None = None,
    ) -> None:
        """``notice``: a line to show once it runs (what the command line left out).
        ``backlog``: the command line's URLs still to queue, started once the window
        shows (whoever made it closes it); its progress shows in the notice line."""
        super().__init__()
        self.manager = manager
        self._startup_notice = notice
        self.backlog = backlog
        self.model = ViewModel()
        self.model.on_finished = self._finished
        self.refresh_hz = refresh_hz
        self.cursor_blink = cursor_blink
        self.dashboard = MainScreen(
            self.model, manager, show_hosts=show_hosts, show_details=show_details
        )
        self.dashboard.adding.backlog = backlog
        self._notices: list[DownloadSnapshot | HookFinished] = []
        """Finished downloads and failed hooks to announce once no modal is open."""
        self._summary = Summary()
        self._summary_toast: Notification | None = None
        self._subscription: Any = None
        self._collections = ShortCollections()
        self._backlog_failed = False

    @property
    def directory(self) -> Path:
        return Path(self.manager.directory)

    def get_default_screen(self) -> Screen[Any]:
        return self.dashboard

    # -- lifetime ------------------------------------------------------------------

    def on_mount(self) -> None:
        self._collections.install()
        self._subscription = self.manager.subscribe()
        self._resync()
        self.consume_events()
        self.set_interval(1 / self.refresh_hz, self.tick, name="afetch-refresh")
        self.call_after_refresh(self.tick)
        if self._startup_notice:
            self.notify(self._startup_notice, timeout=15, markup=False)

    def on_ready(self) -> None:
        """The first frame is on the screen: queue the rest of the command line's list."""
        if self.backlog is not None:
            self.backlog.start()

    def on_unmount(self) -> None:
        self._collections.remove()
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
                self.notify(
                    f"{len(event.ids)} queued by {event.source}", title="Added", markup=False
                )
            elif not self.model.apply(event):
                self._resync()
            if self.dashboard.awaiting_events:
                # after the events already queued (the command's among them), not per event
                self.dashboard.awaiting_events = False
                self.call_later(self.tick)

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
        """Apply the changes collected since the last tick, under a dialog too: the rows
        it leaves in sight stay true (they froze at what they said when it opened).

        Notices wait while a dialog is open, so a toast never lands on its buttons.
        """
        if not self.is_running:  # shutting down: the widgets may already be gone
            return
        screen = self.dashboard
        if not screen.is_mounted:
            return
        if self.screen is screen:
            self._flush_notices()
            screen.show_notice(self._queueing(newest_notice(self._notifications)))
        self.model.sample_speeds()
        self.model.refresh_view()
        changes = self.model.take()
        if not changes:
            return
        with self.batch_update():
            screen.apply(changes)

    def _queueing(self, notice: Text | None) -> Text | None:
        """While the backlog queues, its progress leads the notice line; an error that
        stopped it is said once."""
        backlog = self.backlog
        if backlog is None:
            return notice
        if backlog.error is not None and not self._backlog_failed:
            self._backlog_failed = True
            self.notify(
                f"{backlog.total - backlog.queued:,} URLs not queued: {backlog.error}",
                title="Queueing stopped",
                severity="error",
                timeout=30,
                markup=False,
            )
        if not backlog.running:
            return notice
        line = Text(f"queueing {backlog.queued:,}/{backlog.total:,}", style=DIM)
        if notice is not None:
            line.append(" · ", style=DIM)
            line.append_text(notice)
        return line

    def _hook_finished(self, event: HookFinished) -> None:
        if not event.ok:
            self._notices.append(event)

    def _finished(self, snap: DownloadSnapshot) -> None:
        self._notices.append(snap)

    def _flush_notices(self) -> None:
        """One running summary of what finished, updated in place; failures grouped by
        reason. A single failure or failed hook gets its own toast."""
        notices, self._notices = self._notices, []
        if not notices:
            return
        hooks = [n for n in notices if isinstance(n, HookFinished)]
        if len(hooks) == 1:
            self.notify(
                hooks[0].message,
                title="on-complete command failed",
                severity="warning",
                markup=False,
            )
        elif hooks:
            self.notify(
                f"{plural(len(hooks), 'file')}' commands failed.",
                title="on-complete",
                severity="warning",
            )
        snaps = [n for n in notices if isinstance(n, DownloadSnapshot)]
        if not snaps:
            return
        self._summary.add(snaps)
        title, message, failed = self._summary.render()
        counts = self.model.counts()
        fresh_failure = time.monotonic() - self._summary.failed_at < SUMMARY_SECONDS
        if not fresh_failure and self._summary.completed > QUIET_AFTER and counts.unfinished:
            # A long run of completions is counted in the status bar and the box title:
            # a toast for it would sit on the screen for the whole run. Say it once done.
            return
        if self._summary_toast is not None:
            self._unnotify(self._summary_toast, refresh=False)
        toast = Notification(
            message,
            title,
            "error" if failed else "information",
            SUMMARY_SECONDS + (4 if failed else 0),
            markup=False,
        )
        self._summary_toast = toast
        self.post_message(Notify(toast))

    # -- quitting --------------------------------------------------------------------

    async def action_quit(self) -> None:
        counts = self.model.counts()
        stopping = counts.active + counts.queued + counts.retrying
        if not stopping:
            self.exit()
            return
        said = []
        if counts.active:
            said.append(f"{counts.active} running")
        waiting = counts.queued + counts.retrying
        if waiting:
            said.append(f"{waiting} waiting")
        message = " and ".join(said) + f": {self._after_quit}"
        if counts.paused:
            message += f" {plural(counts.paused, 'paused download')} stay paused."

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.exit()

        await self.push_screen(
            ConfirmDialog("Quit afetch?", message, yes="Quit", no="Stay"),
            callback=confirmed,
        )

    @property
    def _after_quit(self) -> str:
        """What quitting does to unfinished downloads (they run here, or in another afetch)."""
        owner = self.manager.owner
        return f"they go on in {owner}." if owner else "they stop now and resume next time."

    # -- command palette -------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's own commands, then each dashboard action once, titled by its tooltip
        and with its key as the user types it."""
        yield from super().get_system_commands(screen)
        if screen is not self.dashboard:
            return
        seen = {"app.quit"}  # Textual's own Quit asks the same question
        for binding in screen.BINDINGS:
            if not isinstance(binding, Binding) or binding.action in seen:
                continue
            seen.add(binding.action)
            yield SystemCommand(
                binding.tooltip or binding.description,
                f"key: {key_label(binding.key)}",
                partial(screen.run_action, binding.action),
            )


class Summary:
    """Counts of finished downloads for the running summary toast (reset when it fades)."""

    def __init__(self) -> None:
        self.completed = 0
        self.failures: dict[int, str] = {}
        """Why each download failed (dropped if a retry then completes it)."""
        self.last: DownloadSnapshot | None = None
        self.stamp = 0.0
        self.failed_at = float("-inf")

    @property
    def failed(self) -> Counter[str]:
        return Counter(self.failures.values())

    def add(self, snaps: list[DownloadSnapshot]) -> None:
        now = time.monotonic()
        if now - self.stamp > SUMMARY_SECONDS:
            self.completed = 0
            self.failures.clear()
        self.stamp = now
        for snap in snaps:
            if snap.state is State.COMPLETED:
                self.completed += 1
                self.failures.pop(snap.id, None)
            else:
                self.failures[snap.id] = snap.error or "failed"
                self.failed_at = now
            self.last = snap

    def render(self) -> tuple[str, str, int]:
        failed = len(self.failures)
        last = self.last
        if self.completed + failed == 1 and last is not None:
            if last.state is State.COMPLETED:
                return "Download complete", f"✓ {display_name(last)}", 0
            return "Download failed", f"✗ {display_name(last)}: {last.error or 'failed'}", 1
        heading = []
        if self.completed:
            heading.append(f"✓ {self.completed} completed")
        if failed:
            heading.append(f"✗ {failed} failed")
        lines = [" · ".join(heading)]
        for reason, count in self.failed.most_common(3):
            lines.append(f"  {count}x {reason}")
        if len(self.failed) > 3:
            lines.append(f"  … {len(self.failed) - 3} other reasons")
        return "", "\n".join(lines), failed


async def run_dashboard(manager: Manager, **options: Any) -> None:
    """Run the dashboard on the current loop until the user quits."""
    await AfetchApp(manager, **options).run_async()
