"""Fixtures for the UI tests: a fixed time zone, deterministic scenes, a live manager."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from afetch_tui.engine.events import Limits
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """Log timestamps are local time: pin the zone so snapshots match everywhere."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.fixture
async def manager(tmp_path: Path) -> AsyncIterator[DownloadManager]:
    """A started manager writing into a temporary directory (no fsync, quick retries)."""
    options = ManagerOptions(fsync=False, retries=1, retry_base=0.05, timeout=5.0)
    async with DownloadManager(tmp_path, limits=Limits(), options=options) as m:
        yield m
