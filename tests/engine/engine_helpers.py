"""What engine tests import: the wait guard, fast options and the fixtures' types.

Kept out of ``conftest.py`` so that ``from engine_helpers import ...`` names one module
whichever test directories run together (each directory has its own ``conftest``, and
``from conftest import`` would get whichever was imported last).
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from afetch_tui.engine.events import DownloadSnapshot
from afetch_tui.engine.journal import boot_id
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.records import Record
from afetch_tui.engine.store import Store

GUARD = 15.0
"""Seconds any single wait may take before the test fails instead of hanging."""


def cpu_seconds() -> float:
    """CPU time (user and system) of this process and its reaped children, such as the page
    parser's: a measure of work that, unlike the clock, does not grow when other processes
    share the cores."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


MakeManager = Callable[..., Awaitable[DownloadManager]]
Settle = Callable[..., Awaitable[None]]
Fetch = Callable[..., Awaitable[DownloadSnapshot]]
WaitUntil = Callable[..., Awaitable[None]]


def fast_options(**overrides: Any) -> ManagerOptions:
    """Options that keep retries and timeouts short enough for tests."""
    values: dict[str, Any] = {
        "trust_env": False,
        "retry_base": 0.02,
        "retry_cap": 0.1,
        "timeout": 5.0,
        "progress_interval": 0.05,
    }
    values.update(overrides)
    return ManagerOptions(**values)


async def resume_stored(
    directory: Path, state: Path, options: dict[str, Any] | None = None, **fields: Any
) -> DownloadManager:
    """A started manager on a store that holds one download (``fields`` of its `Record`)
    as an interrupted earlier run left it: running, in this boot."""
    options = options or {}
    values: dict[str, Any] = {
        "id": 1,
        "directory": str(directory),
        "requested_name": None,
        "headers": {},
        "state": "downloading",
        "retries": 0,
        "error": None,
        "rank": 1.0,
        "limit_rate": None,
        "added_at": time.time(),
        "finished_at": None,
        "log": [],
        "boot_id": boot_id(),
        "etag": None,
        "last_modified": None,
        "total": None,
    }
    values.update(fields)
    store = await Store.open(state)
    await store.save([Record(**values)])
    manager = DownloadManager(directory, options=fast_options(**options), store=store)
    await manager.start()
    return manager


async def close_stored(manager: DownloadManager) -> None:
    await asyncio.wait_for(manager.close(), GUARD)
    assert manager.store is not None
    await manager.store.close()
