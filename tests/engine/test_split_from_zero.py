"""A resume that re-fetches from byte 0 (the bytes held are within the overlap checked
without a validator) and is then split over several connections: the bytes are counted
once, from zero, not on top of what the first attempt had."""

from __future__ import annotations

import asyncio

from engine_helpers import GUARD, close_stored, resume_stored

from afetch_tui.engine.events import Progress, State

KIB, MIB = 1024, 1024 * 1024


async def test_a_split_from_zero_counts_every_byte_once(server, payload, tmp_path):
    data = payload(4 * MIB, seed=1)
    url = server.add_file("/f.bin", data)
    out = tmp_path / "out"
    out.mkdir()
    held = 32 * KIB
    (out / "f.bin.part").write_bytes(data[:held])
    manager = await resume_stored(
        out,
        tmp_path / "s.db",
        {"connections": 4, "min_split_size": 2 * MIB},
        url=url,
        name="f.bin",
        checkpoint=held,
        synced=held,
        connections=4,
    )
    events = manager.subscribe(lossless=True)
    try:
        await asyncio.wait_for(manager.wait(), GUARD)
        (d,) = manager.downloads()
        assert d.state is State.COMPLETED, d.error
        assert d.done == d.total == len(data)
    finally:
        await close_stored(manager)
    first = server.requests_for("/f.bin", "GET")[0]
    assert first.header("Range") == "bytes=0-" and first.status == 206
    assert len(server.requests_for("/f.bin", "GET")) > 1  # it was split
    progress = [e for e in events.drain() if isinstance(e, Progress)]
    assert progress and all(e.done <= len(data) for e in progress)
    assert (out / "f.bin").read_bytes() == data
