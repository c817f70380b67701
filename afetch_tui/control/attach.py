"""The dashboard attached to a running ``afetch serve``: quitting leaves the downloads running."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from afetch_tui.config import EXIT_FAILED, EXIT_GRACE, EXIT_OK, on_termination
from afetch_tui.control.client import Connection
from afetch_tui.control.remote import RemoteManager


async def run_attached(connection: Connection, *, headless: bool = False, **options: Any) -> int:
    """Run the dashboard over ``connection`` until the user quits or the other afetch does.

    ``options`` go to the app; ``headless`` runs it without a terminal (tests).
    """
    from afetch_tui.ui.app import AfetchApp

    manager = await RemoteManager.attach(connection)
    app = AfetchApp(manager, **options)

    async def exit_when_lost() -> None:
        await connection.lost.wait()
        app.exit()

    watcher = asyncio.create_task(exit_when_lost())
    try:
        with on_termination(
            lambda signum: app.exit(), grace=EXIT_GRACE
        ):  # SIGTERM, SIGHUP: detach, as `q`
            await app.run_async(headless=headless)
    finally:
        watcher.cancel()
        lost = connection.lost.is_set()
        await manager.close()
    if lost:
        print(f"afetch: {connection.lost_reason}", file=sys.stderr)
        return EXIT_FAILED
    print(f"afetch: the downloads go on in {connection.owner}", file=sys.stderr)
    return EXIT_OK
