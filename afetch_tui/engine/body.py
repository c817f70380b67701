"""The response body, copied to the ``.part`` through aiofiles: one loop for every copy.

A whole file, a ranged region and a takeover all run `copy_body`. What differs is only
the `Region` it fills: a whole file is a region that never ends, a ranged one ends where
its range does, and its end may move closer meanwhile (another connection took over the
rest); the loop stops there.

Each copy writes through its own `PartWriter`: an unbuffered ``aiofiles`` handle on the
``.part``, positioned once at the region's start. The pieces aiohttp received are handed
over in batches with ``writelines`` as they are (never joined, never copied), one batch in
flight while the next is read off the socket. A batch is counted (``done``) only once it
has landed in the file, so a checkpoint, which records what is counted, never covers bytes
that are not written.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable

import aiofiles
import aiohttp
from aiofiles.threadpool.binary import AsyncFileIO

from afetch_tui.engine.download import Download
from afetch_tui.engine.limits import TokenBucket, read_size, throttle
from afetch_tui.engine.partfile import PartFile, PartialWrite, TrackedExecutor
from afetch_tui.engine.regions import Region

BATCH_BYTES = 4 * 1024 * 1024
"""Bytes gathered, at most, for one ``writelines`` (a thread hop)."""
MIN_WRITE = 256 * 1024
MAX_HOLD = 0.25
"""When data trickles in, a batch is written once it holds MIN_WRITE bytes or is MAX_HOLD
seconds old: a write (a thread hop) per tiny chunk cost a third of a core for 50 slow
downloads."""
RECV_SIZE = 1024 * 1024
"""Bytes asked of the socket per read (asyncio's default is 256 KiB)."""
UNBOUNDED = sys.maxsize
"""The end of a whole file's region: the body decides where it stops."""


class PartWriter:
    """One connection's unbuffered aiofiles handle on the ``.part``, positioned once.

    ``write`` returns only when every byte landed; otherwise `PartialWrite` says how many
    did, read from the descriptor's offset (unbuffered: the file's own position). Every
    thread call of the handle is tracked, and ``close`` waits for all of them: a cancelled
    ``await`` never lets the descriptor be closed under a write still running.
    """

    def __init__(self, handle: AsyncFileIO, executor: TrackedExecutor, position: int) -> None:
        self._handle = handle
        self._executor = executor
        self.position = position
        """Where the next batch lands."""

    @classmethod
    async def open(cls, part: PartFile, position: int) -> PartWriter:
        """A handle on the same file as ``part`` (never a new one), at ``position``."""
        executor = TrackedExecutor(part.executor)
        handle = await aiofiles.open(
            part.path, "r+b", buffering=0, executor=executor, opener=part.reopen
        )
        writer = cls(handle, executor, position)
        try:
            await handle.seek(position)
        except BaseException:
            await asyncio.shield(writer.close())
            raise
        return writer

    async def write(self, batch: list[bytes], size: int) -> None:
        """Write ``batch`` (``size`` bytes) at `position`, however the kernel splits it."""
        handle, start = self._handle, self.position
        pending: list[bytes] | list[memoryview] = batch
        while True:
            try:
                await handle.writelines(pending)
            except OSError as exc:
                raise PartialWrite(exc, self._landed(start)) from exc
            landed = self._landed(start)
            if landed >= size:
                break
            # A short write (raw writes may stop early, and writelines does not say so):
            # write the rest, which either lands or raises the reason it could not.
            pending = _after(batch, landed)
        self.position = start + size

    def _landed(self, start: int) -> int:
        """Bytes written since ``start``: the descriptor's offset, which an unbuffered
        handle's writes move by exactly what landed. Read on the loop: ``lseek`` with
        SEEK_CUR only reads the offset (no I/O), and no call of this handle is running."""
        try:
            return max(0, os.lseek(self._handle.fileno(), 0, os.SEEK_CUR) - start)
        except OSError:
            return 0  # cannot tell: count nothing, the next attempt writes it again

    async def close(self) -> None:
        """Close once nothing is in flight (callers shield this from cancellation)."""
        await self._executor.drained()
        await self._handle.close()


def _after(batch: list[bytes], skip: int) -> list[memoryview]:
    """The bytes of ``batch`` after its first ``skip``, as views (no copy)."""
    rest: list[memoryview] = []
    for chunk in batch:
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        rest.append(memoryview(chunk)[skip:])
        skip = 0
    return rest


class _Landing:
    """The batch in flight (at most one) and the counting of what landed."""

    def __init__(self, d: Download, writer: PartWriter, region: Region) -> None:
        self.d = d
        self.writer = writer
        self.region = region
        self.queued_end = region.position
        """The file offset after the last byte handed to the writer."""
        self._flying: asyncio.Future[None] | None = None
        self.written: Callable[[], None] | None = None

    @property
    def idle(self) -> bool:
        return self._flying is None or self._flying.done()

    async def submit(self, batch: list[bytes], size: int) -> None:
        """Hand ``batch`` to the writer once the batch before it has landed."""
        await self.settle()
        await self.d.hasher.feed(self.queued_end, batch)
        self.queued_end += size
        self._flying = asyncio.ensure_future(self._land(batch, size))

    async def _land(self, batch: list[bytes], size: int) -> None:
        """Write one batch and count it the moment it has landed (not when the next is
        ready: a checkpoint taken meanwhile records it)."""
        try:
            await self.writer.write(batch, size)
        except PartialWrite as exc:
            self.count(exc.written)
            raise
        self.count(size)
        if self.written is not None:
            self.written()

    async def settle(self) -> None:
        """Wait for the batch in flight, however often we are cancelled meanwhile (a
        cancellation is raised after it, so counts stay true)."""
        flying = self._flying
        if flying is None:
            return
        self._flying = None
        cancelled = False
        while not flying.done():
            try:
                await asyncio.shield(flying)
            except asyncio.CancelledError:
                cancelled = True
            except Exception:
                break  # its outcome is read just below
        flying.result()
        if cancelled:
            raise asyncio.CancelledError

    def count(self, size: int) -> None:
        region = self.region
        size = max(0, min(size, region.end - region.position))  # a taken-over tail
        region.done += size
        self.d.backoff_step = 0  # progress: a failure now waits the shortest time again
        self.d.done += size


async def copy_body(
    response: aiohttp.ClientResponse,
    writer: PartWriter,
    region: Region,
    d: Download,
    *,
    buckets: tuple[TokenBucket, ...],
    chunk_size: int,
    arrived: Callable[[int], None],
    written: Callable[[], None] | None = None,
    taken: int = 0,
) -> None:
    """Stream the body into ``region`` of the file, from its position to its end.

    Without a rate cap, the pieces aiohttp received are taken as they are (``readchunk``
    joins nothing) and handed over once nothing more is buffered and the writer is free
    (or the batch is big): large writes when data pours in, prompt ones when it trickles.
    Under a cap, reads are small so the rate stays smooth. ``taken`` is how much of the
    body was read before (the overlap check); ``arrived`` counts bytes toward the rates as
    they come, ``written`` is called each time a batch has landed.
    """
    content = response.content
    widen_reads(response)
    landing = _Landing(d, writer, region)
    landing.written = written
    batch: list[bytes] = []
    batched = 0
    held_since = time.monotonic()
    try:
        while True:
            if any(bucket.rate is not None for bucket in buckets):
                chunk = await content.read(read_size(buckets, chunk_size))
                await throttle(buckets, len(chunk))
                limited = True
            else:
                hold_left = _hold_left(batch, content, taken, held_since)
                if hold_left is None:  # the common case: no timer per chunk
                    chunk, chunk_end = await content.readchunk()
                elif (read := await _read_within(content, hold_left)) is None:
                    # held MAX_HOLD and the server went silent: write it now
                    await landing.submit(batch, batched)
                    batch, batched = [], 0
                    continue
                else:
                    chunk, chunk_end = read
                if not chunk and chunk_end:
                    continue  # the end of one HTTP chunk, not of the body
                limited = False
            if chunk:
                taken += len(chunk)
                room = region.end - landing.queued_end - batched
                if len(chunk) >= room:  # the region ends in this chunk
                    if room > 0:
                        chunk = chunk[:room]
                        arrived(room)
                        batch.append(chunk)
                        batched += room
                    if batch:
                        await landing.submit(batch, batched)
                    break
                arrived(len(chunk))
                batch.append(chunk)
                batched += len(chunk)
            if not batch:
                break  # the body ended and everything is handed over
            now = time.monotonic()
            if len(batch) == 1:
                held_since = now
            if (
                not chunk
                or limited
                or batched >= BATCH_BYTES
                or (
                    landing.idle
                    and content.total_bytes <= taken  # nothing more buffered
                    and (batched >= MIN_WRITE or now - held_since >= MAX_HOLD)
                )
            ):
                await landing.submit(batch, batched)
                batch, batched = [], 0
            if not chunk:
                break
        await landing.settle()
    except aiohttp.ClientPayloadError:
        room = region.end - landing.queued_end - batched
        if room > 0 and (rest := _salvage(content)[:room]):
            arrived(len(rest))
            batch.append(rest)
            batched += len(rest)
        if batch:
            await landing.submit(batch, batched)
        await landing.settle()
        raise
    finally:
        await landing.settle()  # a failure or cancellation while one was in flight


def _hold_left(
    batch: list[bytes], content: aiohttp.StreamReader, taken: int, held_since: float
) -> float | None:
    """How long the next read may wait before the held ``batch`` is written anyway: a
    read that waits for the network (nothing buffered) must not hold it past MAX_HOLD.
    None: no limit (nothing is held, or the read returns at once)."""
    if not batch or content.total_bytes > taken:
        return None
    return max(0.0, MAX_HOLD - (time.monotonic() - held_since))


async def _read_within(content: aiohttp.StreamReader, seconds: float) -> tuple[bytes, bool] | None:
    """``readchunk``, or None if nothing came within ``seconds`` (cancelling the wait
    consumes nothing; aiohttp's own read timeout still raises)."""
    hold = asyncio.timeout(seconds)
    try:
        async with hold:
            return await content.readchunk()
    except TimeoutError:
        if hold.expired():
            return None
        raise


def widen_reads(response: aiohttp.ClientResponse) -> None:
    """Let the transport read bigger pieces per system call (fewer, larger chunks)."""
    transport = response.connection.transport if response.connection else None
    if transport is not None and hasattr(transport, "max_size"):
        transport.max_size = RECV_SIZE


def _salvage(content: aiohttp.StreamReader) -> bytes:
    """The body bytes that arrived before the connection broke.

    aiohttp raises a payload error before handing out what it had already buffered (up
    to ``read_bufsize``); those bytes are good, and keeping them saves a re-download.
    ``_read_nowait`` is the private call ``readany`` itself uses, hence the guard.
    """
    read_nowait = getattr(content, "_read_nowait", None)
    if read_nowait is None:
        return b""
    try:
        return bytes(read_nowait(-1))
    except Exception:
        return b""
