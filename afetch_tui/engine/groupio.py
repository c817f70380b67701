"""Blocking calls run in batches: one thread hop for every call waiting at that moment.

A thread hop per small file roughly doubled the wall time of 1000 x 16 KiB downloads
(measured: 0.16 s writing on the loop, 0.30 s with one hop each, 0.20 s batched), while
writing on the loop itself would block it on a slow disk. Batching, like a database's
group commit, keeps the loop free and the hops few. (aiofiles, which writes the streamed
bodies, is not used here: it sends each call to a thread, so open, write and close would
be three hops per file where this makes one per batch of files.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from afetch_tui.engine.disk_threads import DiskThreads

T = TypeVar("T")

_Call = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], "asyncio.Future[Any]"]


class GroupRunner:
    """Runs calls in batches on the manager's `DiskThreads`."""

    def __init__(self, disk: DiskThreads) -> None:
        self._disk = disk
        self._waiting: list[_Call] = []
        self._draining = False
        self._drainer: asyncio.Task[None] | None = None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append((fn, args, kwargs, future))
        if not self._draining:
            self._draining = True
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                outcomes = await self._disk.run(_run_all, batch)
                for (_, _, _, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self._draining = False


def _run_all(batch: list[_Call]) -> list[tuple[bool, Any]]:
    outcomes: list[tuple[bool, Any]] = []
    for fn, args, kwargs, _ in batch:
        try:
            outcomes.append((True, fn(*args, **kwargs)))
        except Exception as exc:
            outcomes.append((False, exc))
    return outcomes
