"""Finding and acting on many: filter, state filter, sort, marks, bulk actions, moves."""

from __future__ import annotations

import asyncio
import time

from faultserver import FaultServer
from test_live import until
from textual.widgets import Input

from afetch_tui.engine.events import State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.ui.app import AfetchApp
from afetch_tui.ui.model import Show, Sort
from afetch_tui.ui.screens.add_dialog import AddDialog
from afetch_tui.ui.screens.prompts import ConfirmDialog
from afetch_tui.ui.widgets.downloads_table import DownloadsTable

SIZE = (100, 30)
NAMES = ["alpha.iso", "beta.tar.gz", "gamma.iso", "delta.zip", "epsilon.iso"]


async def paused_queue(manager: DownloadManager) -> list[int]:
    """Five paused downloads to a closed port (nothing runs, nothing leaves loopback)."""
    return await manager.add_many(
        DownloadSpec([f"http://127.0.0.1:9/files/{name}" for name in NAMES], paused=True)
    )


def toasts(app: AfetchApp) -> str:
    """Every notification's text, current ones included."""
    return " | ".join(notice.message for notice in app._notifications)


def app_for(manager: DownloadManager) -> AfetchApp:
    return AfetchApp(manager, cursor_blink=False, refresh_hz=20)


async def test_slash_filters_as_you_type_and_escape_clears(manager: DownloadManager) -> None:
    ids = await paused_queue(manager)
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == 5)
        await pilot.press("slash")
        assert app.screen.query_one("#filter", Input).has_focus
        await pilot.press(*".iso")
        await until(pilot, lambda: table.shown_ids == [ids[0], ids[2], ids[4]])
        assert "“.iso”" in str(app.screen.query_one("#downloads-box").border_title)
        await pilot.press("enter")  # keeps the filter, back to the table
        assert table.has_focus
        await pilot.press("escape")
        await until(pilot, lambda: table.shown_ids == ids)


async def test_state_filter_and_sort_cycle(manager: DownloadManager) -> None:
    ids = await paused_queue(manager)
    await manager.cancel(ids[1])
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == 5)
        await pilot.press("v")  # active: nothing runs
        assert app.model.show is Show.ACTIVE
        await until(pilot, lambda: table.row_count == 0)
        await pilot.press("v", "v")  # waiting, then failed (and cancelled)
        assert app.model.show is Show.FAILED
        await until(pilot, lambda: table.shown_ids == [ids[1]])
        await pilot.press("escape")
        await until(pilot, lambda: table.row_count == 5)
        await pilot.press("o")  # by name
        assert app.model.sort is Sort.NAME
        by_name = [ids[NAMES.index(n)] for n in sorted(NAMES)]
        await until(pilot, lambda: table.shown_ids == by_name)
        assert "by name" in str(app.screen.query_one("#downloads-box").border_title)


async def test_marks_act_together_and_move_to_the_top(manager: DownloadManager) -> None:
    ids = await paused_queue(manager)
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == 5)
        await pilot.press("j", "j", "m", "m")  # marks rows 3 and 4, the cursor moves on
        assert app.model.marks == {ids[2], ids[3]}
        assert "2 marked" in str(app.screen.query_one("#downloads-box").border_subtitle)
        await pilot.press("t")  # both to the top, in their order
        await until(pilot, lambda: [d.id for d in manager.downloads()][:2] == [ids[2], ids[3]])
        await until(pilot, lambda: table.shown_ids[:2] == [ids[2], ids[3]])
        await pilot.press("b")  # and to the bottom
        await until(pilot, lambda: [d.id for d in manager.downloads()][-2:] == [ids[2], ids[3]])
        await pilot.press("x")  # cancel both, after a confirmation
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.click("#yes")
        await until(
            pilot,
            lambda: [manager.download(i).state for i in (ids[2], ids[3])] == [State.CANCELLED] * 2,
        )
        assert manager.download(ids[0]).state is State.PAUSED
        await pilot.press("escape")  # clears the marks
        assert not app.model.marks
        await pilot.press("asterisk")  # marks every row shown
        assert app.model.marks == set(ids)


async def test_cursor_keys_and_ends(manager: DownloadManager) -> None:
    ids = await paused_queue(manager)
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == 5)
        await pilot.press("G")
        assert table.selected_id == ids[-1]
        await pilot.press("k")
        assert table.selected_id == ids[-2]
        await pilot.press("g")
        assert table.selected_id == ids[0]
        await pilot.press("end", "up", "home", "down")
        assert table.selected_id == ids[1]


async def test_retry_on_a_row_that_has_not_failed_asks_first(
    manager: DownloadManager, closed_port: int
) -> None:
    ids = await manager.add_many(DownloadSpec([f"http://127.0.0.1:{closed_port}/gone.bin"]))
    await until_state(manager, ids[0], State.FAILED)
    await manager.add_many(DownloadSpec(["http://127.0.0.1:9/later.bin"], paused=True))
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == 2)
        await pilot.press("j", "r")  # on the paused row
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("escape")  # no: nothing is retried
        await pilot.pause(0.1)
        assert manager.download(ids[0]).state is State.FAILED


async def test_re_adding_a_known_url_asks_first(manager: DownloadManager) -> None:
    (first,) = await manager.add_many(DownloadSpec(["http://127.0.0.1:9/same.bin"], paused=True))
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == 1)
        app.dashboard.add_downloads(
            AddDialog(manager.directory, text="http://127.0.0.1:9/same.bin", paused=True)
        )
        await pilot.pause(0.2)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("escape")  # skip it: nothing new is added
        await pilot.pause(0.2)
        assert [d.id for d in manager.downloads()] == [first]


async def until_state(manager: DownloadManager, download_id: int, state: State) -> None:
    deadline = time.monotonic() + 5
    while manager.download(download_id).state is not state:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def test_y_copies_the_url_and_shift_y_the_path(
    server: FaultServer, manager: DownloadManager, payload
) -> None:
    """`y` puts the selected download's URL on the clipboard (Textual's
    `copy_to_clipboard`), `Y` its file's path, or its folder while the name is unknown;
    the toast says which."""
    url = server.add_file("/pub/done.iso", payload(1000))
    await manager.add_many(DownloadSpec([url]))
    await manager.wait()
    await paused_queue(manager)
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == 6)
        await pilot.press("y")
        assert app.clipboard == url
        await pilot.press("Y")
        assert app.clipboard == str(manager.directory / "done.iso")
        assert (manager.directory / "done.iso").read_bytes() == payload(1000)
        await pilot.press("j", "Y")  # not started: no name yet
        assert app.clipboard == str(manager.directory)
        await until(pilot, lambda: "Copied folder" in toasts(app))
