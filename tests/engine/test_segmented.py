"""Multi-connection downloads: region planning, work stealing, fallbacks, limits."""

from __future__ import annotations

import time

import pytest

from afetch_tui.engine.events import Limits, State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.regions import MIN_STEAL, Region, complete, safe_prefix, take_work

from engine_helpers import GUARD, fast_options  # isort: skip

MIB = 1024 * 1024


def _ranges(server, path: str) -> list[tuple[int, int | None]]:
    """(first, last) byte of every ranged GET the server saw; (0, None) for a plain GET."""
    out = []
    for request in server.requests_for(path, "GET"):
        header = request.header("Range")
        if not header:
            out.append((0, None))
            continue
        first, _, last = header.removeprefix("bytes=").partition("-")
        out.append((int(first), int(last) if last else None))
    return out


async def _manager(tmp_path, **options) -> DownloadManager:
    limits = options.pop("limits", Limits())
    manager = DownloadManager(tmp_path, limits=limits, options=fast_options(**options))
    await manager.start()
    return manager


# -- region planning -------------------------------------------------------------------


def test_take_work_halves_the_region_with_most_left():
    regions = [Region(0, 100 * MIB, done=10 * MIB, busy=True)]
    stolen = take_work(regions)
    assert stolen is not None and (stolen.start, stolen.end, stolen.busy) == (
        55 * MIB,
        100 * MIB,
        True,
    )
    assert regions[0].end == 55 * MIB
    again = take_work(regions)
    assert again is not None and again.start == 32 * MIB + MIB // 2
    assert [r.start for r in regions] == sorted(r.start for r in regions)


def test_take_work_prefers_idle_regions_and_refuses_tiny_splits():
    idle = Region(10 * MIB, 20 * MIB)
    regions = [Region(0, 10 * MIB, busy=True), idle]
    assert take_work(regions) is idle and idle.busy
    small = [Region(0, 2 * MIN_STEAL - 1, busy=True)]
    assert take_work(small) is None


def test_a_tail_too_small_to_split_is_taken_over_only_by_a_faster_connection():
    slow = Region(0, MIN_STEAL, done=10, busy=True)
    slow.since -= 10  # 1 byte a second
    assert take_work([slow], own_rate=0.0) is None
    taken = take_work([slow], own_rate=10 * MIB)
    assert taken is not None and (taken.start, taken.end) == (10, MIN_STEAL)
    assert slow.end == 10 and slow.taken_over
    quick = Region(0, MIN_STEAL, done=MIN_STEAL // 2, busy=True)
    quick.since -= 0.5
    assert take_work([quick], own_rate=MIN_STEAL) is None


def test_completion_and_safe_prefix():
    regions = [
        Region(0, 4, done=4, checkpoint=4),
        Region(4, 8, done=4, checkpoint=2),
        Region(8, 12, done=4, checkpoint=4),
    ]
    assert complete(regions, 12)
    assert safe_prefix(regions) == 6
    regions[1].done = 3
    assert not complete(regions, 12)


# -- real transfers --------------------------------------------------------------------


async def test_four_connections_fill_one_file_exactly(server, payload, tmp_path):
    data = payload(24 * MIB, seed=24)
    url = server.add_file("/s.bin", data, rate=12 * MIB)
    manager = await _manager(tmp_path, connections=4, min_split_size=4 * MIB)
    try:
        download_id = await manager.add(url)
        await manager.wait()
        snap = manager.download(download_id)
        assert snap.state is State.COMPLETED, snap.error
        assert (tmp_path / "s.bin").read_bytes() == data
        assert server.max_concurrent("/s.bin") == 4
        starts = [first for first, _ in _ranges(server, "/s.bin")]
        assert len(starts) >= 4 and starts[0] == 0
        assert server.bytes_served("/s.bin") < len(data) * 1.2
    finally:
        await manager.close()


async def test_per_host_cap_bounds_connections(server, payload, tmp_path):
    url = server.add_file("/capped.bin", payload(12 * MIB), rate=12 * MIB)
    manager = await _manager(
        tmp_path, connections=8, min_split_size=4 * MIB, limits=Limits(max_per_host=2)
    )
    try:
        download_id = await manager.add(url)
        await manager.wait()
        assert manager.download(download_id).state is State.COMPLETED
        assert server.max_concurrent("/capped.bin") == 2
    finally:
        await manager.close()


async def test_a_slow_connection_has_its_tail_taken(server, payload, tmp_path):
    """The first connection stalls; the others take over what it had left."""
    data = payload(16 * MIB, seed=16)
    url = server.add_file(
        "/slow.bin", data, stall_after=MIB, stall_times=1, stall_seconds=GUARD, rate=16 * MIB
    )
    manager = await _manager(tmp_path, connections=2, min_split_size=4 * MIB, timeout=GUARD)
    try:
        started = time.monotonic()
        download_id = await manager.add(url)
        await manager.wait()
        snap = manager.download(download_id)
        assert snap.state is State.COMPLETED, snap.error
        assert (tmp_path / "slow.bin").read_bytes() == data
        assert time.monotonic() - started < GUARD / 2, "the stalled connection held the tail"
        ranges = _ranges(server, "/slow.bin")
        inside_first_half = [first for first, _ in ranges[1:] if 0 < first < 8 * MIB]
        assert inside_first_half, f"nothing was taken from the stalled region: {ranges}"
    finally:
        await manager.close()


@pytest.mark.parametrize(
    "options",
    [
        {"ignore_range": True},  # no Accept-Ranges
        {"chunked": True},  # no length
        {"etag": False, "last_modified": False},  # no validator
    ],
    ids=["no-ranges", "no-length", "no-validator"],
)
async def test_falls_back_to_one_connection(server, payload, tmp_path, options):
    data = payload(8 * MIB, seed=8)
    url = server.add_file("/one.bin", data, **options)
    manager = await _manager(tmp_path, connections=4, min_split_size=2 * MIB)
    try:
        download_id = await manager.add(url)
        await manager.wait()
        assert manager.download(download_id).state is State.COMPLETED
        assert (tmp_path / "one.bin").read_bytes() == data
        assert len(server.requests_for("/one.bin", "GET")) == 1
    finally:
        await manager.close()


async def test_small_files_use_one_connection(server, payload, tmp_path):
    url = server.add_file("/small.bin", payload(3 * MIB))
    manager = await _manager(tmp_path, connections=4)
    try:
        await manager.add(url)
        await manager.wait()
        assert len(server.requests_for("/small.bin", "GET")) == 1
    finally:
        await manager.close()


async def test_ranges_advertised_but_ignored_restart_with_one_connection(server, payload, tmp_path):
    data = payload(8 * MIB, seed=3)
    url = server.add_file("/liar.bin", data, ignore_range=True, accept_ranges=True, rate=16 * MIB)
    manager = await _manager(tmp_path, connections=3, min_split_size=2 * MIB)
    try:
        download_id = await manager.add(url)
        await manager.wait()
        snap = manager.download(download_id)
        assert snap.state is State.COMPLETED, snap.error
        assert (tmp_path / "liar.bin").read_bytes() == data
        assert any("one connection" in entry.message for entry in snap.log)
    finally:
        await manager.close()


async def test_entity_change_on_another_connection_restarts_the_file(server, payload, tmp_path):
    old, new = payload(8 * MIB, seed=1), payload(8 * MIB, seed=2)
    url = server.add_file("/moving.bin", old, change_after=1, new_data=new, rate=16 * MIB)
    manager = await _manager(tmp_path, connections=2, min_split_size=2 * MIB)
    try:
        download_id = await manager.add(url)
        await manager.wait()
        snap = manager.download(download_id)
        assert snap.state is State.COMPLETED, snap.error
        assert (tmp_path / "moving.bin").read_bytes() == new
    finally:
        await manager.close()


async def test_a_dropped_connection_resumes_its_regions(server, payload, tmp_path):
    data = payload(16 * MIB, seed=11)
    url = server.add_file("/drop.bin", data, drop_after=3 * MIB, drop_times=1, rate=16 * MIB)
    manager = await _manager(tmp_path, connections=4, min_split_size=2 * MIB)
    try:
        download_id = await manager.add(url)
        await manager.wait()
        snap = manager.download(download_id)
        assert snap.state is State.COMPLETED, snap.error
        assert snap.retries >= 1
        assert (tmp_path / "drop.bin").read_bytes() == data
        assert server.bytes_served("/drop.bin") < len(data) * 1.5
    finally:
        await manager.close()


async def test_bandwidth_cap_holds_with_segments(server, payload, tmp_path):
    cap = 2 * MIB
    data = payload(10 * MIB, seed=5)
    url = server.add_file("/capped.bin", data)
    manager = await _manager(
        tmp_path, connections=4, min_split_size=2 * MIB, limits=Limits(rate=cap)
    )
    try:
        started = time.monotonic()
        await manager.add(url)
        await manager.wait()
        rate = len(data) / (time.monotonic() - started)
        assert abs(rate - cap) / cap < 0.05, f"{rate / cap:.3f} of the cap"
        ranged = [r for r in server.requests_for("/capped.bin", "GET") if r.header("Range")]
        assert len(ranged) >= 2, "the capped download was not split"
    finally:
        await manager.close()
