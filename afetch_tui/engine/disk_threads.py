"""The manager's thread pool for file work: made when it starts, shut when it closes.

Every blocking file call of a download runs here: the body's writes and the checkpoints
(`body`, `partfile`), and the name claims, publishes and batched small files (`held_names`,
`groupio`). None of it uses asyncio's default executor, and no thread exists at import or
before `DownloadManager.start`.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")

DISK_THREADS = 8
"""Threads for file work: each connection has at most one batch in flight."""


class DiskThreads:
    """A pool started and shut by its owner; `run` sends one blocking call to it."""

    def __init__(self, threads: int = DISK_THREADS) -> None:
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="afetch-disk")

    @property
    def pool(self) -> Executor:
        if self._pool is None:
            raise RuntimeError("the disk threads are not started")
        return self._pool

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on one of the threads."""
        call = functools.partial(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.pool, call)

    async def close(self) -> None:
        """Shut the pool once its calls have ended (the owner has stopped every transfer)."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown)
