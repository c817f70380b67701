"""A full disk pauses the download with a clear message; freeing space and resuming finishes it.

Uses a real, small tmpfs (needs root to mount; skipped otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from engine_helpers import GUARD, fast_options

from afetch_tui.engine.body import PartWriter
from afetch_tui.engine.events import State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.partfile import PartFile, PartialWrite
from afetch_tui.engine.store import Store

MIB = 1024 * 1024


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount_point
    finally:
        with contextlib.suppress(Exception):
            subprocess.run(["umount", "-l", str(mount_point)], check=False)


async def test_disk_full_pauses_keeps_the_part_and_resumes(server, payload, tiny_disk, tmp_path):
    filler = tiny_disk / "filler.bin"
    filler.write_bytes(b"\0" * (5 * MIB))
    data = payload(6 * MIB, seed=9)
    url = server.add_file("/fat.bin", data)
    store = await Store.open(tmp_path / "state.db")
    manager = DownloadManager(tiny_disk, options=fast_options(), store=store)
    await manager.start()
    try:
        download_id = await manager.add(url)
        await asyncio.wait_for(manager.wait(), GUARD)
        snap = manager.download(download_id)
        assert snap.state is State.PAUSED
        assert "disk full" in (snap.error or "")
        part = tiny_disk / "fat.bin.part"
        assert part.exists() and 0 < snap.done <= part.stat().st_size, (
            snap.done,
            part.stat().st_size,
            [e.message for e in snap.log],
        )
        assert not (tiny_disk / "fat.bin").exists()

        filler.unlink()
        server.clear_requests()
        await manager.resume(download_id)
        await asyncio.wait_for(manager.wait(), GUARD)
        snap = manager.download(download_id)
        assert snap.state is State.COMPLETED, snap.error
        assert (tiny_disk / "fat.bin").read_bytes() == data
        (resume,) = server.requests_for("/fat.bin")
        assert resume.header("Range") == f"bytes={snap.total - resume.bytes_sent}-"
    finally:
        await manager.close()
        await store.close()


async def test_the_queue_survives_a_full_disk(server, payload, tiny_disk, tmp_path):
    (tiny_disk / "filler.bin").write_bytes(b"\0" * (7 * MIB))
    url = server.add_file("/fat.bin", payload(3 * MIB))
    state = tmp_path / "state.db"
    store = await Store.open(state)
    manager = DownloadManager(tiny_disk, options=fast_options(), store=store)
    await manager.start()
    download_id = await manager.add(url)
    await asyncio.wait_for(manager.wait(), GUARD)
    await manager.close()
    await store.close()

    store = await Store.open(state)
    again = DownloadManager(tiny_disk, options=fast_options(), store=store)
    await again.start()
    try:
        snap = again.download(download_id)
        assert snap.state is State.PAUSED
        assert "disk full" in (snap.error or "")
    finally:
        await again.close()
        await store.close()


def _fill(path: Path, leave: int) -> None:
    """Fill the file system holding ``path`` but ``leave`` bytes (about)."""
    with contextlib.suppress(OSError), open(path, "wb") as out:
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    with open(path, "r+b") as out:
        out.truncate(max(0, path.stat().st_size - leave))


@pytest.mark.parametrize(
    ("start", "pieces"),
    [
        pytest.param(0, [MIB], id="one-piece"),  # a short write writelines would not report
        pytest.param(64 * 1024, [256 * 1024] * 4, id="four-pieces-at-an-offset"),
    ],
)
async def test_the_writer_on_a_full_disk_says_exactly_what_landed(tiny_disk, start, pieces):
    _fill(tiny_disk / "filler", leave=start + 300 * 1024)
    path = tiny_disk / "x.bin.part"
    path.write_bytes(b"\1" * start)
    batch = [os.urandom(n) for n in pieces]
    with ThreadPoolExecutor(2) as pool:
        part = await PartFile.open(path, pool)
        writer = await PartWriter.open(part, start)
        try:
            with pytest.raises(PartialWrite) as caught:
                await writer.write(batch, sum(pieces))
        finally:
            await writer.close()
            await part.close()
    assert caught.value.errno == errno.ENOSPC
    landed = path.stat().st_size - start
    assert 0 < caught.value.written == landed < sum(pieces)
    assert path.read_bytes()[start:] == b"".join(batch)[:landed]
