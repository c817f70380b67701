"""Many small files: afetch's own bookkeeping must not hold the next request back.

A small body is saved (named, written, flushed, renamed) in a thread hop; meanwhile its
slot already belongs to the next download, so a connection never idles on our disk work.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import fast_options
from faultserver import FaultServer

from afetch_tui.engine import file_ops
from afetch_tui.engine.events import Limits, State, StateChanged
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.spec import DownloadSpec

KIB = 1024
SLOW_SAVE = 0.4


def slow_down(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """``file_ops.<name>`` takes SLOW_SAVE seconds longer (in its thread, like a slow disk)."""
    real = getattr(file_ops, name)

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(SLOW_SAVE)
        return real(*args, **kwargs)

    monkeypatch.setattr(file_ops, name, slow)


@pytest.fixture
def slow_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every small-file save (name, write, flush, rename in one hop) is slow."""
    slow_down(monkeypatch, "save_whole")


@pytest.mark.parametrize(
    ("size", "slow_call"),
    [(16 * KIB, "save_whole"), (2 * 1024 * KIB, "publish")],
    ids=["small body saved whole", "streamed body renamed"],
)
async def test_the_next_download_starts_while_a_received_body_is_saved(
    server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int, slow_call: str
) -> None:
    slow_down(monkeypatch, slow_call)
    data = [bytes([i]) * size for i in range(2)]
    urls = [server.add_file(f"/s{i}.bin", body) for i, body in enumerate(data)]
    manager = DownloadManager(tmp_path, options=fast_options(), limits=Limits(max_concurrent=1))
    await manager.start()
    try:
        completed: dict[int, float] = {}
        with manager.subscribe() as events:

            async def watch() -> None:
                async for event in events:
                    if isinstance(event, StateChanged) and event.state is State.COMPLETED:
                        completed[event.id] = time.monotonic()

            watcher = asyncio.create_task(watch())
            first, _ = await manager.add_many(DownloadSpec(urls))
            await asyncio.wait_for(manager.wait(), 10)
            await asyncio.sleep(0.05)
            watcher.cancel()
        gets = sorted(r.started for r in server.requests if r.method == "GET")
        assert len(gets) == 2
        # The second request went out while the first file was still being saved.
        assert gets[1] < completed[first] - SLOW_SAVE / 2
        assert [(tmp_path / f"s{i}.bin").read_bytes() for i in range(2)] == data
        assert {d.state for d in manager.downloads()} == {State.COMPLETED}
    finally:
        await manager.close()


async def test_saves_waiting_on_a_slow_disk_are_bounded_by_the_concurrency_limit(
    server: FaultServer, tmp_path: Path, slow_disk: None
) -> None:
    """A disk slower than the network does not let bodies pile up in memory."""
    urls = [server.add_file(f"/b{i}.bin", bytes([i]) * 16 * KIB) for i in range(6)]
    manager = DownloadManager(tmp_path, options=fast_options(), limits=Limits(max_concurrent=2))
    await manager.start()
    try:
        await manager.add_many(DownloadSpec(urls))
        await asyncio.sleep(SLOW_SAVE / 2)  # the first bodies are in, their saves are slow
        busy = [d for d in manager.downloads() if d.state.is_running]
        fetched = [r for r in server.requests if r.method == "GET"]
        # 2 being saved and 2 on the network at most: never the whole queue at once.
        assert len(busy) <= 4 and len(fetched) <= 4
        await asyncio.wait_for(manager.wait(), 10)
        assert {d.state for d in manager.downloads()} == {State.COMPLETED}
    finally:
        await manager.close()


async def test_names_and_small_files_use_the_managers_disk_threads(
    server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claims, publishes and batched small-file saves run on the manager's own pool (none
    before start or after close), never on asyncio's default executor."""
    threads: dict[str, set[str]] = {}
    for name in ("claim", "publish", "save_whole", "settle_publish"):
        real = getattr(file_ops, name)

        def record(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            threads.setdefault(_name, set()).add(threading.current_thread().name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(file_ops, name, record)

    def disk_threads() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name.startswith("afetch-disk")]

    small = server.add_file("/small.bin", b"s" * KIB)
    big = server.add_file("/big.bin", b"b" * (2 * 1024 * KIB))
    manager = DownloadManager(tmp_path, options=fast_options())
    assert disk_threads() == []
    await manager.start()
    try:
        await manager.add_many(DownloadSpec((small, big)))
        await asyncio.wait_for(manager.wait(), 10)
        assert {d.state for d in manager.downloads()} == {State.COMPLETED}
    finally:
        await manager.close()
    assert set(threads) == {"claim", "publish", "save_whole"}
    assert all(t.startswith("afetch-disk") for names in threads.values() for t in names), threads
    assert disk_threads() == []


@pytest.mark.parametrize("size", [16 * KIB, 700 * KIB], ids=["saved whole", "streamed"])
async def test_a_directory_removed_after_queueing_is_made_again(
    server: FaultServer, payload: Any, tmp_path: Path, size: int
) -> None:
    """The claim makes the directory only when the ``.part`` cannot be created without it
    (not once per file): the file still lands there, under its own name."""
    body = payload(size)
    url = server.add_file("/again.bin", body)
    target = tmp_path / "gone" / "deeper"
    async with DownloadManager(tmp_path, options=fast_options()) as manager:
        (download_id,) = await manager.add_many(DownloadSpec([url], directory=target, paused=True))
        target.rmdir()
        target.parent.rmdir()
        await manager.resume(download_id)
        await asyncio.wait_for(manager.wait(), 10)
        snap = manager.download(download_id)
    assert snap.state is State.COMPLETED, snap.error
    assert (target / "again.bin").read_bytes() == body
