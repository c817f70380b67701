"""What every action of the main screen works with, and the rules they share.

An action applies to the marked downloads when there are marks, else to the one under
the cursor; a manager command's error is a toast; toasts never read text as markup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.screen import Screen

from afetch_tui.engine import AfetchError, DownloadSnapshot
from afetch_tui.ui.format import plural
from afetch_tui.ui.model import display_name
from afetch_tui.ui.widgets.downloads_table import DownloadsTable

if TYPE_CHECKING:
    from textual.app import App

    from afetch_tui.engine import Manager
    from afetch_tui.ui.model import ViewModel

T = TypeVar("T")


def describe(snaps: list[DownloadSnapshot]) -> str:
    """“name” for one download, “N downloads” for several."""
    return f"“{display_name(snaps[0])}”" if len(snaps) == 1 else plural(len(snaps), "download")


class ActionContext:
    """The screen, its model and manager, and the helpers every action uses.

    `repaint` paints what the model holds now; `sent` is told a manager command went
    through (the screen repaints again once its events are folded in)."""

    def __init__(
        self,
        screen: Screen[Any],
        model: ViewModel,
        manager: Manager,
        *,
        repaint: Callable[[], None],
        sent: Callable[[], None],
    ) -> None:
        self.screen = screen
        self.model = model
        self.manager = manager
        self.repaint = repaint
        self._sent = sent

    @property
    def app(self) -> App[Any]:
        return self.screen.app

    @property
    def table(self) -> DownloadsTable:
        return self.screen.query_one(DownloadsTable)

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
        self.screen.notify(message, markup=False, **options)

    async def call(self, awaitable: Awaitable[T]) -> T | None:
        """Await a manager command, showing its error (if any) as a notification."""
        try:
            result = await awaitable
        except (AfetchError, OSError) as exc:
            self.say(str(exc), title="afetch", severity="error")
            return None
        self._sent()
        return result
