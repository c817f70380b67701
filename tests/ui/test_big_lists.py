"""What keeps the dashboard quick with many rows must not change what it shows: a
command's result is painted without waiting for the refresh timer, a cursor move repaints
the line it left, Escape after a filter restores the queue order with the cursor on its
download, and the collector policy freezes only after a full collection with many
survivors. (How quick it is: benchmarks/dashboard_keys.py.)"""

from __future__ import annotations

import gc

from test_find import NAMES, paused_queue
from test_live import until
from textual.widgets import Input

from afetch_tui.engine.events import State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.ui.app import AfetchApp
from afetch_tui.ui.collector import ShortCollections
from afetch_tui.ui.widgets.downloads_table import DownloadsTable

SIZE = (100, 30)


def painted_state(table: DownloadsTable, download_id: int) -> State | None:
    line = table.painted(download_id)
    return line[0].state if line is not None else None


async def test_a_commands_result_is_painted_before_the_next_refresh(
    manager: DownloadManager,
) -> None:
    ids = await paused_queue(manager)
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=0.1)  # a tick every 10 s
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: painted_state(table, ids[0]) is State.PAUSED)
        await pilot.press("p")  # resume the first: it leaves the paused state at once
        await until(pilot, lambda: painted_state(table, ids[0]) not in (State.PAUSED, None), 3)


async def test_a_cursor_move_repaints_the_line_it_left(manager: DownloadManager) -> None:
    ids = await paused_queue(manager)
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=0.1)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.painted(ids[0]) is not None)
        assert table.painted(ids[0]) == (manager.download(ids[0]), True)
        await pilot.press("down", "down")
        await pilot.pause()
        assert [line and line[1] for line in map(table.painted, ids)] == [
            False,
            False,
            True,
            False,
            False,
        ]


async def test_escape_after_a_filter_restores_the_order_and_keeps_the_cursor(
    manager: DownloadManager,
) -> None:
    ids = await paused_queue(manager)
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == 5)
        await pilot.press("down", "down")  # gamma.iso
        assert table.selected_id == ids[2]
        await pilot.press("slash", *".is")
        await until(pilot, lambda: table.shown_ids == [ids[0], ids[2], ids[4]])
        await pilot.press("x")  # narrowing on from ".is": none
        await until(pilot, lambda: table.row_count == 0)
        await pilot.press("backspace")  # wider again: not narrowed from ".isx"
        await until(pilot, lambda: table.shown_ids == [ids[0], ids[2], ids[4]])
        assert table.selected_id == ids[2]
        assert app.screen.query_one("#filter", Input).value == ".is"
        await pilot.press("escape")
        await until(pilot, lambda: table.shown_ids == ids)
        assert table.selected_id == ids[2] and table.cursor == 2
        assert [table.cells_at(n)["name"].plain for n in range(5)] == NAMES


def test_survivors_of_a_full_collection_are_frozen_only_when_many() -> None:
    policy = ShortCollections(freeze_after=10**9)
    policy.install()
    try:
        gc.collect()
        assert policy.freezes == 0
        policy.freeze_after = 1
        kept = [[n] for n in range(1000)]
        gc.collect(1)  # a young collection never freezes
        assert policy.freezes == 0
        gc.collect()
        assert policy.freezes == 1 and gc.get_freeze_count() >= len(kept)
    finally:
        policy.remove()
    assert policy._after_collection not in gc.callbacks
    gc.collect()
    assert policy.freezes == 1
