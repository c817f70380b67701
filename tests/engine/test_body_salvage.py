"""What arrived before a connection broke is kept, but never past the region's end."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import pytest

from afetch_tui.engine.body import PartWriter, copy_body
from afetch_tui.engine.download import Download
from afetch_tui.engine.partfile import PartFile
from afetch_tui.engine.regions import Region

SENT = 100_000
"""What the server sends of the body it announced before it drops the connection."""


async def _breaking_server(body: bytes) -> tuple[asyncio.Server, int]:
    """Announce twice the body, send the body, then close: the client's payload error
    comes with the whole body still buffered (nothing read before it)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = f"HTTP/1.1 206 Partial Content\r\nContent-Length: {2 * len(body)}\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.mark.parametrize("region_end", [SENT // 2, SENT + 10])
async def test_salvaged_bytes_stop_at_the_regions_end(tmp_path: Path, region_end: int) -> None:
    body = os.urandom(SENT)
    server, port = await _breaking_server(body)
    path = tmp_path / "x.bin.part"
    neighbour = b"\7" * (SENT + 100)  # what another connection already wrote after the region
    path.write_bytes(neighbour)
    region = Region(0, region_end)
    d = Download(id=1, url=f"http://127.0.0.1:{port}/x", host="h", directory=tmp_path)
    arrived: list[int] = []
    with ThreadPoolExecutor(1) as pool:
        part = await PartFile.open(path, pool)
        writer = await PartWriter.open(part, 0)
        try:
            async with aiohttp.ClientSession() as session, session.get(d.url) as response:
                await asyncio.sleep(0.3)  # the body and the close are buffered, unread
                with pytest.raises(aiohttp.ClientPayloadError):
                    await copy_body(
                        response,
                        writer,
                        region,
                        d,
                        buckets=(),
                        chunk_size=65536,
                        arrived=arrived.append,
                    )
        finally:
            await writer.close()
            await part.close()
            server.close()
            await server.wait_closed()
    kept = min(region_end, SENT)
    assert region.done == d.done == kept
    assert sum(arrived) == kept  # salvaged bytes count toward the rates too
    assert path.read_bytes() == body[:kept] + neighbour[kept:]
