"""Progress and rates follow bytes as they arrive: small files show progress, a steady
stream reads steady, and a total cap is shared max-min fairly."""

from __future__ import annotations

import asyncio

from faultserver import FaultServer

from afetch_tui.engine.events import Limits, Progress
from afetch_tui.engine.meter import RateMeter
from afetch_tui.engine.spec import DownloadSpec


async def test_a_small_file_shows_progress_while_it_arrives(server, make_manager, payload, settle):
    body = payload(300_000)  # under SMALL_BODY: read whole, but counted as it comes
    url = server.add_file("/small.bin", body, rate=600_000)  # ~0.5 s
    manager = await make_manager()
    sub = manager.subscribe()
    download_id = await manager.add(url)
    seen: list[Progress] = []
    while not manager.download(download_id).state.is_finished:
        # progress coalesces per download: read it as it comes, as the dashboard does
        seen += [e for e in sub.drain() if isinstance(e, Progress) and e.id == download_id]
        await asyncio.sleep(0.02)
    await settle(manager)
    sub.close()
    partial = [e.done for e in seen if 0 < e.done < len(body)]
    assert partial, f"no progress between 0 and the end: {[e.done for e in seen]}"
    assert any(e.speed_now > 0 for e in seen)
    assert manager.download(download_id).done == len(body)


async def test_a_steady_stream_has_no_empty_seconds(server, make_manager, payload, settle):
    url = server.add_file("/steady.bin", payload(400_000), rate=100_000)  # 4 s
    manager = await make_manager()
    download_id = await manager.add(url)
    await asyncio.sleep(1.2)  # past the first second
    samples = []
    for _ in range(8):
        await asyncio.sleep(0.25)
        samples.append(manager.download(download_id).speed_now)
    await settle(manager)
    assert min(samples) > 50_000, samples  # never a zero second, never half


def test_the_smoothed_speed_follows_a_change_within_three_seconds() -> None:
    meter = RateMeter(0.0)
    now = 0.0
    for _ in range(40):  # 10 s at 400 kB/s
        now += 0.25
        meter.add(100_000)
        meter.tick(now)
    for _ in range(12):  # 3 s at 100 kB/s
        now += 0.25
        meter.add(25_000)
        meter.tick(now)
    assert abs(meter.smoothed - 100_000) < 20_000, meter.smoothed


async def test_a_total_cap_is_shared_max_min_fairly(make_manager, payload) -> None:
    """Total 1 MiB/s over three hosts, one capped at 200 KiB/s: that one gets its cap,
    the other two split the rest (a real 5-second measurement)."""
    servers = [FaultServer().start() for _ in range(3)]
    try:
        urls = [
            s.add_file("/big.bin", payload(4 * 1024 * 1024, seed=n)) for n, s in enumerate(servers)
        ]
        manager = await make_manager(chunk_size=256 * 1024)
        await manager.set_limits(Limits(max_concurrent=5, max_per_host=4, rate=1024 * 1024))
        capped = f"127.0.0.1:{servers[0].port}"
        await manager.set_host_limit(capped, 200 * 1024)
        await manager.add_many(DownloadSpec(urls))
        await asyncio.sleep(1.0)  # connections up, buckets in their stride
        before = {h.host: h.bytes for h in manager.hosts()}
        await asyncio.sleep(4.0)
        rates = {h.host: (h.bytes - before.get(h.host, 0)) / 4.0 for h in manager.hosts()}
        await manager.pause_all()
    finally:
        for s in servers:
            s.stop()
    KiB = 1024
    assert 170 * KiB <= rates[capped] <= 230 * KiB, rates
    others = [rate for host, rate in rates.items() if host != capped]
    for rate in others:
        assert 330 * KiB <= rate <= 480 * KiB, rates
    assert 900 * KiB <= sum(rates.values()) <= 1100 * KiB, rates
