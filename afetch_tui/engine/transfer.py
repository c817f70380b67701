"""One attempt at one download over one connection: request, validate, stream, publish.

An attempt either returns with the file complete under its final name, or raises
`DownloadError` saying whether (and from where) another attempt may continue.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import time
from collections.abc import Awaitable, Iterator

import aiohttp

from afetch_tui.engine import file_ops, http, name_rules
from afetch_tui.engine.body import UNBOUNDED, PartWriter, copy_body
from afetch_tui.engine.download import Download
from afetch_tui.engine.errors import DownloadError
from afetch_tui.engine.events import State
from afetch_tui.engine.partfile import PartFile
from afetch_tui.engine.regions import MIN_STEAL, Region, safe_prefix
from afetch_tui.engine.segmented import SegmentedCopy
from afetch_tui.engine.transfer_context import TransferContext
from afetch_tui.format import size

OVERLAP = 64 * 1024
"""Bytes re-fetched and compared when resuming without a validator."""
SMALL_BODY = 512 * 1024
"""Bodies up to this size are read whole and written in one thread hop."""
CHECKPOINT_SECONDS = 0.05
CHECKPOINT_BYTES = 16 * 1024 * 1024
"""A checkpoint (record the offset written) is taken this often while streaming."""
SYNC_SECONDS = 2.0
"""At most this often a checkpoint also fsyncs, for an offset that survives a power cut."""


class Transfer:
    def __init__(self, download: Download, ctx: TransferContext) -> None:
        self.d = download
        self.ctx = ctx
        self._synced_at = time.monotonic()

    def headers(self) -> dict[str, str]:
        close = self.ctx.slots.short_of_descriptors
        return self.ctx.client.file_headers(self.d.headers, close=close)

    async def run(self) -> None:
        d, ctx = self.d, self.ctx
        if d.restart:
            d.done = d.checkpoint = d.synced = 0
            d.total, d.etag, d.last_modified, d.restart = None, None, None, False
            d.regions = None
            ctx.events.changed(d)
        if d.regions:
            with self.mapped_errors():
                ctx.events.set_state(d, State.CONNECTING)
                await SegmentedCopy(self).run(None)
                await self._finish()
            return
        offset = d.done
        headers = self.headers()
        overlap = 0
        if offset > 0:
            validator = http.if_range(d.etag, d.last_modified)
            if validator:
                headers["If-Range"] = validator
            else:
                overlap = min(offset, OVERLAP)
            headers["Range"] = f"bytes={offset - overlap}-"
        ctx.events.set_state(d, State.CONNECTING)
        with self.mapped_errors():
            async with self.request(headers) as response:
                await self._receive(response, offset, overlap)

    def request(
        self, headers: dict[str, str]
    ) -> contextlib.AbstractAsyncContextManager[aiohttp.ClientResponse]:
        """One GET of this download through the shared bracket (`http.request`)."""
        d, ctx = self.d, self.ctx
        return http.request(
            ctx.client.session,
            d.url,
            headers=headers,
            proxy=ctx.proxy,
            max_redirects=ctx.options.max_redirects,
            host=ctx.host,
            stall_limit=ctx.options.timeout,
            opened=lambda: ctx.slots.opened(d),
            closed=lambda: ctx.slots.closed(d),
        )

    @contextlib.contextmanager
    def mapped_errors(self) -> Iterator[None]:
        """Turn aiohttp's and the file system's exceptions into one-line `DownloadError`s."""
        d, ctx = self.d, self.ctx
        try:
            with http.mapped_errors(d.host, timeout=ctx.options.timeout, truncated=self.truncated):
                yield
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                name = d.name or exc.filename or d.part_path  # a small file's failed save
                raise DownloadError(f"disk full writing {name}", pause=True) from None
            where = exc.filename or d.part_path
            raise DownloadError(f"cannot write {where}: {exc.strerror or exc}") from None

    def truncated(self, arrived: int | None = None) -> DownloadError:
        """The body ended early; ``arrived`` is what came, if not all of it was counted."""
        d = self.d
        of_total = f" of {size(d.total)}" if d.total else ""
        got = d.done if arrived is None else arrived
        return DownloadError(
            f"connection closed early by {d.host} after {size(got)}{of_total}",
            retryable=True,
        )

    async def _receive(self, response: aiohttp.ClientResponse, offset: int, overlap: int) -> None:
        d, ctx = self.d, self.ctx
        http.check_status(response, d.host)
        if response.status == 416:
            await self._range_not_satisfiable(response, offset)
            return
        status = response.status
        etag = response.headers.get("ETag")
        last_modified = response.headers.get("Last-Modified")
        start = offset - overlap
        if status == 206:
            known = http.Known(d.total, d.etag, d.last_modified)
            content_range = http.check_partial(
                response, host=d.host, first=start, last=None, known=known
            )
            d.total = content_range.total  # the size this download must reach
            if start == 0:
                d.etag, d.last_modified = etag, last_modified
        else:
            if offset:
                ctx.events.log(
                    d, "server sent the whole file (range ignored or file changed): from zero"
                )
            start = overlap = 0
            d.done = d.checkpoint = d.synced = 0
            d.total = response.content_length
            d.etag, d.last_modified = etag, last_modified
        candidate = None
        if d.name is None or (start == 0 and await self._part_gone()):
            candidate = name_rules.choose_name(
                requested=d.requested_name,
                content_disposition=response.headers.get("Content-Disposition"),
                url=d.url,
                final_url=str(response.url),
            )
        ctx.events.set_state(d, State.DOWNLOADING)
        if (
            candidate is not None
            and d.total is not None
            and d.total <= SMALL_BODY
            and all(bucket.rate is None for bucket in ctx.buckets)
        ):
            await self._receive_small(response, candidate)
            return
        if candidate is not None:
            await ctx.names.reserve(d, candidate)
        ctx.events.changed(d)
        if start == 0 and self._may_split(response):
            await SegmentedCopy(self).run(response)
        else:
            await self._stream(response, start, overlap)
            ctx.slots.network_done()  # the next download need not wait for the rename
        await self._finish()

    def _may_split(self, response: aiohttp.ClientResponse) -> bool:
        """Worth several connections, and safe: ranges, a length, and a validator."""
        d, options = self.d, self.ctx.options
        return (
            d.segmentable
            and d.max_connections > 1
            and d.total is not None
            and d.total >= max(options.min_split_size, 2 * MIN_STEAL)
            and response.headers.get("Accept-Ranges", "").strip().lower() == "bytes"
            and bool(http.if_range(d.etag, d.last_modified))
        )

    async def _range_not_satisfiable(self, response: aiohttp.ClientResponse, offset: int) -> None:
        """416: done if we already hold every byte, else the bytes on disk are suspect."""
        d = self.d
        total = http.unsatisfiable_total(response)
        whole = d.part_path is not None and offset == d.total and total in (None, d.total)
        if offset and whole:
            self.ctx.events.log(d, "server says nothing is left to fetch")
            await self._finish()
            return
        raise DownloadError(
            f"416 Range Not Satisfiable from {d.host} at byte {offset}: starting over",
            retryable=True,
            restart=True,
            status=416,
        )

    async def _stream(self, response: aiohttp.ClientResponse, start: int, overlap: int) -> None:
        d, ctx = self.d, self.ctx
        path = d.part_path
        assert path is not None
        part = await self.open_part()
        try:
            if start and await part.size() < d.done:
                raise DownloadError(
                    f"{path.name} is shorter than recorded: starting over",
                    retryable=True,
                    restart=True,
                )
            if overlap:
                await self._check_overlap(part, response, overlap)
            await part.truncate(d.done)
            try:
                await self.copy(response, part, taken=overlap)
            finally:
                await asyncio.shield(self.checkpoint(part, d.done, sync=True))
            self._check_complete()
            ctx.events.set_state(d, State.VERIFYING)
        finally:
            await asyncio.shield(part.close())

    async def open_part(self) -> PartFile:
        """The ``.part`` this download claimed. If it is gone, the name may be another
        download's by now: start over, and the next attempt claims a name again."""
        path = self.d.part_path
        assert path is not None
        try:
            return await PartFile.open(path, self.ctx.disk)
        except FileNotFoundError:
            raise DownloadError(
                f"{path.name} vanished: starting over", retryable=True, restart=True
            ) from None

    async def _part_gone(self) -> bool:
        """Starting from zero under a name claimed before: is its ``.part`` gone?"""
        path = self.d.part_path
        if path is None or await asyncio.to_thread(file_ops.size_or_none, path) is not None:
            return False
        self.ctx.events.log(self.d, f"{path.name} is gone: claiming a name again")
        return True

    async def copy(
        self,
        response: aiohttp.ClientResponse,
        part: PartFile,
        taken: int = 0,
        region: Region | None = None,
    ) -> None:
        """Stream the body to disk (`body.copy_body`), checkpointing in the background.

        ``taken`` is how much of the body was read before (the overlap check). With a
        ``region``, copying stops at its end, which another connection may move closer
        meanwhile; checkpoints are then the caller's. Without one, the copy fills the file
        from ``done`` to the body's end.
        """
        d, ctx = self.d, self.ctx
        whole = region is None
        span = Region(d.done, UNBOUNDED) if region is None else region
        checkpointing: asyncio.Task[None] | None = None
        last_checkpoint = time.monotonic()

        def written() -> None:
            nonlocal checkpointing, last_checkpoint
            if (checkpointing is None or checkpointing.done()) and (
                d.done - d.checkpoint >= CHECKPOINT_BYTES
                or time.monotonic() - last_checkpoint >= CHECKPOINT_SECONDS
            ):
                last_checkpoint = time.monotonic()
                checkpointing = asyncio.create_task(self.checkpoint(part, d.done))

        writer = await PartWriter.open(part, span.position)
        try:
            await copy_body(
                response,
                writer,
                span,
                d,
                buckets=ctx.buckets,
                chunk_size=ctx.options.chunk_size,
                arrived=self._arrived,
                written=written if whole else None,
                taken=taken,
            )
        finally:
            try:
                if checkpointing is not None:
                    await asyncio.gather(checkpointing, return_exceptions=True)
            finally:
                await asyncio.shield(writer.close())

    def _arrived(self, size: int) -> None:
        """Count bytes toward the rates as they arrive (not per written batch), so a
        steady stream reads steady."""
        self.d.meter.add(size)
        self.ctx.host.meter.add(size)

    async def checkpoint(self, part: PartFile, upto: int, *, sync: bool = False) -> None:
        """Record ``upto`` once the bytes before it are written (a process crash keeps
        them), and every `SYNC_SECONDS` (or with ``sync``) once they are fsynced too."""
        d = self.d
        marks = [(region, region.done) for region in d.regions or ()]
        new = upto > d.checkpoint or any(done > r.checkpoint for r, done in marks)
        behind = d.synced < d.checkpoint or any(r.synced < r.checkpoint for r, _ in marks)
        synced = self.ctx.options.fsync and (
            (sync and (new or behind))
            or (new and time.monotonic() - self._synced_at >= SYNC_SECONDS)
        )
        if not new and not synced:
            return
        if synced:
            await part.sync()
            self._synced_at = time.monotonic()
        for region, done in marks:
            region.checkpoint = max(region.checkpoint, done)
            if synced:
                region.synced = max(region.synced, done)
        d.checkpoint = safe_prefix(d.regions) if d.regions else max(d.checkpoint, upto)
        if synced:
            d.synced = safe_prefix(d.regions, synced=True) if d.regions else d.checkpoint
        self.ctx.events.checkpointed(d)

    async def _check_overlap(
        self, part: PartFile, response: aiohttp.ClientResponse, overlap: int
    ) -> None:
        ours = await part.read_at(overlap, self.d.done - overlap)
        theirs = await response.content.readexactly(overlap)
        if ours != theirs:
            raise DownloadError(
                f"the file on {self.d.host} no longer matches the bytes we have: starting over",
                retryable=True,
                restart=True,
            )
        d = self.d
        self.ctx.events.log(d, f"resumed at {d.done} after matching the last {overlap} bytes")

    async def _receive_small(self, response: aiohttp.ClientResponse, candidate: str) -> None:
        """Read a small body whole; name, write, flush and publish it in one thread hop."""
        d, ctx = self.d, self.ctx
        pieces: list[bytes] = []
        arrived = 0
        try:
            while piece := await response.content.read(SMALL_BODY):
                pieces.append(piece)
                arrived += len(piece)
                d.done = arrived  # progress and rates as it arrives, not at the end
                self._arrived(len(piece))
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError):
            d.done = 0  # nothing of it is on disk
            raise self.truncated(arrived) from None
        except BaseException:  # a stall, a pause: still nothing on disk
            d.done = 0
            raise
        body = b"".join(pieces)
        size = len(body)
        d.backoff_step = 0
        d.done = size
        self._check_complete()
        ctx.slots.network_done()
        ctx.events.set_state(d, State.VERIFYING)
        try:
            await _finish_anyway(ctx.names.save_small(d, candidate, body))
        except BaseException:
            d.done = d.checkpoint = 0  # the body is not on disk: the next attempt starts at 0
            raise
        # No `changed` here: the manager's success step announces and saves the final name.

    def _check_complete(self) -> None:
        d = self.d
        if d.total is None:
            d.total = d.done
        elif d.done < d.total:
            raise self.truncated()
        elif d.done > d.total:
            raise DownloadError(
                f"{d.host} sent more bytes than announced: starting over",
                retryable=True,
                restart=True,
            )

    async def _finish(self) -> None:
        d = self.d
        assert d.part_path is not None
        size = await asyncio.to_thread(file_ops.size_or_none, d.part_path)
        if size is None or size != d.total:
            raise DownloadError(
                f"{d.part_path.name} holds {size} bytes, expected {d.total}: starting over",
                retryable=True,
                restart=True,
            )
        if self.ctx.options.fsync and d.synced < size:
            # Bytes written by an earlier attempt (a 416 found them all there) are on disk
            # only as far as ``synced`` says: every file is fsynced before it is published.
            await asyncio.to_thread(file_ops.sync, d.part_path)
            d.synced = size
        await self.ctx.verifier.verify(d)
        await _finish_anyway(self.ctx.names.publish(d))


async def _finish_anyway(step: Awaitable[None]) -> None:
    """Run the publishing step (a rename in a thread) to its end even if cancelled.

    Once it has started the file may already be under its final name: a pause or cancel
    arriving now must not leave a published file behind a paused or cancelled download,
    so the cancellation is absorbed and the download completes.
    """
    task = asyncio.ensure_future(step)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
