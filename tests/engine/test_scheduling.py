"""Scheduling: concurrency limits, queue order, request pacing, host pushback and host stats.

Concurrency is counted on the server (``max_concurrent``: bodies being served at once), with
files the server sends slowly so that downloads overlap.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest
from faultserver import FaultServer, RequestRecord

from afetch_tui.engine import hosts as hosts_module
from afetch_tui.engine.errors import InputError
from afetch_tui.engine.events import HostSnapshot, Limits, State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.engine.urls import host_of

KIB = 1024


def options() -> ManagerOptions:
    return ManagerOptions(trust_env=False, retry_base=0.02, retry_cap=0.1, progress_interval=0.05)


def localhost(server: FaultServer, path: str) -> str:
    """The same server, reached through another host name (both are loopback)."""
    return server.url(path).replace("127.0.0.1", "localhost", 1)


def slow_files(server: FaultServer, prefix: str, count: int, seconds: float) -> list[str]:
    """``count`` 64 KiB files the server takes ``seconds`` to send each."""
    size = 64 * KIB
    return [
        server.add_file(f"{prefix}{i}.bin", bytes([i]) * size, rate=size / seconds)
        for i in range(count)
    ]


def gets(server: FaultServer, prefix: str) -> list[RequestRecord]:
    return [r for r in server.requests if r.method == "GET" and r.path.startswith(prefix)]


def host(m: DownloadManager, name: str) -> HostSnapshot:
    return next(h for h in m.hosts() if h.host == name)


async def finish(m: DownloadManager, seconds: float = 10) -> None:
    await asyncio.wait_for(m.wait(), seconds)
    assert all(d.state is State.COMPLETED for d in m.downloads()), [
        (d.url, d.state, d.error) for d in m.downloads()
    ]


# ------------------------------------------------------------------------ concurrency


@pytest.mark.parametrize(
    ("max_concurrent", "max_per_host", "expected"), [(5, 2, 2), (3, 8, 3), (1, 4, 1)]
)
async def test_global_and_per_host_caps_together(
    server: FaultServer, tmp_path, max_concurrent: int, max_per_host: int, expected: int
) -> None:
    urls = slow_files(server, "/one/", 10, 0.2)
    limits = Limits(max_concurrent=max_concurrent, max_per_host=max_per_host)
    async with DownloadManager(tmp_path, options=options(), limits=limits) as m:
        await m.add_many(DownloadSpec(urls))
        await finish(m, 15)
    assert len(server.requests_for("/one/0.bin", "GET")) == 1
    assert server.max_concurrent("/one/") == expected


async def test_two_hosts_share_the_global_cap(server: FaultServer, tmp_path) -> None:
    a = slow_files(server, "/a/", 6, 0.25)
    b = [localhost(server, f"/b/{i}.bin") for i in range(6)]
    for i in range(6):
        server.add_file(f"/b/{i}.bin", bytes([i]) * 64 * KIB, rate=64 * KIB / 0.25)
    assert host_of(a[0]) != host_of(b[0])
    limits = Limits(max_concurrent=3, max_per_host=2)
    async with DownloadManager(tmp_path / "a", options=options(), limits=limits) as m:
        await m.add_many(DownloadSpec(a))
        await m.add_many(DownloadSpec(b, directory=tmp_path / "b"))
        await finish(m, 15)
        assert {h.host for h in m.hosts()} == {host_of(a[0]), host_of(b[0])}
    assert server.max_concurrent("/a/") == 2
    assert server.max_concurrent("/b/") == 2
    assert server.max_concurrent() == 3  # both hosts at once, never more than the global cap


async def test_a_host_at_its_cap_does_not_hold_up_other_hosts(
    server: FaultServer, tmp_path
) -> None:
    a = slow_files(server, "/busy/", 6, 0.3)
    other = server.add_file("/other.bin", b"x" * 1000)
    other = other.replace("127.0.0.1", "localhost", 1)
    limits = Limits(max_concurrent=5, max_per_host=2)
    async with DownloadManager(tmp_path, options=options(), limits=limits) as m:
        await m.add_many(DownloadSpec([*a, other]))  # the other host's file is last in the queue
        await finish(m, 15)
    other_started = server.requests_for("/other.bin", "GET")[0].started
    third_busy = sorted(r.started for r in gets(server, "/busy/"))[2]
    assert other_started < third_busy


async def test_queue_order_follows_move(server: FaultServer, tmp_path) -> None:
    blocker = slow_files(server, "/blk/", 1, 0.5)[0]
    urls = [server.add_file(f"/q/{name}.bin", name.encode() * 100) for name in "abcd"]
    limits = Limits(max_concurrent=1)
    async with DownloadManager(tmp_path, options=options(), limits=limits) as m:
        blk = await m.add(blocker)
        a, _b, _c, d = await m.add_many(DownloadSpec(urls))
        await m.move(d, -3)  # blk d a b c
        await m.move(a, 1)  # blk d b a c
        await m.move(blk, 10)  # a running download moves too, but it is already started
        assert m.download(blk).state is not State.QUEUED
        assert [x.id for x in m.downloads()][-1] == blk
        await finish(m)
    started = sorted(
        (r.started, r.path) for r in server.requests if r.method == "GET" and r.path != "/blk/0.bin"
    )
    assert [path for _, path in started] == ["/q/d.bin", "/q/b.bin", "/q/a.bin", "/q/c.bin"]
    assert server.requests[0].path == "/blk/0.bin"


async def test_raising_max_concurrent_live_starts_more(server: FaultServer, tmp_path) -> None:
    urls = slow_files(server, "/live/", 6, 0.8)
    limits = Limits(max_concurrent=1, max_per_host=8)
    async with DownloadManager(tmp_path, options=options(), limits=limits) as m:
        await m.add_many(DownloadSpec(urls))
        await server.wait_for(lambda: server.active("/live/") == 1)
        await asyncio.sleep(0.3)
        assert server.max_concurrent("/live/") == 1
        await m.set_limits(replace(m.limits, max_concurrent=4))
        await server.wait_for(lambda: server.active("/live/") == 4, timeout=2)
        await asyncio.sleep(0.2)
        await finish(m, 10)
    assert server.max_concurrent("/live/") == 4


async def test_host_request_rate_spaces_request_starts(server: FaultServer, tmp_path) -> None:
    rate = 5.0  # requests per second per host
    urls = [server.add_file(f"/r/{i}.bin", b"r" * 1000) for i in range(5)]
    others = [localhost(server, server.add_file(f"/o/{i}.bin", b"o" * 1000)) for i in range(2)]
    limits = Limits(max_concurrent=10, max_per_host=10, host_request_rate=rate)
    async with DownloadManager(tmp_path, options=options(), limits=limits) as m:
        queued = time.monotonic()
        await m.add_many(DownloadSpec([*urls, *others]))
        await finish(m)
        assert host(m, host_of(urls[0])).request_rate == rate
    starts = sorted(r.started for r in gets(server, "/r/"))
    other_starts = sorted(r.started for r in gets(server, "/o/"))
    assert len(starts) == 5 and len(other_starts) == 2
    # A host's bucket holds at most one token when the downloads are queued, so its i-th request
    # (from 0) cannot start before i / rate after that. Load only makes requests later,
    # never earlier, so this holds however busy the machine is (gaps between two requests
    # as the server sees them do not: a late request shortens the gap after it).
    for paced in (starts, other_starts):
        early = [(i, t - queued) for i, t in enumerate(paced) if t - queued < i / rate - 1e-3]
        assert not early, (early, [t - queued for t in paced])
    # The other host has its own pace: its two requests do not wait behind the first host's
    # (sharing one bucket, queued after them, they would start after all five).
    assert other_starts[1] < starts[-1], (other_starts, starts)


# --------------------------------------------------------------------- host pushback


async def test_429_holds_the_host_and_lowers_its_cap(
    server: FaultServer, payload, tmp_path
) -> None:
    pushy = server.add_file("/p/0.bin", payload(20_000, seed=1), statuses=[429], retry_after="1")
    slow = server.add_file("/p/1.bin", payload(256 * KIB, seed=2), rate=512 * KIB)
    queued = [server.add_file(f"/p/{i}.bin", payload(30_000, seed=i)) for i in range(2, 6)]
    name = host_of(pushy)
    limits = Limits(max_concurrent=5, max_per_host=2)
    async with DownloadManager(tmp_path, options=options(), limits=limits) as m:
        await m.add_many(DownloadSpec([pushy, slow, *queued]))
        await server.wait_for(lambda: host(m, name).status_429 == 1)
        during = host(m, name)
        assert during.connection_cap == 1 < limits.max_per_host
        assert 0.5 < during.cooldown_remaining <= 1.0
        # Another host is not held.
        elsewhere = localhost(server, server.add_file("/elsewhere.bin", b"e" * 1000))
        other_id = await m.add(elsewhere)
        await server.wait_for(lambda: m.download(other_id).state is State.COMPLETED, timeout=0.8)
        assert host(m, name).cooldown_remaining > 0
        await finish(m)
        after = host(m, name)
        assert after.status_429 == 1 and after.retries == 1 and after.completed == 6
        assert after.cooldown_remaining == 0
        assert after.connection_cap == 1  # successes within 2 s of the pushback: still lowered
        refused = next(r for r in server.requests_for("/p/0.bin", "GET") if r.status == 429)
        assert refused.finished is not None
        # The retry and the four queued downloads (/p/1.bin started with the refused one).
        later = [r for r in gets(server, "/p/") if r.path != "/p/1.bin" and r.status != 429]
        assert len(later) == 5
        assert min(r.started for r in later) >= refused.finished + 0.98
        # Success after the cap's recovery interval grows it back.
        await asyncio.sleep(max(0.0, refused.finished + 2.1 - time.monotonic()))
        await m.add(server.add_file("/p/6.bin", b"6" * 1000))
        await finish(m)
        assert host(m, name).connection_cap == limits.max_per_host


async def test_a_cap_that_grows_back_starts_more_at_once(
    server: FaultServer, payload, tmp_path
) -> None:
    """A 503 lowers the cap to 1; the success 2 s later grows it to 2 while a slow file
    holds the one slot: the next queued file starts then, not once the slow one is done
    (the host stayed parked at its old cap: 'waiting: starting' with 1 running, for as
    long as the slow file took)."""
    pushy = server.add_file("/g/0.bin", payload(20_000, seed=1), statuses=[503], retry_after="2")
    slow = server.add_file("/g/1.bin", payload(1024 * KIB, seed=2), rate=256 * KIB)
    quick = server.add_file("/g/2.bin", payload(30_000, seed=3))
    name = host_of(pushy)
    limits = Limits(max_concurrent=5, max_per_host=2)
    async with DownloadManager(tmp_path, options=options(), limits=limits) as m:
        first = await m.add(pushy)
        await server.wait_for(lambda: host(m, name).status_5xx == 1)
        assert host(m, name).connection_cap == 1
        slow_id, quick_id = await m.add_many(DownloadSpec([slow, quick]))
        # After the hold the retry runs first (queue order) and hands its slot to the
        # slow file; its success grows the cap to 2.
        await server.wait_for(lambda: m.download(first).state is State.COMPLETED, timeout=5)
        await server.wait_for(lambda: host(m, name).connection_cap == 2, timeout=1)
        await server.wait_for(lambda: m.download(quick_id).state is State.COMPLETED, timeout=1.5)
        assert m.download(slow_id).state is State.DOWNLOADING
        await finish(m)


async def test_a_cap_that_grows_back_with_time_starts_more_at_once(
    server: FaultServer, payload, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same with time alone (no success late enough): the ticker grows the cap while
    the slow file holds the only slot, and the next file starts then. The step is 10 s;
    here 0.5 s, so that the test is short."""
    monkeypatch.setattr(hosts_module, "CAP_RECOVERY_IDLE_STEP", 0.5)
    pushy = server.add_file("/t/0.bin", payload(20_000, seed=1), statuses=[503], retry_after="1")
    slow = server.add_file("/t/1.bin", payload(1024 * KIB, seed=2), rate=256 * KIB)
    quick = server.add_file("/t/2.bin", payload(30_000, seed=3))
    name = host_of(pushy)
    limits = Limits(max_concurrent=5, max_per_host=2)
    async with DownloadManager(tmp_path, options=options(), limits=limits) as m:
        first = await m.add(pushy)
        await server.wait_for(lambda: host(m, name).status_5xx == 1)
        slow_id, quick_id = await m.add_many(DownloadSpec([slow, quick]))
        await server.wait_for(lambda: m.download(first).state is State.COMPLETED, timeout=5)
        assert host(m, name).connection_cap == 1  # its success came too soon to grow it
        await server.wait_for(lambda: m.download(quick_id).state is State.COMPLETED, timeout=2)
        assert m.download(slow_id).state is State.DOWNLOADING
        await finish(m)


async def test_a_file_that_saves_gives_back_its_connection_with_its_slot(
    server: FaultServer, payload, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one connection per host, the next file starts as soon as the previous one's
    body is in, while its fsync still runs: the host counts one connection, not two (the
    saving one stayed counted until its request's bracket closed after the save: 'Conn
    4/3'). The server never serves two at once either."""
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:  # a slow disk
        time.sleep(0.6)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    files = [
        server.add_file("/s/0.bin", payload(200 * KIB, seed=1)),  # saved whole, then fsynced
        server.add_file("/s/1.bin", payload(256 * KIB, seed=2), rate=512 * KIB),
    ]
    name = host_of(files[0])
    limits = Limits(max_concurrent=5, max_per_host=1)
    seen: list[tuple[int, int]] = []
    async with DownloadManager(tmp_path, options=options(), limits=limits) as m:
        await m.add_many(DownloadSpec(files))
        while not all(d.state is State.COMPLETED for d in m.downloads()):
            snap = host(m, name)
            seen.append((snap.connections, snap.active))
            await asyncio.sleep(0.01)
        await finish(m)
    assert server.max_concurrent("/s/") == 1
    assert max(conns for conns, _ in seen) == 1, seen


async def test_a_lowered_cap_lets_running_files_finish_and_starts_no_new_one(
    server: FaultServer, tmp_path
) -> None:
    """Three run at 3 per host; the cap goes down to 1: the three finish (and the host
    says 3/1 meanwhile), and no new file starts until all three have."""
    running = slow_files(server, "/l/", 3, 2.0)
    queued = [server.add_file(f"/q/{i}.bin", bytes([i]) * 1000) for i in range(3)]
    name = host_of(running[0])
    async with DownloadManager(
        tmp_path, options=options(), limits=Limits(max_concurrent=8, max_per_host=3)
    ) as m:
        await m.add_many(DownloadSpec([*running, *queued]))
        await server.wait_for(lambda: server.active("/l/") == 3)
        await m.set_limits(replace(m.limits, max_per_host=1))
        during = host(m, name)
        assert (during.connections, during.connection_cap) == (3, 1)
        await finish(m)
    old = gets(server, "/l/")
    new = gets(server, "/q/")
    assert len(old) == 3 and len(new) == 3
    last_old = max(r.finished or 0.0 for r in old)
    assert all(r.started >= last_old for r in new)
    assert server.max_concurrent("/q/") == 1


async def test_the_total_speed_is_the_hosts_now_added_up(
    server: FaultServer, payload, tmp_path
) -> None:
    """One meter: `speed` (the headless progress line, the socket's snapshot) is the
    hosts' Now added up, also while one host goes idle and comes back (a second meter
    over all hosts, whose window restarts at other times, read 1-2% apart: 482 K
    against 490 K)."""
    steady = server.add_file("/r/0.bin", payload(600 * KIB, seed=1), rate=200 * KIB)
    other = localhost(server, "/r/1.bin")
    server.add_file("/r/1.bin", payload(100 * KIB, seed=2), rate=200 * KIB)
    later = localhost(server, "/r/2.bin")
    server.add_file("/r/2.bin", payload(200 * KIB, seed=3), rate=200 * KIB)
    apart: list[tuple[float, float]] = []
    async with DownloadManager(tmp_path, options=options()) as m:
        await m.add_many(DownloadSpec([steady, other]))
        deadline = time.monotonic() + 4.0
        added = False
        while time.monotonic() < deadline:
            if not added and time.monotonic() > deadline - 1.5:  # localhost idle ~2 s
                await m.add(later)
                added = True
            total = sum(h.speed_now for h in m.hosts())
            if abs(m.speed - total) > 1.0:
                apart.append((m.speed, total))
            await asyncio.sleep(0.01)
        await finish(m)
    assert not apart, apart[:5]


async def test_host_stats_are_plausible(server: FaultServer, payload, tmp_path) -> None:
    big = payload(int(1.5 * 1024 * KIB), seed=9)
    url = server.add_file("/s/big.bin", big)
    flaky = server.add_file("/s/flaky.bin", payload(5000, seed=10), statuses=[500])
    missing = server.url("/s/missing.bin")
    name = host_of(url)
    limits = Limits(rate=1024 * KIB)
    async with DownloadManager(tmp_path, options=options(), limits=limits) as m:
        await m.add_many(DownloadSpec([url, flaky, missing]))
        await asyncio.sleep(1.2)
        running = host(m, name)
        assert running.speed_now > 0
        assert running.active == 1 and running.connections == 1
        assert running.history and sum(running.history) > 0
        await asyncio.wait_for(m.wait(), 10)
        stats = host(m, name)
    assert stats.bytes == len(big) + 5000
    assert stats.completed == 2 and stats.failed == 1 and stats.retries == 1
    assert stats.status_5xx == 1 and stats.status_429 == 0
    assert stats.ttfb_mean is not None and 0 < stats.ttfb_mean < 1
    assert stats.active == stats.connections == stats.queued == 0
    assert stats.limit_rate is None and stats.request_rate is None
    assert stats.speed_avg > 0 and stats.history
    assert sum(stats.history) <= stats.bytes


async def test_a_directory_that_cannot_be_made_queues_nothing(tmp_path: Path) -> None:
    """A dangling link on the way passes the writability check, then mkdir fails: an
    `InputError` with nothing queued, not an OSError after part of a batch."""
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    async with DownloadManager(tmp_path) as m:
        with pytest.raises(InputError, match="cannot create directory"):
            await m.add_many(
                DownloadSpec(["http://127.0.0.1:9/a"], directory=tmp_path / "dangling" / "sub")
            )
        assert m.downloads() == []
