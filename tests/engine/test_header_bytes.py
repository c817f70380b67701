"""Header bytes that are not UTF-8 (RFC 9110 obs-text) are stored losslessly and never stop
the queue from being saved; a validator goes back in If-Range exactly as it came, or not at all.

The server here is a raw socket: aiohttp's own server cannot send such bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from engine_helpers import GUARD, fast_options

from afetch_tui.engine.events import State, StoreProblem
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.store import Store

LAST_MODIFIED = b"Wed, 21 Oct 2015 07:28:00 GMT"


@dataclass
class RawServer:
    """Serves one body: the first GET is cut at half, later ones honour Range/If-Range."""

    body: bytes
    etag: bytes
    reason: bytes = b"OK"
    last_modified: bytes | None = None
    requests: list[dict[bytes, bytes]] = field(default_factory=list)
    port: int = 0
    refusals: list[bytes] = field(default_factory=list)
    """Status lines (``503 Serv\xe9ce``) answered, one each, before the body is served."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")[1:]
        headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(b":") for x in lines)}
        self.requests.append(headers)
        if self.refusals:
            writer.write(b"HTTP/1.1 " + self.refusals.pop(0) + b"\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        validators = b"ETag: " + self.etag + b"\r\n"
        if self.last_modified:
            validators += b"Last-Modified: " + self.last_modified + b"\r\n"
        start = 0
        wanted = headers.get(b"range", b"")
        if wanted.startswith(b"bytes=") and headers.get(b"if-range") in (
            self.etag,
            self.last_modified,
        ):
            start = int(wanted[6:].split(b"-")[0])
        if start:
            status = b"206 Partial Content"
            extra = b"Content-Range: bytes %d-%d/%d\r\n" % (
                start,
                len(self.body) - 1,
                len(self.body),
            )
        else:
            status = b"200 " + self.reason
            extra = b"Accept-Ranges: bytes\r\n"
        rest = self.body[start:]
        writer.write(
            b"HTTP/1.1 "
            + status
            + b"\r\nContent-Length: %d\r\n" % len(rest)
            + extra
            + validators
            + b"Connection: close\r\n\r\n"
        )
        cut = not start and not any(b"range" in r for r in self.requests[:-1])
        writer.write(rest[: len(rest) // 2] if cut else rest)
        await writer.drain()
        if cut:
            await asyncio.sleep(0.3)  # the client writes (and checkpoints) the half first
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/caf.bin"


@contextlib.asynccontextmanager
async def serving(raw: RawServer) -> AsyncIterator[RawServer]:
    server = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
    raw.port = server.sockets[0].getsockname()[1]
    try:
        yield raw
    finally:
        server.close()
        await server.wait_closed()


async def _download(raw: RawServer, tmp_path: Path) -> tuple[DownloadManager, int, list[object]]:
    store = await Store.open(tmp_path / "state.db")
    manager = DownloadManager(tmp_path / "out", options=fast_options(), store=store)
    events: list[object] = []
    subscription = manager.subscribe()
    await manager.start()
    download_id = await manager.add(raw.url())
    await asyncio.wait_for(manager.wait(), GUARD)
    events += subscription.drain()
    await manager.close()
    await store.close()
    return manager, download_id, events


def _stored(tmp_path: Path, download_id: int) -> tuple[object, ...]:
    with contextlib.closing(sqlite3.connect(tmp_path / "state.db")) as conn:
        return conn.execute(
            "SELECT etag, checkpoint, state FROM downloads WHERE id = ?", (download_id,)
        ).fetchone()


@pytest.mark.parametrize("last_modified", [LAST_MODIFIED, None])
async def test_an_etag_that_is_not_utf8_is_stored_and_never_sent_altered(tmp_path, last_modified):
    body = bytes(range(256)) * 4096
    raw = RawServer(body, etag=b'"caf\xe9"', reason=b"D\xe9j\xe0 vu", last_modified=last_modified)
    async with serving(raw):
        manager, download_id, events = await _download(raw, tmp_path)
    snap = manager.download(download_id)
    assert snap.state is State.COMPLETED, snap.error
    assert (tmp_path / "out" / "caf.bin").read_bytes() == body
    assert not [e for e in events if isinstance(e, StoreProblem)]
    etag, _, state = _stored(tmp_path, download_id)
    assert etag == b'"caf\xe9"' and state == "completed"  # the very bytes the server sent
    _, again = raw.requests
    # aiohttp cannot write a byte that is not UTF-8 (its C writer drops it, sending '"caf"'):
    # so the ETag is not sent at all: Last-Modified is, or else the overlap check is done.
    assert again.get(b"if-range") == last_modified
    assert again[b"range"].startswith(b"bytes=")


async def test_an_obs_text_etag_goes_back_byte_for_byte(tmp_path):
    body = bytes(range(256)) * 4096
    raw = RawServer(body, etag='"café-ü"'.encode())
    async with serving(raw):
        manager, download_id, _ = await _download(raw, tmp_path)
    assert manager.download(download_id).state is State.COMPLETED
    assert (tmp_path / "out" / "caf.bin").read_bytes() == body
    assert raw.requests[1][b"if-range"] == '"café-ü"'.encode()
    assert raw.requests[1][b"range"] == b"bytes=%d-" % (len(body) // 2)


async def test_a_checkpoint_with_such_bytes_is_stored_mid_download(tmp_path):
    """Before the fix the first save raised UnicodeEncodeError and nothing was stored."""
    body = bytes(range(256)) * 4096
    raw = RawServer(body, etag=b'"caf\xe9"', last_modified=LAST_MODIFIED)
    store = await Store.open(tmp_path / "state.db")
    manager = DownloadManager(tmp_path / "out", options=fast_options(), store=store)
    async with serving(raw):
        await manager.start()
        try:
            download_id = await manager.add(raw.url())
            deadline = asyncio.get_running_loop().time() + GUARD
            while True:  # the cut first answer: a checkpoint of its half reaches the store
                row = await store._run(
                    lambda: (
                        store._db()
                        .execute(
                            "SELECT etag, checkpoint FROM downloads WHERE id = ?", (download_id,)
                        )
                        .fetchone()
                    )
                )
                if row[1] > 0:
                    break
                assert asyncio.get_running_loop().time() < deadline, row
                await asyncio.sleep(0.02)
            assert row[0] == b'"caf\xe9"'
            await asyncio.wait_for(manager.wait(), GUARD)
        finally:
            await manager.close()
            await store.close()


async def test_a_reason_phrase_that_is_not_utf8_is_logged_and_stored(tmp_path):
    body = bytes(range(256)) * 4096
    raw = RawServer(body, etag=b'"e"', refusals=[b"503 Serv\xe9ce Unavailable"])
    async with serving(raw):
        manager, download_id, events = await _download(raw, tmp_path)
    assert manager.download(download_id).state is State.COMPLETED
    assert not [e for e in events if isinstance(e, StoreProblem)]
    store = await Store.open(tmp_path / "state.db")
    try:
        (record,), _ = await store.load()
    finally:
        await store.close()
    assert any("503 Serv\\xe9ce Unavailable" in message for _, message in record.log)
