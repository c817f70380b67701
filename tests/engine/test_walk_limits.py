"""Limits applied while the queue runs: a lowered cap stays lowered, every host hears."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from engine_helpers import GUARD, fast_options

from afetch_tui.engine.events import HostUpdate, Limits
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.engine.urls import host_of

KIB = 1024


async def test_new_limits_keep_a_cap_lowered_by_pushback(server, payload, tmp_path) -> None:
    """A host at ``0/1↓`` after a 503 read ``3/3`` right after Apply in the settings."""
    pushy = server.add_file("/p/0.bin", payload(20_000), statuses=[503], retry_after="1")
    slow = [
        server.add_file(f"/p/{i}.bin", payload(200 * KIB, seed=i), rate=200 * KIB)
        for i in range(1, 8)
    ]
    name = host_of(pushy)
    limits = Limits(max_concurrent=8, max_per_host=3)
    async with DownloadManager(tmp_path, options=fast_options(), limits=limits) as m:
        await m.add_many(DownloadSpec([pushy, *slow]))
        await server.wait_for(lambda: m.hosts()[0].status_5xx == 1)
        (before,) = m.hosts()
        assert before.connection_cap == 1
        await m.set_limits(replace(m.limits, rate=100 * 1024 * KIB))
        for _ in range(40):  # while the cap is not due to grow (2 s after the pushback)
            (after,) = m.hosts()
            assert after.connection_cap == 1, after
            # Those running when the 503 came may finish; nothing more starts meanwhile.
            assert after.active <= max(1, before.active), after
            await asyncio.sleep(0.02)
        await m.set_limits(replace(m.limits, max_per_host=5))
        assert m.hosts()[0].connection_cap == 1
        await asyncio.wait_for(m.wait(), GUARD)
    assert name


async def test_new_limits_reach_every_host_even_an_idle_one(server, tmp_path) -> None:
    """After ``max_per_host`` 4 → 3 an idle host still read ``0/4`` until a restart."""
    urls = [server.add_file(f"/i/{i}.bin", b"i" * 1000) for i in range(2)]
    limits = Limits(max_concurrent=4, max_per_host=4)
    async with DownloadManager(tmp_path, options=fast_options(), limits=limits) as m:
        await m.add_many(DownloadSpec(urls))
        await asyncio.wait_for(m.wait(), GUARD)
        updates = m.subscribe(kinds=[HostUpdate])
        await m.set_limits(replace(m.limits, max_per_host=3))
        caps = {e.host.host: e.host.connection_cap for e in updates.drain()}
        assert caps == {host_of(urls[0]): 3}
