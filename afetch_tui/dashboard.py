"""``afetch``: open the persistent queue, queue the command line's URLs, run the dashboard."""

from __future__ import annotations

import asyncio
import sqlite3
import sys

from afetch_tui.config import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Config, queue_entries
from afetch_tui.engine.errors import InputError, StoreError
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.store import Store


def open_dashboard(config: Config) -> int:
    try:
        return asyncio.run(_run(config))
    except (StoreError, sqlite3.Error) as exc:
        print(f"afetch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except InputError as exc:
        print(f"afetch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


async def _run(config: Config) -> int:
    from afetch_tui.ui.app import run_dashboard

    store = await Store.open(config.state)
    if store.notice:
        print(f"afetch: {store.notice}", file=sys.stderr)
    manager = DownloadManager(config.directory, options=config.options, store=store)
    try:
        await manager.start()
        if config.limit_overrides:
            await manager.set_limits(**config.limit_overrides)
        await queue_entries(manager, config)
        await run_dashboard(manager)
    finally:
        await manager.close()
        await store.close()
    return EXIT_OK
