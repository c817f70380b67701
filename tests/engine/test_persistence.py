"""The store and the manager's persistence: the queue survives quits, crashes and bad files."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from engine_helpers import GUARD, fast_options

from afetch_tui.engine.errors import StoreError
from afetch_tui.engine.events import Limits, State, StateChanged
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.engine.store import SCHEMA_VERSION, Store

MIB = 1024 * 1024


async def open_manager(directory: Path, state: Path, **kwargs) -> DownloadManager:
    store = await Store.open(state)
    manager = DownloadManager(directory, options=fast_options(), store=store, **kwargs)
    await manager.start()
    return manager


async def shut(manager: DownloadManager) -> None:
    await asyncio.wait_for(manager.close(), GUARD)
    assert manager.store is not None
    await manager.store.close()


async def test_fresh_store_is_migrated_and_versioned(tmp_path):
    store = await Store.open(tmp_path / "s.db")
    await store.close()
    conn = sqlite3.connect(tmp_path / "s.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


async def test_a_second_process_on_the_same_store_is_refused(tmp_path):
    first = await Store.open(tmp_path / "s.db")
    with pytest.raises(StoreError, match="another afetch"):
        await Store.open(tmp_path / "s.db")
    await first.close()
    again = await Store.open(tmp_path / "s.db")
    await again.close()


async def test_a_corrupt_store_is_moved_aside_with_a_notice(tmp_path):
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not a database, just garbage " * 200)
    store = await Store.open(path)
    assert store.notice and "moved" in store.notice
    records, settings = await store.load()
    assert records == [] and settings == {}
    await store.close()
    assert list(tmp_path.glob("s.db.corrupt-*"))


async def test_a_newer_schema_is_refused_clearly(tmp_path):
    path = tmp_path / "s.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer afetch"):
        await Store.open(path)


async def test_queue_with_mixed_states_survives_a_quit(server, payload, tmp_path, wait_until):
    """Twenty downloads in mixed states come back in the same order with the same states."""
    out, state = tmp_path / "out", tmp_path / "state.db"
    urls = [server.add_file(f"/m/{i}.bin", payload(2000, seed=i)) for i in range(8)]
    slow = [
        server.add_file(f"/slow/{i}.bin", payload(4 * MIB, seed=i), rate=200_000) for i in range(6)
    ]
    missing = server.add_status("/gone", 404)
    manager = await open_manager(out, state, limits=Limits(max_concurrent=3, max_per_host=3))
    done_ids = await manager.add_many(DownloadSpec(urls))
    failed_id = await manager.add(missing)
    await asyncio.wait_for(manager.wait(), GUARD)
    paused_ids = await manager.add_many(DownloadSpec(slow[:2], paused=True))
    running_ids = await manager.add_many(DownloadSpec(slow[2:]))
    queued_ids = await manager.add_many(DownloadSpec(urls[:5], paused=False))
    await manager.move(queued_ids[-1], -3)
    await wait_until(lambda: all(manager.download(i).done > 0 for i in running_ids[:3]))
    await manager.set_limits(replace(manager.limits, rate=5 * MIB))
    before = manager.downloads()
    await shut(manager)

    assert len(before) == 20
    again = await open_manager(out, state)
    try:
        after = again.downloads()
        assert [d.id for d in after] == [d.id for d in before]
        assert [d.url for d in after] == [d.url for d in before]
        by_id = {d.id: d for d in after}
        assert all(by_id[i].state is State.COMPLETED for i in done_ids)
        assert by_id[failed_id].state is State.FAILED
        assert "404" in (by_id[failed_id].error or "")
        assert all(by_id[i].state is State.PAUSED for i in paused_ids)
        # what was running or queued is queued again (and the scheduler starts it)
        assert all(
            by_id[i].state in (State.QUEUED, State.CONNECTING, State.DOWNLOADING)
            for i in running_ids + queued_ids
        )
        assert again.limits.rate == 5 * MIB
        assert again.limits.max_concurrent == 3
    finally:
        await shut(again)


async def test_running_download_resumes_from_its_checkpoint(server, payload, tmp_path, wait_until):
    """After a quit mid-transfer, the restart asks for the rest with Range + If-Range."""
    out, state = tmp_path / "out", tmp_path / "state.db"
    data = payload(6 * MIB, seed=3)
    url = server.add_file("/big.bin", data, rate=3 * MIB)
    manager = await open_manager(out, state)
    download_id = await manager.add(url)
    await wait_until(lambda: manager.download(download_id).done >= 2 * MIB)
    await shut(manager)
    server.clear_requests()

    again = await open_manager(out, state)
    try:
        await asyncio.wait_for(again.wait(), GUARD)
        snap = again.download(download_id)
        assert snap.state is State.COMPLETED, snap.error
        assert (out / "big.bin").read_bytes() == data
        (request,) = server.requests_for("/big.bin")
        start = int(request.header("Range").removeprefix("bytes=").rstrip("-"))
        assert start >= 2 * MIB
        assert request.header("If-Range") == server.entity("/big.bin").etag
        assert server.bytes_served("/big.bin") <= len(data) - start
    finally:
        await shut(again)


async def test_completed_history_and_limits_reload_without_network(server, payload, tmp_path):
    out, state = tmp_path / "out", tmp_path / "state.db"
    url = server.add_file("/one.bin", payload(1000))
    manager = await open_manager(out, state)
    download_id = await manager.add(url)
    await asyncio.wait_for(manager.wait(), GUARD)
    await manager.set_host_limit(manager.download(download_id).host, 100_000)
    await shut(manager)
    server.clear_requests()

    again = await open_manager(out, state)
    try:
        snap = again.download(download_id)
        assert snap.state is State.COMPLETED
        assert snap.done == snap.total == 1000
        assert snap.log, "the attempt log is kept"
        assert again.hosts()[0].limit_rate == 100_000
        await asyncio.sleep(0.1)
        assert server.requests == []
    finally:
        await shut(again)


async def test_explicit_limits_win_over_stored_ones(tmp_path):
    state = tmp_path / "state.db"
    manager = await open_manager(tmp_path, state)
    await manager.set_limits(replace(manager.limits, max_concurrent=2))
    await shut(manager)
    again = await open_manager(tmp_path, state, limits=Limits(max_concurrent=7))
    assert again.limits.max_concurrent == 7
    await shut(again)


async def test_a_database_locked_by_another_program_is_one_clear_error(tmp_path):
    path = tmp_path / "s.db"
    store = await Store.open(path)
    await store.close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode = DELETE")
    other.execute("BEGIN EXCLUSIVE")  # another program holds the file
    try:
        with pytest.raises(StoreError, match="locked"):
            await Store.open(path)
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_the_lock_file_is_never_followed_through_a_link(tmp_path):
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    (tmp_path / "s.db.lock").symlink_to(victim)
    with pytest.raises(StoreError, match="symbolic link"):
        await Store.open(tmp_path / "s.db")
    assert victim.read_text() == "keep me"


async def test_the_lock_file_is_private(tmp_path):
    store = await Store.open(tmp_path / "s.db")
    await store.close()
    assert (tmp_path / "s.db.lock").stat().st_mode & 0o777 == 0o600


async def test_checkpoints_of_another_boot_count_only_as_far_as_they_were_synced(tmp_path):
    from afetch_tui.engine.journal import boot_id
    from afetch_tui.engine.records import Record

    def record(download_id: int, boot: str | None) -> Record:
        return Record(
            id=download_id, url=f"http://127.0.0.1:9/{download_id}.bin", directory=str(tmp_path),
            requested_name=None, name=f"{download_id}.bin", headers={}, state="paused",
            checkpoint=8 * MIB, total=16 * MIB, etag='"e"', last_modified=None, retries=0,
            error=None, rank=float(download_id), limit_rate=None, added_at=0.0,
            finished_at=None, log=[], boot_id=boot, synced=2 * MIB,
        )  # fmt: skip

    split = record(3, "another boot")
    split.regions = [[0, 8 * MIB, 6 * MIB, 1 * MIB], [8 * MIB, 16 * MIB, 4 * MIB, 3 * MIB]]
    store = await Store.open(tmp_path / "s.db")
    await store.save([record(1, boot_id()), record(2, "another boot"), split])
    await store.close()
    manager = await open_manager(tmp_path, tmp_path / "s.db")
    try:
        done = {d.id: d.done for d in manager.downloads()}
        assert done == {1: 8 * MIB, 2: 2 * MIB, 3: 1 * MIB + 3 * MIB}
    finally:
        await shut(manager)


async def test_a_cancelled_download_retried_after_a_restart_claims_a_name_of_its_own(
    server, payload, tmp_path, wait_until
):
    """A cancelled download holds no name (its ``.part`` is deleted), so after a restart a
    new download may take that name: retrying the cancelled one claims a name again and
    never writes into the new one's ``.part`` (it used to reopen it with O_CREAT)."""
    out, state = tmp_path / "out", tmp_path / "state.db"
    a_data, b_data = payload(2 * MIB, seed=21), payload(2 * MIB, seed=22)
    url_a = server.add_file("/a/f.bin", a_data, rate=4 * MIB)
    url_b = server.add_file("/b/f.bin", b_data, stall_after=MIB)
    manager = await open_manager(out, state)
    a = await manager.add(url_a)
    await wait_until(lambda: manager.download(a).done >= MIB // 4)
    await manager.cancel(a)
    await shut(manager)

    again = await open_manager(out, state)
    try:
        b = await again.add(url_b)
        await wait_until(lambda: again.download(b).done >= MIB)  # stalled, holding f.bin.part
        assert again.download(b).name == "f.bin"
        await again.retry(a)
        await wait_until(lambda: again.download(a).state.is_finished)
        snap = again.download(a)
        assert snap.state is State.COMPLETED, snap.error
        assert snap.name != "f.bin"
        assert (out / snap.name).read_bytes() == a_data
        assert (out / "f.bin.part").read_bytes()[:MIB] == b_data[:MIB]  # B's, untouched
        assert again.download(b).name == "f.bin"
    finally:
        await shut(again)


async def test_a_restart_never_runs_more_than_the_limit(server, payload, tmp_path):
    """Six downloads were running at -j 6 when the manager quit; it starts again with -j 2
    (``limit_changes``, as the command line gives them): two transfer at a time from the
    first, and -j 2 is saved. Applied after the start, the six ran at once (``6/2``)."""
    out, state = tmp_path / "out", tmp_path / "state.db"
    urls = [
        server.add_file(f"/r/{i}.bin", payload(400_000, seed=i), rate=800_000) for i in range(6)
    ]
    manager = await open_manager(out, state)
    await manager.set_limits(replace(manager.limits, max_concurrent=6, max_per_host=6))
    await manager.add_many(DownloadSpec(urls))
    await shut(manager)

    store = await Store.open(state)
    again = DownloadManager(
        out, options=fast_options(), store=store, limit_changes={"max_concurrent": 2}
    )
    events = again.subscribe(lossless=True, kinds=[StateChanged])
    transferring: set[int] = set()
    most = 0
    await again.start()
    try:
        assert again.limits == replace(Limits(), max_concurrent=2, max_per_host=6)
        waited = asyncio.ensure_future(again.wait())
        while not waited.done():
            for event in events.drain():
                assert isinstance(event, StateChanged)
                # One saving its file (verifying) has given its slot to the next already.
                if event.state in (State.CONNECTING, State.DOWNLOADING):
                    transferring.add(event.id)
                else:
                    transferring.discard(event.id)
                most = max(most, len(transferring))
            await asyncio.sleep(0.005)
        await asyncio.wait_for(waited, GUARD)
        assert all(d.state is State.COMPLETED for d in again.downloads())
        assert most == 2
    finally:
        await shut(again)
    _, saved = await (store := await Store.open(state)).load()
    await store.close()
    assert saved["limits"]["max_concurrent"] == 2
