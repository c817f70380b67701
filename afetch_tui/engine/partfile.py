"""The ``.part`` file, written at explicit offsets from worker threads.

Chunks come off aiohttp as separate ``bytes`` objects; ``os.pwritev`` hands a batch of
them to the kernel in one call without joining them first, so the body is never copied
in Python. Positional writes also let several connections fill regions of one file.
aiofiles offers neither, which is why the hot path does not use it (measured: joining
and writing 1 GiB through ``StreamReader.read`` + aiofiles cost about 0.3 s more).

A cancelled ``await`` does not stop a thread that is already writing, so every operation
is tracked by its thread's own future, and ``close`` waits for all of them: the
descriptor is never closed (and its number reused) under a write still in flight.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

MAX_IOV = 512
"""At most this many buffers per ``pwritev`` (Linux allows 1024)."""

_IO = ThreadPoolExecutor(max_workers=8, thread_name_prefix="afetch-part")


class PartFile:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._in_flight: set[Future[Any]] = set()

    @classmethod
    async def open(cls, path: Path) -> PartFile:
        return cls(await asyncio.wrap_future(_IO.submit(_open, path)))

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        future = _IO.submit(fn, self.fd, *args)
        self._in_flight.add(future)
        future.add_done_callback(self._in_flight.discard)
        return await asyncio.wrap_future(future)

    async def size(self) -> int:
        return (await self._call(os.fstat)).st_size

    async def truncate(self, size: int) -> None:
        await self._call(os.ftruncate, size)

    async def read_at(self, size: int, offset: int) -> bytes:
        return await self._call(os.pread, size, offset)

    async def write_at(self, chunks: list[bytes], offset: int) -> None:
        """Write every byte of ``chunks`` at ``offset``, however the kernel splits it.

        A failure (a full disk) raises `PartialWrite`, which says how much did land.
        """
        await self._call(_pwrite_all, chunks, offset)

    async def sync(self) -> None:
        await self._call(os.fsync)

    async def close(self) -> None:
        """Close once nothing is in flight (callers shield this from cancellation)."""
        while self._in_flight:
            await asyncio.wait([asyncio.wrap_future(f) for f in list(self._in_flight)])
        await asyncio.wrap_future(_IO.submit(os.close, self.fd))


def _open(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)


class PartialWrite(OSError):
    """A write failed after ``written`` bytes had landed."""

    def __init__(self, error: OSError, written: int) -> None:
        super().__init__(error.errno, error.strerror)
        self.written = written


def _pwrite_all(fd: int, chunks: list[bytes], offset: int) -> None:
    views = [memoryview(chunk) for chunk in chunks if chunk]
    start = offset
    while views:
        try:
            written = os.pwritev(fd, views[:MAX_IOV], offset)
        except OSError as exc:
            raise PartialWrite(exc, offset - start) from exc
        offset += written
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]
