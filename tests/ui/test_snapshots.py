"""Snapshot tests of the main screen and the dialogs.

The app runs on a real `DownloadManager` restored from a fixed state file (see `scene.py`):
nothing in it runs, so every run paints the same screen. The time zone is pinned in
conftest, cursors do not blink, and files live under a fake home.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from scene import restored_app
from textual.pilot import Pilot
from textual.widgets import TextArea

from afetch_tui.engine.events import HostUpdate, State, StateChanged
from afetch_tui.ui.app import AfetchApp
from afetch_tui.ui.widgets.downloads_table import DownloadsTable

WIDE = (160, 45)
NARROW = (80, 24)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Paths show as `~/Downloads/…` whatever the temporary directory is called."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


async def settle(pilot: Pilot) -> None:
    """Wait for the restored queue to be painted."""
    app = pilot.app
    assert isinstance(app, AfetchApp)
    await pilot.pause()
    while not app.screen.query(DownloadsTable) or app.screen.query_one(
        DownloadsTable
    ).row_count != len(app.manager.downloads()):
        await pilot.pause(0.01)
    app.tick()
    await pilot.pause()


def test_main_screen(snap_compare, home: Path) -> None:
    assert snap_compare(restored_app(home), terminal_size=WIDE, run_before=settle)


def test_main_screen_narrow(snap_compare, home: Path) -> None:
    assert snap_compare(restored_app(home), terminal_size=NARROW, run_before=settle)


def test_details_pane(snap_compare, home: Path) -> None:
    """The split download: its parts, checksum, validators and log."""

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(restored_app(home), terminal_size=WIDE, run_before=run_before)


def test_add_dialog_with_bad_lines(snap_compare, home: Path) -> None:
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        area = pilot.app.screen.query_one("#urls", TextArea)
        area.text = (
            "# mirrors for tonight\n"
            "https://releases.ubuntu.com/24.04/ubuntu-24.04.1-live-server-amd64.iso\n"
            "ftp://ftp.example.org/pub/file.tar.gz\n"
            "\n"
            "https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.11.tar.xz\n"
            "not a url at all\n"
        )
        await pilot.pause()

    assert snap_compare(restored_app(home), terminal_size=WIDE, run_before=run_before)


def test_settings_dialog(snap_compare, home: Path) -> None:
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("tab", "tab", "tab")  # to the per-host cap
        await pilot.press(*"1.5x")  # an invalid rate shows its reason inline
        await pilot.pause()

    assert snap_compare(restored_app(home), terminal_size=WIDE, run_before=run_before)


def test_help_dialog(snap_compare, home: Path) -> None:
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(restored_app(home), terminal_size=(100, 40), run_before=run_before)


def test_empty_state(snap_compare, home: Path) -> None:
    assert snap_compare(restored_app(home, empty=True), terminal_size=NARROW, run_before=settle)


async def cooling_filtered_marked(pilot: Pilot) -> None:
    """The scene with a host cooling down after 503s (so its paused file, resumed, waits
    for it), a filter on `dataset` and two marked rows."""
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, AfetchApp)
    host = next(h for h in app.manager.hosts() if h.host == "data.example.net")
    cooling = replace(host, cooldown_remaining=12.0, status_5xx=3, connection_cap=1)
    app.model.apply(HostUpdate(cooling))
    app.model.apply(StateChanged(5, State.QUEUED))  # the view only: nothing starts
    await pilot.press("slash", *"dataset", "enter")
    await pilot.press("down", "m")
    await pilot.press("m")
    app.tick()
    await pilot.pause()


def test_filter_marks_and_a_cooling_host_narrow(snap_compare, home: Path) -> None:
    app = restored_app(home)
    assert snap_compare(app, terminal_size=NARROW, run_before=cooling_filtered_marked)


def test_filter_marks_and_a_cooling_host_wide(snap_compare, home: Path) -> None:
    app = restored_app(home)
    assert snap_compare(app, terminal_size=(200, 50), run_before=cooling_filtered_marked)
