"""A real DownloadManager against the FaultServer: plain downloads, redirects and the
commands that stop a transfer (pause, resume, cancel, remove, retry)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from faultserver import FaultServer

from afetch_tui.engine.events import State, StateChanged
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.name_rules import PART_SUFFIX

KIB = 1024
MIB = 1024 * KIB


def only_request(server: FaultServer, path: str):
    (record,) = server.requests_for(path, "GET")
    return record


def assert_clean(directory: Path, name: str, expected: bytes) -> None:
    """The final file holds exactly ``expected`` and no ``.part`` is left behind."""
    assert (directory / name).read_bytes() == expected
    assert not list(directory.glob(f"*{PART_SUFFIX}"))


# ------------------------------------------------------------------- plain downloads


@pytest.mark.parametrize(
    ("size", "chunked"),
    [
        pytest.param(100 * KIB, False, id="small-length"),
        pytest.param(100 * KIB, True, id="small-chunked"),
        pytest.param(5 * MIB, False, id="large-length"),
        pytest.param(5 * MIB, True, id="large-chunked"),
    ],
)
async def test_plain_download_is_byte_exact(
    server, payload, manager, fetch, tmp_path, size, chunked
):
    data = payload(size, seed=size + chunked)
    url = server.add_file("/files/plain.bin", data, chunked=chunked)

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.error is None
    assert snap.name == "plain.bin"
    assert snap.done == snap.total == size
    assert snap.retries == 0
    assert_clean(tmp_path, "plain.bin", data)
    record = only_request(server, "/files/plain.bin")
    assert record.status == 200
    assert record.header("Accept-Encoding") == "identity"
    assert record.header("Range") is None
    assert record.header("If-Range") is None
    await server.wait_for(lambda: server.bytes_served("/files/plain.bin") == size)


async def test_empty_file_completes(server, manager, fetch, tmp_path):
    url = server.add_file("/files/empty.bin", b"")

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.done == snap.total == 0
    assert_clean(tmp_path, "empty.bin", b"")


async def test_validators_are_remembered(server, payload, manager, fetch):
    url = server.add_file("/v.bin", payload(10 * KIB))
    entity = server.entity("/v.bin")

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED
    assert snap.etag == entity.etag
    assert snap.last_modified == entity.last_modified


# ------------------------------------------------------------------------ redirects


async def test_redirect_names_file_after_original_url(server, payload, manager, fetch, tmp_path):
    data = payload(50 * KIB, seed=3)
    server.add_file("/store/real-name.bin", data)
    url = server.add_redirect("/get/wanted.iso", "/store/real-name.bin")

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.name == "wanted.iso"
    assert_clean(tmp_path, "wanted.iso", data)
    assert not (tmp_path / "real-name.bin").exists()
    assert [r.status for r in server.requests_for("/get/wanted.iso")] == [302]
    assert [r.status for r in server.requests_for("/store/real-name.bin")] == [200]


async def test_redirect_from_bare_path_names_file_after_target(
    server, payload, manager, fetch, tmp_path
):
    data = payload(20 * KIB, seed=4)
    server.add_file("/store/target.tar.gz", data)
    url = server.add_redirect("/", "/store/target.tar.gz", status=301)

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.name == "target.tar.gz"
    assert_clean(tmp_path, "target.tar.gz", data)


# ---------------------------------------------------------------- 416 with all bytes


async def test_416_when_every_byte_is_held_completes(
    server, payload, manager, settle, wait_until, tmp_path
):
    """Paused after the last byte was written but before publishing: the resume asks for
    ``bytes=size-``, the server answers 416 ``*/size``, and the download completes."""
    size = 2 * MIB
    data = payload(size, seed=5)
    url = server.add_file("/all.bin", data)
    verifying = asyncio.Event()
    download_id = 0

    async def pause_when_verifying(sub) -> None:
        async for event in sub:
            if isinstance(event, StateChanged) and event.state is State.VERIFYING:
                await manager.pause(download_id)
                verifying.set()
                return

    with manager.subscribe() as sub:
        watcher = asyncio.create_task(pause_when_verifying(sub))
        download_id = await manager.add(url)
        await asyncio.wait_for(verifying.wait(), 10)
        await watcher

    snap = manager.download(download_id)
    # The watcher wakes while the transfer awaits its flush in a thread, so it always lands.
    assert snap.state is State.PAUSED
    assert snap.done == snap.total == size
    part = tmp_path / ("all.bin" + PART_SUFFIX)
    assert part.stat().st_size == size
    assert not (tmp_path / "all.bin").exists()

    await manager.resume(download_id)
    await settle(manager)

    snap = manager.download(download_id)
    assert snap.state is State.COMPLETED, snap.error
    assert_clean(tmp_path, "all.bin", data)
    first, second = server.requests_for("/all.bin", "GET")
    assert first.status == 200
    assert second.header("Range") == f"bytes={size}-"
    assert second.header("If-Range") == server.entity("/all.bin").etag
    assert second.status == 416
    assert second.bytes_sent == 0


# ------------------------------------------------------- pause / resume / cancel / remove

HELD = 256 * KIB
"""Where `start_slow`'s server goes silent."""


async def start_slow(server, payload, manager, wait_until, path: str, size: int = 1 * MIB):
    """Start a throttled download and wait until it is well under way: its first GET goes
    silent after `HELD` bytes (the next is not held), so however late this test's loop
    runs, the download is still running, and every byte the server sent is on disk."""
    data = payload(size, seed=len(path))
    url = server.add_file(path, data, rate=4 * MIB, stall_after=HELD, stall_times=1)
    download_id = await manager.add(url)
    await wait_until(lambda: manager.download(download_id).done == HELD)
    return download_id, data


async def test_pause_keeps_part_then_resume_completes(
    server, payload, manager, settle, wait_until, tmp_path
):
    download_id, data = await start_slow(server, payload, manager, wait_until, "/slow.bin")

    await manager.pause(download_id)

    snap = manager.download(download_id)
    assert snap.state is State.PAUSED
    assert 0 < snap.done < len(data)
    part = tmp_path / ("slow.bin" + PART_SUFFIX)
    assert part.stat().st_size == snap.done
    assert part.read_bytes() == data[: snap.done]
    assert not (tmp_path / "slow.bin").exists()
    await server.wait_for(lambda: server.requests_for("/slow.bin")[0].finished is not None)
    (first,) = server.requests_for("/slow.bin")
    assert first.aborted_by_client
    assert not first.aborted_by_server
    await settle(manager, 1)  # a paused download leaves the manager idle
    held = snap.done

    await manager.resume(download_id)
    await settle(manager)

    snap = manager.download(download_id)
    assert snap.state is State.COMPLETED, snap.error
    assert_clean(tmp_path, "slow.bin", data)
    first, second = server.requests_for("/slow.bin", "GET")
    assert second.header("Range") == f"bytes={held}-"
    assert second.header("If-Range") == server.entity("/slow.bin").etag
    assert second.status == 206
    await server.wait_for(lambda: server.bytes_served("/slow.bin") == len(data))


@pytest.mark.parametrize("connections", [1, 2], ids=["whole", "split"])
async def test_bytes_held_for_a_bigger_write_land_when_the_stream_goes_silent(
    server, payload, make_manager, wait_until, tmp_path, connections
):
    """Small pieces wait (`body.MAX_HOLD`) to be written together; when the server then
    goes silent they are written anyway, not held until more comes: shown as done, and
    kept by a checkpoint should the process be killed meanwhile."""
    rate = 4 * MIB  # paced in slices of rate / 50 bytes, one every 20 ms
    silent_at = 4 * (rate // 50) + 1000  # four slices (written: 256 KiB), then 1000 bytes
    data = payload(2 * MIB, seed=3)
    url = server.add_file(
        "/quiet.bin", data, rate=rate, stall_after=silent_at, stall_times=connections
    )
    manager = await make_manager(connections=connections, min_split_size=MIB)
    download_id = await manager.add(url)
    await wait_until(lambda: manager.download(download_id).done == connections * silent_at)
    part = tmp_path / ("quiet.bin" + PART_SUFFIX)
    assert part.read_bytes()[:silent_at] == data[:silent_at]
    await manager.cancel(download_id)


async def test_cancel_deletes_part_and_writes_nothing(
    server, payload, manager, settle, wait_until, tmp_path
):
    download_id, _ = await start_slow(server, payload, manager, wait_until, "/gone.bin")
    assert (tmp_path / ("gone.bin" + PART_SUFFIX)).exists()

    await manager.cancel(download_id)
    await settle(manager)

    snap = manager.download(download_id)
    assert snap.state is State.CANCELLED
    assert list(tmp_path.iterdir()) == []
    await server.wait_for(lambda: server.requests_for("/gone.bin")[0].finished is not None)
    assert server.requests_for("/gone.bin")[0].aborted_by_client
    assert len(server.requests_for("/gone.bin")) == 1


async def test_remove_running_with_delete_file(
    server, payload, manager, settle, wait_until, tmp_path
):
    download_id, _ = await start_slow(server, payload, manager, wait_until, "/rm.bin")

    await manager.remove(download_id, delete_file=True)
    await settle(manager)

    assert [d.id for d in manager.downloads()] == []
    assert list(tmp_path.iterdir()) == []


async def test_remove_completed_keeps_or_deletes_file(server, payload, manager, fetch, tmp_path):
    data = payload(30 * KIB, seed=8)
    keep = await fetch(manager, server.add_file("/keep.bin", data))
    drop = await fetch(manager, server.add_file("/drop.bin", data))
    assert keep.state is drop.state is State.COMPLETED

    await manager.remove(keep.id)
    await manager.remove(drop.id, delete_file=True)

    assert manager.downloads() == []
    assert (tmp_path / "keep.bin").read_bytes() == data
    assert not (tmp_path / "drop.bin").exists()


async def test_retry_a_failed_download(server, payload, manager, fetch, settle, tmp_path):
    data = payload(40 * KIB, seed=9)
    url = server.add_file("/later.bin", data, statuses=[404])

    snap = await fetch(manager, url)
    assert snap.state is State.FAILED
    assert not (tmp_path / "later.bin").exists()

    await manager.retry(snap.id)
    await settle(manager)

    snap = manager.download(snap.id)
    assert snap.state is State.COMPLETED, snap.error
    assert snap.error is None
    assert_clean(tmp_path, "later.bin", data)
    assert [r.status for r in server.requests_for("/later.bin")] == [404, 200]


async def test_manager_close_keeps_part(server, payload, tmp_path, make_manager, wait_until):
    mgr: DownloadManager = await make_manager()
    download_id, data = await start_slow(server, payload, mgr, wait_until, "/closing.bin")

    await asyncio.wait_for(mgr.close(), 5)

    snap = mgr.download(download_id)
    part = tmp_path / ("closing.bin" + PART_SUFFIX)
    assert part.read_bytes() == data[: snap.done]
    assert not (tmp_path / "closing.bin").exists()


@pytest.mark.parametrize(
    ("action", "size", "outcome"),
    [
        # A small body is named, written and published in one thread hop: once begun it
        # runs to its end, so the download completes.
        pytest.param("cancel", 500 * KIB, State.COMPLETED, id="cancel-small"),
        pytest.param("pause", 500 * KIB, State.COMPLETED, id="pause-small"),
        # A streamed body is stopped before its rename.
        pytest.param("cancel", 2 * MIB, State.CANCELLED, id="cancel-large"),
        pytest.param("pause", 2 * MIB, State.PAUSED, id="pause-large"),
    ],
)
async def test_stop_while_verifying_leaves_state_and_disk_agreeing(
    server, payload, manager, settle, tmp_path, action, size, outcome
):
    """A pause or cancel that lands while the last bytes are written and the file renamed
    must never leave a published file behind a paused or cancelled download."""
    data = payload(size, seed=10)
    url = server.add_file("/v.bin", data)
    stopped = asyncio.Event()
    download_id = 0

    async def stop_when_verifying(sub) -> None:
        async for event in sub:
            if isinstance(event, StateChanged) and event.state is State.VERIFYING:
                await getattr(manager, action)(download_id)
                stopped.set()
                return

    with manager.subscribe() as sub:
        watcher = asyncio.create_task(stop_when_verifying(sub))
        download_id = await manager.add(url)
        await asyncio.wait_for(stopped.wait(), 10)
        await watcher
    await settle(manager)
    await asyncio.sleep(0.05)  # give a stray writer thread the time to show itself

    snap = manager.download(download_id)
    assert snap.state is outcome
    if outcome is State.COMPLETED:
        assert snap.name == "v.bin"
        assert_clean(tmp_path, "v.bin", data)
    elif outcome is State.PAUSED:
        assert files_in(tmp_path) == {"v.bin" + PART_SUFFIX}
        assert (tmp_path / ("v.bin" + PART_SUFFIX)).read_bytes() == data
    else:
        assert files_in(tmp_path) == set()


def files_in(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}
