"""What a waiting download costs in memory (issue 14: well under 1 KB of Python objects).

Counted with tracemalloc, which counts the bytes Python allocates, so the figure does not
depend on the machine's load: 10,000 URLs are queued behind one stalled download (the
limits let one run), into a manager with a store, and everything still allocated after
``add_many`` returned (the downloads, the scheduler's entries, the manager's and the
tally's indexes, and whatever the journal keeps) is divided by the number queued.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from engine_helpers import fast_options
from faultserver import FaultServer

from afetch_tui.engine import DownloadSpec, Limits, State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.store import Store

COUNT = 10_000
BUDGET = 650
"""Bytes per waiting download. It was ~730 when every download had its own empty headers
dict and the order and the host's heap each their own (rank, id) tuple; ~610 since."""


async def test_a_waiting_download_costs_well_under_a_kilobyte(
    tmp_path: Path, server: FaultServer
) -> None:
    first = server.add_file("/stall.bin", b"x" * 1000, stall_after=10)
    urls = [first] + [server.url(f"/q/{i}/f{i}.bin") for i in range(1, COUNT)]
    store = await Store.open(tmp_path / "state.db")
    manager = DownloadManager(
        tmp_path / "out",
        limits=Limits(max_concurrent=1, max_per_host=1),
        options=fast_options(),
        store=store,
    )
    await manager.start()
    try:
        spec = DownloadSpec(urls)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            await manager.add_many(spec)
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        counts = manager.summary().counts
        assert counts.get(State.QUEUED, 0) >= COUNT - 1, counts
        per_download = (after - before) / COUNT
        assert per_download < BUDGET, f"{per_download:.0f} bytes per waiting download"
    finally:
        await manager.close()
        await store.close()
