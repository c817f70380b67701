"""A crash between the two steps of publishing (link the ``.part`` to its final name, then
unlink the ``.part``) leaves one file under two names while the state file still says
the download runs. Taking it up again must never write into that file: the publish is
finished instead, and a ``.part`` linked to a file elsewhere is set aside."""

from __future__ import annotations

import asyncio
import os

from engine_helpers import GUARD, close_stored, resume_stored

from afetch_tui.engine.events import State

KIB = 1024


async def test_a_publish_cut_short_is_finished_not_rewritten(server, payload, tmp_path):
    """The state file lagged (its checkpoint is half the file) and the server's file has
    changed since: resuming would truncate the published file and write the new one into
    it. The file stays as published and the download completes without a request."""
    old, new = payload(256 * KIB, seed=1), payload(256 * KIB, seed=2)
    url = server.add_file("/f.bin", old)
    etag = server.entity("/f.bin").etag
    server.replace_file("/f.bin", new)
    out = tmp_path / "out"
    out.mkdir()
    (out / "f.bin").write_bytes(old)
    os.link(out / "f.bin", out / "f.bin.part")
    half = len(old) // 2
    fields = {"url": url, "name": "f.bin", "checkpoint": half, "synced": half}
    manager = await resume_stored(out, tmp_path / "s.db", total=len(old), etag=etag, **fields)
    try:
        await asyncio.wait_for(manager.wait(), GUARD)
        (d,) = manager.downloads()
        assert d.state is State.COMPLETED, d.error
        assert d.name == "f.bin" and d.done == d.total == len(old)
    finally:
        await close_stored(manager)
    assert sorted(p.name for p in out.iterdir()) == ["f.bin"]
    assert (out / "f.bin").read_bytes() == old
    assert server.requests_for("/f.bin") == []


async def test_a_publish_cut_short_under_the_next_free_name(server, payload, tmp_path):
    """It was being published as ``f (1).bin`` (``f.bin`` had appeared meanwhile)."""
    data = payload(64 * KIB, seed=3)
    url = server.add_file("/f.bin", data)
    out = tmp_path / "out"
    out.mkdir()
    (out / "f.bin").write_bytes(b"someone else's")
    (out / "f (1).bin").write_bytes(data)
    os.link(out / "f (1).bin", out / "f.bin.part")
    fields = {"url": url, "name": "f.bin", "checkpoint": 0, "total": len(data)}
    manager = await resume_stored(out, tmp_path / "s.db", **fields)
    try:
        await asyncio.wait_for(manager.wait(), GUARD)
        (d,) = manager.downloads()
        assert d.state is State.COMPLETED, d.error
        assert d.name == "f (1).bin"
    finally:
        await close_stored(manager)
    assert sorted(p.name for p in out.iterdir()) == ["f (1).bin", "f.bin"]
    assert (out / "f (1).bin").read_bytes() == data
    assert (out / "f.bin").read_bytes() == b"someone else's"


async def test_a_part_linked_outside_is_never_written(server, payload, tmp_path):
    """A ``.part`` that is another name of a file outside the directory: that file is
    left alone and the download starts over in a ``.part`` of its own."""
    data = payload(256 * KIB, seed=4)
    url = server.add_file("/f.bin", data)
    etag = server.entity("/f.bin").etag
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere.bin"
    out.mkdir()
    elsewhere.write_bytes(data[: 100 * KIB] + b"x" * (156 * KIB))
    os.link(elsewhere, out / "f.bin.part")
    before = elsewhere.read_bytes()
    fields = {"url": url, "name": "f.bin", "checkpoint": 100 * KIB, "synced": 100 * KIB}
    manager = await resume_stored(out, tmp_path / "s.db", total=len(data), etag=etag, **fields)
    try:
        await asyncio.wait_for(manager.wait(), GUARD)
        (d,) = manager.downloads()
        assert d.state is State.COMPLETED, d.error
    finally:
        await close_stored(manager)
    assert elsewhere.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["f.bin"]
    assert (out / "f.bin").read_bytes() == data
