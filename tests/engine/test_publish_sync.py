"""Every completed file is fsynced before it is published (with ``fsync`` on), however
the download ended: a 416 saying the ``.part`` already holds every byte takes the same
publishing step as a body that was just streamed."""

from __future__ import annotations

import asyncio
import os

from engine_helpers import GUARD, close_stored, resume_stored

from afetch_tui.engine.events import State

KIB = 1024


async def test_already_complete_is_synced_before_it_is_published(
    server, payload, tmp_path, monkeypatch
):
    """The state file says every byte was written but only half was fsynced: the 416
    answer to ``Range: bytes=<total>-`` must not publish unsynced bytes."""
    data = payload(256 * KIB, seed=1)
    url = server.add_file("/f.bin", data)
    etag = server.entity("/f.bin").etag
    out = tmp_path / "out"
    out.mkdir()
    (out / "f.bin.part").write_bytes(data)
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    fields = {"url": url, "name": "f.bin", "total": len(data), "etag": etag}
    manager = await resume_stored(
        out, tmp_path / "s.db", checkpoint=len(data), synced=len(data) // 2, **fields
    )
    try:
        await asyncio.wait_for(manager.wait(), GUARD)
        (d,) = manager.downloads()
        assert d.state is State.COMPLETED, d.error
    finally:
        await close_stored(manager)
    (request,) = server.requests_for("/f.bin")
    assert request.status == 416
    assert (out / "f.bin").read_bytes() == data
    assert str(out / "f.bin.part") in synced
