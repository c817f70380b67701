"""The help lists every key of the main screen and fits 80x24 without scrolling."""

from __future__ import annotations

import pytest
from rich.console import Console
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from afetch_tui.engine.manager import DownloadManager
from afetch_tui.ui.app import AfetchApp
from afetch_tui.ui.screens.help import HelpDialog, short_key_label
from afetch_tui.ui.screens.main_screen import MainScreen


@pytest.mark.parametrize("size", [(80, 24), (100, 40)])
async def test_help_fits_and_lists_every_binding(
    manager: DownloadManager, size: tuple[int, int]
) -> None:
    app = AfetchApp(manager, cursor_blink=False)
    async with app.run_test(size=size) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, HelpDialog)
        scroll = dialog.query_one(VerticalScroll)
        await pilot.pause()
        assert scroll.max_scroll_y == 0, "the help needs scrolling"
        box = dialog.query_one("#dialog")
        assert dialog.region.contains_region(box.region)
        last = list(scroll.children)[-1]
        for inside in (scroll.content_region, box.content_region, dialog.region):
            assert inside.contains_region(last.region), "the end is cut off"
        keys = dialog.query_one("#help-keys", Static)
        console = Console(width=keys.content_region.width)
        shown = "\n".join(
            "".join(segment.text for segment in line)
            for line in console.render_lines(keys.content, console.options)
        )
        for binding in MainScreen.BINDINGS:
            assert isinstance(binding, Binding)
            assert short_key_label(binding.key) in shown, binding.key
            first_word = (binding.tooltip or binding.description).split()[0]
            assert first_word in shown, binding.key


async def test_help_names_the_columns_as_the_hosts_panel_does(
    manager: DownloadManager,
) -> None:
    """At 80x24 the help says what the speed columns are and over what span the hosts'
    Done/Fail and Bytes count, under the names the panel's headers use; 'Avg' named a
    smoothed speed, not an average, and is gone from both."""
    from painted import screen_lines

    from afetch_tui.ui.screens.help import COUNTS_NOTE, SPEEDS_NOTE
    from afetch_tui.ui.widgets.hosts_panel import HostsPanel

    headers = {spec.label for spec in HostsPanel.SPECS}
    assert {"Speed", "Now", "Done/Fail", "Bytes"} <= headers
    assert "Avg" not in headers
    app = AfetchApp(manager, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        screen = "\n".join(screen_lines(app))
        assert SPEEDS_NOTE in screen and "Speed: smoothed" in SPEEDS_NOTE
        assert COUNTS_NOTE in screen and "across restarts" in COUNTS_NOTE
        assert "Avg" not in screen
