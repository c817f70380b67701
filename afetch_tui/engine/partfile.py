"""The ``.part`` file as a whole: opened, measured, cut, read back and fsynced in threads.

The body itself is written by `body.PartWriter`, one aiofiles handle per connection on
this same file. Both run on the manager's thread pool, through a `TrackedExecutor` each:
a cancelled ``await`` does not stop a thread that is already at work, so every call is
tracked by its thread's own future, and ``close`` waits for all of them: the descriptor is
never closed (and its number reused) under a call still in flight.

A ``.part`` is only ever created by claiming its name (`file_ops.claim`, O_EXCL). Opening it
here never creates it: if it is gone, the name may not be this download's any more (a
cancel deleted it and released the name, or someone removed it), so `PartFile.open`
raises `FileNotFoundError` and the download starts over by claiming a name again, instead
of writing into a ``.part`` another download may hold by now.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")

_REOPEN = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
"""How an existing ``.part`` is opened: never O_CREAT, never through a symlink."""


class TrackedExecutor(Executor):
    """A view of a shared pool that remembers which of its calls are still running."""

    def __init__(self, pool: Executor) -> None:
        self._pool = pool
        self._in_flight: set[Future[Any]] = set()

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future = self._pool.submit(fn, *args, **kwargs)
        self._in_flight.add(future)
        future.add_done_callback(self._in_flight.discard)
        return future

    async def drained(self) -> None:
        """Return once no call submitted here is running (cancelled awaits included)."""
        while self._in_flight:
            await asyncio.wait([asyncio.wrap_future(f) for f in list(self._in_flight)])


class PartFile:
    def __init__(self, path: Path, fd: int, executor: TrackedExecutor) -> None:
        self.path = path
        self.fd = fd
        self.executor = executor

    @classmethod
    async def open(cls, path: Path, pool: Executor) -> PartFile:
        """Open the existing ``.part`` at ``path``; `FileNotFoundError` if it is gone."""
        executor = TrackedExecutor(pool)
        fd = await asyncio.wrap_future(executor.submit(os.open, path, _REOPEN))
        return cls(path, fd, executor)

    def reopen(self, path: str, flags: int) -> int:
        """An opener for another handle on this same file (a thread calls it).

        Opens ``path`` again (never creating it) and checks it is still this file, not
        one put in its place since.
        """
        fd = os.open(path, _REOPEN)
        if not os.path.samestat(os.fstat(fd), os.fstat(self.fd)):
            os.close(fd)
            raise FileNotFoundError(2, "the .part was replaced", path)
        return fd

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.wrap_future(self.executor.submit(fn, self.fd, *args))

    async def size(self) -> int:
        return (await self._call(os.fstat)).st_size

    async def truncate(self, size: int) -> None:
        await self._call(os.ftruncate, size)

    async def read_at(self, size: int, offset: int) -> bytes:
        return await self._call(os.pread, size, offset)

    async def sync(self) -> None:
        """fsync the file: what every handle on it wrote (fsync is per file, not per fd)."""
        await self._call(os.fsync)

    async def close(self) -> None:
        """Close once nothing is in flight (callers shield this from cancellation)."""
        await self.executor.drained()
        await asyncio.wrap_future(self.executor.submit(os.close, self.fd))


class PartialWrite(OSError):
    """A write failed after ``written`` bytes had landed."""

    def __init__(self, error: OSError, written: int) -> None:
        super().__init__(error.errno, error.strerror)
        self.written = written
