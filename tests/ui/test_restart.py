"""Quit the dashboard with twenty downloads in mixed states, start it again: same queue."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from faultserver import FaultServer
from textual.pilot import Pilot

from afetch_tui.engine.events import State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.engine.store import Store
from afetch_tui.ui.app import AfetchApp
from afetch_tui.ui.screens.prompts import ConfirmDialog

SLOW = 100_000


async def _until(pilot: Pilot, predicate, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.02)


async def _open(tmp_path: Path) -> DownloadManager:
    store = await Store.open(tmp_path / "state.db")
    manager = DownloadManager(
        tmp_path / "out", options=ManagerOptions(trust_env=False, retries=0), store=store
    )
    await manager.start()
    return manager


async def _close(manager: DownloadManager) -> None:
    await manager.close()
    assert manager.store is not None
    await manager.store.close()


async def test_quit_with_twenty_in_mixed_states_and_start_again(
    server: FaultServer, payload, tmp_path: Path
) -> None:
    manager = await _open(tmp_path)
    await manager.set_limits(replace(manager.limits, max_concurrent=3))
    done = await manager.add_many(
        DownloadSpec([server.add_file(f"/d{i}", payload(500)) for i in range(5)])
    )
    failed = await manager.add_many(
        DownloadSpec([server.add_status(f"/gone{i}", 404) for i in range(3)])
    )
    await manager.wait()
    slow = [server.add_file(f"/s{i}.bin", payload(2_000_000, seed=i), rate=SLOW) for i in range(12)]
    await manager.add_many(DownloadSpec(slow))
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
    async with app.run_test(size=(120, 36)) as pilot:
        await _until(pilot, lambda: server.active() == 3)
        table = app.query_one("DownloadsTable")
        for row in (11, 12, 13):  # three queued ones paused from the dashboard
            table.move_cursor(row=row)
            await pilot.press("space")
        await pilot.press("shift+up")  # and the last of them moved up one place
        await _until(pilot, lambda: sum(d.state is State.PAUSED for d in manager.downloads()) == 3)
        before = manager.downloads()
        await pilot.press("q")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.click("#yes")
        await _until(pilot, lambda: not app.is_running)
    await _close(manager)

    again = await _open(tmp_path)
    try:
        after = again.downloads()
        assert len(after) == 20
        assert [d.id for d in after] == [d.id for d in before]
        assert [d.url for d in after] == [d.url for d in before]
        was = {d.id: d.state for d in before}
        for d in after:
            if was[d.id] in (State.COMPLETED, State.FAILED, State.PAUSED):
                assert d.state is was[d.id], (d.id, was[d.id], d.state)
            else:  # running or queued: queued again, and the scheduler takes them up
                assert d.state.is_pending, (d.id, was[d.id], d.state)
        assert {d.id for d in after if d.state is State.COMPLETED} == set(done)
        assert {d.id for d in after if d.state is State.FAILED} == set(failed)
        assert again.limits.max_concurrent == 3
    finally:
        await again.pause_all()
        await _close(again)
