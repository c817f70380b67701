"""Resuming a partial download only when the server proves it is the same entity.

Each test drops or corrupts an attempt on purpose and checks what the retry asked for
(Range, If-Range), what the server answered, and that the file on disk is byte-exact.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from afetch_tui.engine.events import State
from afetch_tui.engine.name_rules import PART_SUFFIX
from afetch_tui.engine.transfer import OVERLAP

KIB = 1024
MIB = 1024 * KIB
SIZE = 1 * MIB  # above SMALL_BODY, so the body is streamed and a drop leaves bytes behind
CUT = 300_000


def statuses(server, path: str) -> list[int | None]:
    return [r.status for r in server.requests_for(path, "GET")]


def assert_exact(directory: Path, name: str, expected: bytes) -> None:
    assert (directory / name).read_bytes() == expected
    assert not list(directory.glob(f"*{PART_SUFFIX}"))


async def served(server, path: str, expected: int) -> int:
    """Body bytes the server wrote for ``path``, once every record has settled."""
    await server.wait_for(lambda: all(r.finished for r in server.requests_for(path)))
    total = server.bytes_served(path)
    assert total == expected
    return total


# ----------------------------------------------------------------- with a validator


@pytest.mark.parametrize("validator", ["etag", "last_modified"])
async def test_drop_then_resume_with_validator(
    server, payload, manager, fetch, tmp_path, validator
):
    data = payload(SIZE, seed=1)
    url = server.add_file("/r.bin", data, drop_after=CUT, drop_times=1, etag=validator == "etag")
    entity = server.entity("/r.bin")

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.retries == 1
    assert_exact(tmp_path, "r.bin", data)
    first, second = server.requests_for("/r.bin", "GET")
    assert first.header("Range") is None
    assert first.aborted_by_server
    assert second.header("Range") == f"bytes={CUT}-"
    expected = entity.etag if validator == "etag" else entity.last_modified
    assert second.header("If-Range") == expected
    assert second.status == 206
    assert await served(server, "/r.bin", SIZE) < 2 * SIZE


async def test_resume_across_several_drops(server, payload, manager, fetch, tmp_path):
    data = payload(SIZE, seed=2)
    url = server.add_file("/multi.bin", data, drop_after=200_000, drop_times=3)

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.retries == 3
    assert_exact(tmp_path, "multi.bin", data)
    ranges = [r.header("Range") for r in server.requests_for("/multi.bin", "GET")]
    assert ranges == [None, "bytes=200000-", "bytes=400000-", "bytes=600000-"]
    await served(server, "/multi.bin", SIZE)


# -------------------------------------------------------------- without a validator


async def test_resume_without_validator_checks_overlap(server, payload, manager, fetch, tmp_path):
    data = payload(SIZE, seed=3)
    url = server.add_file(
        "/nv.bin", data, drop_after=CUT, drop_times=1, etag=False, last_modified=False
    )

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert_exact(tmp_path, "nv.bin", data)
    first, second = server.requests_for("/nv.bin", "GET")
    assert first.status == 200
    assert second.header("Range") == f"bytes={CUT - OVERLAP}-"
    assert second.header("If-Range") is None
    assert second.status == 206
    assert any("matching the last" in entry.message for entry in snap.log)
    await served(server, "/nv.bin", SIZE + OVERLAP)


async def test_overlap_mismatch_restarts_with_new_content(
    server, payload, manager, fetch, tmp_path
):
    old, new = payload(SIZE, seed=4), payload(SIZE, seed=5)  # same size: only bytes differ
    url = server.add_file(
        "/chg.bin",
        old,
        drop_after=CUT,
        drop_times=1,
        etag=False,
        last_modified=False,
        change_after=1,
        new_data=new,
    )

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert_exact(tmp_path, "chg.bin", new)
    first, second, third = server.requests_for("/chg.bin", "GET")
    assert first.status == 200
    assert second.header("Range") == f"bytes={CUT - OVERLAP}-"
    assert second.status == 206
    assert third.header("Range") is None
    assert third.status == 200
    assert any("no longer matches" in entry.message for entry in snap.log)


async def test_size_change_without_validator_restarts(server, payload, manager, fetch, tmp_path):
    new = payload(SIZE + 5000, seed=7)
    url = server.add_file(
        "/grow.bin",
        payload(SIZE, seed=6),
        drop_after=CUT,
        drop_times=1,
        etag=False,
        last_modified=False,
        change_after=1,
        new_data=new,
    )

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.total == len(new)
    assert_exact(tmp_path, "grow.bin", new)
    assert statuses(server, "/grow.bin") == [200, 206, 200]


# --------------------------------------------------------- the server breaks the resume


@pytest.mark.parametrize("times", [1, None], ids=["once", "always"])
async def test_range_ignored_restarts_from_zero(server, payload, manager, fetch, tmp_path, times):
    data = payload(SIZE, seed=8)
    url = server.add_file(
        "/ign.bin", data, drop_after=CUT, drop_times=1, ignore_range=True, ignore_range_times=times
    )

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.done == snap.total == SIZE
    assert_exact(tmp_path, "ign.bin", data)  # never the old bytes plus a whole second copy
    first, second = server.requests_for("/ign.bin", "GET")
    assert first.bytes_sent == CUT
    assert second.header("Range") == f"bytes={CUT}-"
    assert second.status == 200
    assert "ignore_range" in second.faults
    await served(server, "/ign.bin", CUT + SIZE)


async def test_entity_changed_between_attempts(server, payload, manager, fetch, tmp_path):
    old = payload(SIZE, seed=9)
    new = payload(SIZE - 12_345, seed=10)
    url = server.add_file(
        "/ent.bin", old, drop_after=CUT, drop_times=1, change_after=1, new_data=new
    )
    old_etag = server.entity("/ent.bin").etag

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert_exact(tmp_path, "ent.bin", new)
    assert snap.total == len(new)
    assert snap.etag == server.entity("/ent.bin").etag != old_etag
    first, second = server.requests_for("/ent.bin", "GET")
    assert first.status == 200
    assert second.header("If-Range") == old_etag
    assert second.header("Range") == f"bytes={CUT}-"
    assert second.status == 200


@pytest.mark.parametrize("mode", ["start", "total"])
async def test_wrong_content_range_restarts(server, payload, manager, fetch, tmp_path, mode):
    data = payload(SIZE, seed=11)
    url = server.add_file(
        "/cr.bin",
        data,
        drop_after=CUT,
        drop_times=1,
        wrong_content_range=mode,
        wrong_content_range_times=1,
    )

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert_exact(tmp_path, "cr.bin", data)
    first, second, third = server.requests_for("/cr.bin", "GET")
    assert first.status == 200
    assert second.header("Range") == f"bytes={CUT}-"
    assert second.status == 206
    assert "wrong_content_range" in second.faults
    assert third.header("Range") is None
    assert third.status == 200


# --------------------------------------------------------------------- short bodies


@pytest.mark.parametrize("size", [100 * KIB, SIZE], ids=["small", "large"])
async def test_truncated_every_time_fails(server, payload, make_manager, fetch, tmp_path, size):
    manager = await make_manager(retries=2)
    url = server.add_file("/short.bin", payload(size, seed=12), lie_length=1000)

    snap = await fetch(manager, url)

    assert snap.state is State.FAILED
    assert snap.error is not None
    assert "closed early" in snap.error
    assert "gave up after 2 retries" in snap.error
    assert snap.retries == 2
    assert not (tmp_path / "short.bin").exists()
    assert len(server.requests_for("/short.bin", "GET")) == 3


async def test_truncated_once_then_recovers(server, payload, manager, fetch, tmp_path):
    """The first body is short of its Content-Length; the bytes we hold are the whole
    entity, but the length we were promised is wrong, so nothing is trusted: from zero."""
    data = payload(SIZE, seed=13)
    url = server.add_file("/lie.bin", data, lie_length=1000, lie_length_times=1)

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.total == SIZE
    assert_exact(tmp_path, "lie.bin", data)
    requests = server.requests_for("/lie.bin", "GET")
    assert requests[0].status == 200
    assert requests[-1].status == 200
    assert requests[-1].header("Range") is None


# ----------------------------------------------------------- the .part file is tampered


@pytest.mark.parametrize("damage", ["shorter", "deleted"])
async def test_damaged_part_while_paused_restarts(
    server, payload, manager, settle, wait_until, tmp_path, damage
):
    data = payload(SIZE, seed=14)
    url = server.add_file("/dmg.bin", data, rate=4 * MIB)
    download_id = await manager.add(url)
    await wait_until(lambda: manager.download(download_id).done >= 256 * KIB)
    await manager.pause(download_id)
    part = tmp_path / ("dmg.bin" + PART_SUFFIX)
    assert part.stat().st_size == manager.download(download_id).done
    if damage == "shorter":
        with part.open("r+b") as file:
            file.truncate(1000)
    else:
        part.unlink()

    await manager.resume(download_id)
    await settle(manager)

    snap = manager.download(download_id)
    assert snap.state is State.COMPLETED, snap.error
    assert_exact(tmp_path, "dmg.bin", data)
    assert server.requests_for("/dmg.bin", "GET")[-1].header("Range") is None
