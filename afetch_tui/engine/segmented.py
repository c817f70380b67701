"""Several connections for one file: ranged requests filling regions of one ``.part``.

Every ranged answer must prove it is the same entity (a 206 whose Content-Range starts
where asked with the known total, and matching validators); anything else restarts the
file with one connection. A failure on any connection ends the attempt; the manager's
retry then resumes every region where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol

import aiohttp

from afetch_tui.engine import http
from afetch_tui.engine.download import Download
from afetch_tui.engine.errors import DownloadError
from afetch_tui.engine.events import State
from afetch_tui.engine.partfile import PartFile
from afetch_tui.engine.regions import Region, complete, take_work
from afetch_tui.engine.transfer_context import TransferContext

REGION_CHECKPOINT_SECONDS = 0.05
"""More often than one connection's 0.25 s: several connections fill it faster."""


class Transfer(Protocol):
    """What a split download uses of its `transfer.Transfer` (named here, not imported,
    so neither module needs the other's import)."""

    d: Download
    ctx: TransferContext

    def headers(self) -> dict[str, str]: ...

    def request(
        self, headers: dict[str, str]
    ) -> contextlib.AbstractAsyncContextManager[aiohttp.ClientResponse]: ...

    def truncated(self, arrived: int | None = None) -> DownloadError: ...

    async def open_part(self) -> PartFile: ...

    async def copy(
        self,
        response: aiohttp.ClientResponse,
        part: PartFile,
        taken: int = 0,
        region: Region | None = None,
    ) -> None: ...

    async def checkpoint(self, part: PartFile, upto: int, *, sync: bool = False) -> None: ...


class SegmentedCopy:
    def __init__(self, transfer: Transfer) -> None:
        self.transfer = transfer
        self.d = transfer.d
        self.ctx = transfer.ctx
        self._owners: dict[int, asyncio.Task[None] | None] = {}

    async def run(self, first: aiohttp.ClientResponse | None) -> None:
        """Fill the ``.part``; ``first`` is the plain GET already streaming from byte 0,
        or None when resuming the regions of an earlier attempt."""
        d, ctx = self.d, self.ctx
        assert d.total is not None and d.part_path is not None
        part = await self.transfer.open_part()
        try:
            workers: list[asyncio.Task[None]] = []
            if first is not None:
                # ``first`` streams from byte 0 (it may be a 206 re-sending bytes an earlier
                # attempt held): the count starts again with the one region it fills.
                d.done = d.checkpoint = d.synced = 0
                d.regions = [Region(0, d.total, busy=True)]
                await part.truncate(d.total)
                ctx.events.log(d, f"splitting over up to {d.max_connections} connections")
                workers.append(asyncio.create_task(self._serve_first(part, first)))
            else:
                if await part.size() != d.total:
                    raise DownloadError(
                        f"{d.part_path.name} has the wrong size: starting over",
                        retryable=True,
                        restart=True,
                    )
                for region in d.regions or ():
                    region.busy = False
                workers.append(asyncio.create_task(self._work(part, own_slot=True)))
            workers += [
                asyncio.create_task(self._work(part, own_slot=False))
                for _ in range(d.max_connections - 1)
            ]
            checkpoints = asyncio.create_task(self._checkpoint_forever(part))
            try:
                await _all_or_first_error(workers)
            finally:
                checkpoints.cancel()
                await asyncio.gather(checkpoints, return_exceptions=True)
                await asyncio.shield(self.transfer.checkpoint(part, d.done, sync=True))
            assert d.regions is not None
            if not complete(d.regions, d.total):
                raise DownloadError(
                    f"connections to {d.host} ended with parts missing", retryable=True
                )
            ctx.events.set_state(d, State.VERIFYING)
        finally:
            await asyncio.shield(part.close())

    async def _serve_first(self, part: PartFile, response: aiohttp.ClientResponse) -> None:
        """Stream region 0 from the plain GET, then carry on like any other connection."""
        assert self.d.regions is not None
        region = self.d.regions[0]
        self._owners[id(region)] = asyncio.current_task()
        try:
            await self.transfer.copy(response, part, region=region)
        finally:
            region.busy = False
        if region.remaining:
            raise self.transfer.truncated()
        response.close()  # the rest of the body belongs to other connections
        await self._work(part, own_slot=True, rate=region.rate(time.monotonic()))

    async def _work(self, part: PartFile, *, own_slot: bool, rate: float = 0.0) -> None:
        """Take pieces of work until there are none; extra connections need a free slot."""
        while True:
            if not own_slot and not self.ctx.slots.take_extra():
                return
            try:
                assert self.d.regions is not None
                region = take_work(self.d.regions, own_rate=rate)
                if region is None:
                    return
                self._stop_if_taken_over()
                self._owners[id(region)] = asyncio.current_task()
                try:
                    await self._fetch(part, region)
                finally:
                    region.busy = False
                    self._owners.pop(id(region), None)
                rate = region.rate(time.monotonic())
            finally:
                if not own_slot:
                    self.ctx.slots.give_extra()

    def _stop_if_taken_over(self) -> None:
        """Cancel the connections whose rest another connection has just taken over."""
        for region in self.d.regions or ():
            if region.taken_over:
                region.taken_over = False
                owner = self._owners.pop(id(region), None)
                if owner is not None and owner is not asyncio.current_task():
                    self.ctx.events.log(self.d, "took over the rest of a slow connection's part")
                    owner.cancel()

    async def _fetch(self, part: PartFile, region: Region) -> None:
        d, ctx = self.d, self.ctx
        headers = self.transfer.headers()
        first, last = region.position, region.end - 1  # the end may move while we wait
        headers["Range"] = f"bytes={first}-{last}"
        headers["If-Range"] = http.if_range(d.etag, d.last_modified) or ""
        async with self.transfer.request(headers) as response:
            http.check_status(response, d.host)
            self._check_range(response, first, last)
            if d.state is not State.DOWNLOADING:
                ctx.events.set_state(d, State.DOWNLOADING)
            await self.transfer.copy(response, part, region=region)
            if region.remaining:
                raise self.transfer.truncated()
            if not response.content.at_eof():
                response.close()  # another connection took the rest of this range

    def _check_range(self, response: aiohttp.ClientResponse, first: int, last: int) -> None:
        d = self.d
        if response.status != 206:
            d.segmentable = False
            raise DownloadError(
                f"{d.host} answered a range request with {response.status}: "
                "starting over with one connection",
                retryable=True,
                restart=True,
            )
        http.check_partial(
            response,
            host=d.host,
            first=first,
            last=last,
            known=http.Known(d.total, d.etag, d.last_modified),
        )

    async def _checkpoint_forever(self, part: PartFile) -> None:
        while True:
            await asyncio.sleep(REGION_CHECKPOINT_SECONDS)
            await self.transfer.checkpoint(part, self.d.done)


async def _all_or_first_error(tasks: list[asyncio.Task[None]]) -> None:
    """Wait for every task; on the first failure cancel the rest and raise it.

    Several may have failed by the time the wait returns: each one's exception is read
    (so none is logged as never retrieved) and the first in task order is raised.
    """
    pending = set(tasks)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            failures = [t.exception() for t in tasks if t in done and not t.cancelled()]
            for failure in failures:
                if failure is not None:
                    raise failure
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
