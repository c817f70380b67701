"""The dashboard shows a hostile server's text visibly and never obeys it."""

from __future__ import annotations

import io
import time
from collections.abc import Callable

from faultserver import FaultServer
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from afetch_tui.engine.events import State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.ui.app import AfetchApp

EVIL = b"\x1b[2J\x1b[31mPWNED\x1b]0;title\x07\x9b\xe9"
SHOWN = "\\x1b[2J\\x1b[31mPWNED\\x1b]0;title\\x07\\x9b\\xe9"
UNSAFE = ("\x1b", "\x07", "\x9b", "pw@")


async def until(pilot: Pilot, predicate: Callable[[], object], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await pilot.pause(0.02)


def plain(renderable: object) -> str:
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


async def test_reason_phrase_and_password_are_shown_inert(
    server: FaultServer, manager: DownloadManager
) -> None:
    url = server.add_raw("/evil.bin", 404, reason=b"Not Found " + EVIL)
    url = url.replace("http://", "http://bob:pw@")
    await manager.add(url)
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await until(pilot, lambda: [d.state for d in manager.downloads()] == [State.FAILED])
        await until(pilot, lambda: any("failed" in (n.title or "") for n in app._notifications))
        toast = next(n for n in app._notifications if "failed" in (n.title or ""))
        await pilot.press("enter")
        await pilot.pause()
        details = plain(app.screen.query_one("#details-body", Static).content)
        assert SHOWN in details  # the state line and the log
        assert url.replace(":pw@", ":***@") in details
        screen = app.export_screenshot()
        for text in (toast.message, details, screen):
            assert not any(bad in text for bad in UNSAFE), text
        assert SHOWN in toast.message
        assert "PWNED" in screen
