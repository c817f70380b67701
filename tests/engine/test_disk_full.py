"""A full disk pauses the download with a clear message; freeing space and resuming finishes it.

Uses a real, small tmpfs (needs root to mount; skipped otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_helpers import GUARD, fast_options

from afetch_tui.engine.events import State
from afetch_tui.engine.manager import DownloadManager
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
