"""What engine tests import: the wait guard, fast options and the fixtures' types.

Kept out of ``conftest.py`` so that ``from engine_helpers import ...`` names one module
whichever test directories run together (each directory has its own ``conftest``, and
``from conftest import`` would get whichever was imported last).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from afetch_tui.engine.events import DownloadSnapshot
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions

GUARD = 15.0
"""Seconds any single wait may take before the test fails instead of hanging."""

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
