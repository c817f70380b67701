"""What a new user's walk of the dashboard at 80x24 found: sorting and filtering go to
the top, the columns depend on the width only, moved rows stay in view, labels."""

from __future__ import annotations

from faultserver import FaultServer
from test_live import until
from textual.binding import Binding
from textual.widgets._footer import FooterKey

from afetch_tui.engine.events import State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.ui.app import AfetchApp
from afetch_tui.ui.format import human_speed
from afetch_tui.ui.model import Show, Sort
from afetch_tui.ui.screens.main_screen import MainScreen
from afetch_tui.ui.widgets.columns import choose_layout
from afetch_tui.ui.widgets.downloads_table import PADDING, DownloadsTable

SIZE = (80, 24)
COUNT = 30


async def paused_queue(manager: DownloadManager, count: int = COUNT) -> list[int]:
    """Paused downloads to a closed port (nothing runs, nothing leaves loopback); their
    names sort backwards from the queue order."""
    urls = [f"http://127.0.0.1:9/files/{chr(ord('z') - n % 26)}{n:02d}.bin" for n in range(count)]
    return await manager.add_many(DownloadSpec(urls, paused=True))


def app_for(manager: DownloadManager) -> AfetchApp:
    return AfetchApp(manager, cursor_blink=False, refresh_hz=20)


def top(table: DownloadsTable) -> int:
    return round(table.scroll_y)


async def test_a_new_sort_or_state_filter_starts_at_the_top(manager: DownloadManager) -> None:
    await paused_queue(manager)
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == COUNT)
        await pilot.pause()
        await pilot.press("G")  # the last row: the view scrolled down
        await until(pilot, lambda: table.cursor == COUNT - 1 and top(table) > 0)
        await pilot.press("o")
        await until(pilot, lambda: app.model.sort is Sort.NAME)
        await pilot.pause()
        assert table.cursor == 0 and top(table) == 0
        await pilot.press("G")
        await until(pilot, lambda: top(table) > 0)
        await pilot.press("v")  # the state filter too
        await until(pilot, lambda: app.model.show is Show.ACTIVE)
        await pilot.press("v")  # waiting: paused rows
        await until(pilot, lambda: app.model.show is Show.QUEUED)
        await pilot.pause()
        assert table.cursor == 0 and top(table) == 0


async def test_the_columns_depend_on_the_width_only(manager: DownloadManager) -> None:
    await paused_queue(manager)
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == COUNT)
        await pilot.pause()
        assert table.layout_ is not None
        launch = table.layout_.keys
        assert "size" in launch
        await pilot.press("enter")  # the details pane: the table shorter, a scrollbar
        await until(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.show_details)
        await pilot.pause()
        assert table.layout_.keys == launch
        await pilot.press("enter")
        await pilot.resize_terminal(120, 24)
        await pilot.pause(0.2)
        await pilot.resize_terminal(*SIZE)
        await pilot.pause(0.2)
        assert table.layout_.keys == launch


async def test_rows_moved_to_the_top_or_bottom_stay_in_view(manager: DownloadManager) -> None:
    ids = await paused_queue(manager)
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == COUNT)
        await pilot.press("G", "k", "m", "m")  # marks the last two rows
        assert app.model.marks == set(ids[-2:])
        await pilot.press("t")
        await until(pilot, lambda: table.shown_ids[:2] == ids[-2:])
        await pilot.pause()
        assert table.selected_id == ids[-2] and top(table) == 0
        await pilot.press("escape", "b")  # one row, unmarked: the cursor follows it
        await until(pilot, lambda: table.shown_ids[-1] == ids[-2])
        await pilot.pause()
        assert table.selected_id == ids[-2] and table.cursor == COUNT - 1
        assert top(table) > 0


async def test_labels_say_each_thing_once(manager: DownloadManager) -> None:
    await paused_queue(manager, 3)
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == 3)
        await pilot.press("v")
        await until(pilot, lambda: app.model.show is Show.ACTIVE)
        await pilot.pause()
        title = str(app.screen.query_one("#downloads-box").border_title)
        assert title.lower().count("active") == 1, title
        footer = {b.key: b.description for b in MainScreen.BINDINGS if isinstance(b, Binding)}
        assert footer["slash"] == "Filter"  # as the help says
        assert footer["v"] == "State"
        await pilot.pause(0.2)
        keys = list(app.screen.query(FooterKey))
        assert keys[-1].description == "Quit"
        assert all(key.region.right <= SIZE[0] for key in keys)  # whole, "q Quit" too


async def test_a_failure_reads_whole_at_80_columns(
    server: FaultServer, manager: DownloadManager
) -> None:
    urls = [server.add_status("/gone.bin", 404), server.add_status("/broken.bin", 500)]
    ids = await manager.add_many(DownloadSpec(urls))
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: all(manager.download(i).state is State.FAILED for i in ids))
        await pilot.pause(0.2)
        lines = [table.render_line(1 + table.shown_ids.index(i)).text for i in ids]
        # the host is the download's own (details pane), not the reason's
        assert lines[0].rstrip().endswith("✗ 404 Not Found"), lines[0]
        assert "✗ 500 Internal Server Error" in lines[1], lines[1]  # then why it gave up


def test_a_speed_fits_its_column_at_80_columns() -> None:
    layout = choose_layout(DownloadsTable.SPECS, 80 - 3, PADDING)  # borders, scrollbar
    assert "size" in layout.keys
    assert layout.width_of("speed") >= len(human_speed(91.3 * 1024))  # was "91.3 KiB…"
