"""What a waiting download costs in the dashboard's view model (issue 14: the dashboard
with 100,000 queued within 250 MB, a waiting download well under 1 KB of Python objects).

Counted with tracemalloc, as tests/engine/test_queue_memory.py counts the engine's share:
10,000 downloads are queued (paused: nothing runs) in a real manager, and everything still
allocated after the model loaded them as the dashboard does at start (the snapshots'
list gone), found their order and indexed their names, is divided by the number of rows.
"""

from __future__ import annotations

import dataclasses
import tracemalloc
from pathlib import Path

from afetch_tui.engine import DownloadSpec, Limits, LogEntry, RegionInfo, State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.ui.model import ViewModel

COUNT = 10_000
BUDGET = 450
"""Bytes per waiting row. It was ~810 when each row kept its snapshot, a filter text of
its own, a reversed copy of its name in the name index and a (rank, id) tuple and a float
in the queue order; ~360 since."""


async def test_a_waiting_row_costs_well_under_half_a_kilobyte(manager: DownloadManager) -> None:
    urls = [f"http://127.0.0.1:9/q/{n}/f{n}.bin" for n in range(COUNT)]
    await manager.add_many(DownloadSpec(urls, paused=True))
    model = ViewModel()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        model.load(manager.downloads(), manager.hosts(), manager.limits)
        model.shown()
        model.similar_names(model.rows[model.order[0]].label)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(model.rows) == COUNT
    per_row = (after - before) / COUNT
    assert per_row < BUDGET, f"{per_row:.0f} bytes per waiting row"
    # what a row keeps still tells the whole snapshot
    assert [model.rows[i].snap for i in model.order] == manager.downloads()


async def test_a_row_gives_back_every_field_of_its_snapshot(
    manager: DownloadManager, tmp_path: Path
) -> None:
    """A row that does not run builds its snapshot again from what it kept: every field
    set to something other than its default comes back as it was given."""
    [download_id] = await manager.add_many(DownloadSpec(["http://127.0.0.1:9/a.bin"], paused=True))
    given = dataclasses.replace(
        manager.download(download_id),
        directory=tmp_path / "d",
        name="a.bin",
        state=State.FAILED,
        done=7,
        total=9,
        speed=1.0,
        speed_now=2.0,
        eta=3.0,
        retries=2,
        error="404 Not Found",
        connections=3,
        etag='"e"',
        last_modified="Wed, 02 Dec 2026 10:00:00 GMT",
        limit_rate=1000.0,
        added_at=5.0,
        finished_at=6.0,
        log=(LogEntry(5.5, "failed: 404 Not Found"),),
        checksum=("sha256", "ab" * 32),
        checksum_ok=False,
        max_connections=4,
        regions=(RegionInfo(0, 9, 7, True, 0.0),),
        retry_at=8.0,
    )
    defaults = {f.name for f in dataclasses.fields(given)} - {"id", "url", "host"}
    changed = {
        name
        for name in defaults
        if getattr(given, name) != getattr(manager.download(download_id), name)
    }
    assert changed == defaults  # the test sets every field
    model = ViewModel()
    model.load([given], [], Limits())
    row = model.rows[download_id]
    assert row.snap == given and row.snap is not given
