"""Fixtures for engine tests that drive a real `DownloadManager` against the FaultServer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import GUARD, Fetch, MakeManager, Settle, WaitUntil, fast_options

from afetch_tui.engine.events import DownloadSnapshot
from afetch_tui.engine.manager import DownloadManager


@pytest.fixture
async def make_manager(tmp_path: Path) -> AsyncIterator[MakeManager]:
    """Factory: ``await make_manager(directory=None, **option_overrides)`` -> started manager.

    Every manager made is closed at teardown.
    """
    made: list[DownloadManager] = []

    async def make(directory: Path | None = None, **overrides: Any) -> DownloadManager:
        manager = DownloadManager(directory or tmp_path, options=fast_options(**overrides))
        await manager.start()
        made.append(manager)
        return manager

    try:
        yield make
    finally:
        for manager in made:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(manager.close(), GUARD)


@pytest.fixture
async def manager(make_manager: MakeManager) -> DownloadManager:
    """A started manager writing to ``tmp_path`` with fast retries (closed at teardown)."""
    return await make_manager()


async def _settle(manager: DownloadManager, limit: float = GUARD) -> None:
    await asyncio.wait_for(manager.wait(), limit)


@pytest.fixture
def settle() -> Settle:
    """``await settle(manager)``: wait until nothing is queued, running or retrying.

    Fails with TimeoutError rather than hanging.
    """
    return _settle


@pytest.fixture
def fetch() -> Fetch:
    """``await fetch(manager, url, **add_kwargs)``: add one URL, wait until the manager is
    idle, return the download's snapshot."""

    async def run(
        manager: DownloadManager, url: str, *, limit: float = GUARD, **add: Any
    ) -> DownloadSnapshot:
        download_id = await manager.add(url, **add)
        await _settle(manager, limit)
        return manager.download(download_id)

    return run


@pytest.fixture
def wait_until() -> WaitUntil:
    """``await wait_until(predicate)``: poll a client-side condition on the test's loop."""

    async def run(
        predicate: Callable[[], object], limit: float = GUARD, interval: float = 0.005
    ) -> None:
        async def poll() -> None:
            while not predicate():  # noqa: ASYNC110 - polls engine state, no event to wait on
                await asyncio.sleep(interval)

        await asyncio.wait_for(poll(), limit)

    return run
