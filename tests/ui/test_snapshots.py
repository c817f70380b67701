"""Snapshot tests of the main screen and the dialogs.

The app runs on a real `DownloadManager` restored from a fixed state file (see `scene.py`):
nothing in it runs, so every run paints the same screen. The time zone is pinned in
conftest, cursors do not blink, and files live under a fake home.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from faultserver import FaultServer
from scene import restored_app
from textual.pilot import Pilot
from textual.widgets import TextArea

from afetch_tui.engine.events import State
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


COOLING_PATH = "/exports/dataset-part-08.parquet"
"""The scene's paused download on data.example.net, reached through a loopback proxy."""


@pytest.fixture
def pushback() -> Iterator[FaultServer]:
    """A loopback server, as the scene's proxy, that answers data.example.net's paused
    file with 503 and `Retry-After: 12`."""
    with FaultServer() as server:
        server.add_status(COOLING_PATH, 503, retry_after="12")
        yield server


async def cooling_filtered_marked(pilot: Pilot) -> None:
    """The scene filtered on `dataset`, two rows marked, and then its paused
    data.example.net file resumed: the host answers 503 with Retry-After 12, so the engine
    cools it down and lowers its cap, and the file waits to retry. The screen is taken as
    soon as the view has heard, within the second, so both countdowns read 12s."""
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, AfetchApp)
    await pilot.press("slash", *"dataset", "enter")
    await pilot.press("down", "m")
    await pilot.press("m")
    await app.manager.resume(5)
    host = "data.example.net"
    while not (
        host in app.model.hosts
        and app.model.hosts[host].cooldown_remaining > 0
        and app.model.rows[5].snap.state is State.RETRYING
    ):
        await pilot.pause(0.01)
    app.tick()
    await pilot.pause()


def test_filter_marks_and_a_cooling_host_narrow(
    snap_compare, home: Path, pushback: FaultServer
) -> None:
    app = restored_app(home, proxy=pushback.url("/"))
    assert snap_compare(app, terminal_size=NARROW, run_before=cooling_filtered_marked)


def test_filter_marks_and_a_cooling_host_wide(
    snap_compare, home: Path, pushback: FaultServer
) -> None:
    app = restored_app(home, proxy=pushback.url("/"))
    assert snap_compare(app, terminal_size=(200, 50), run_before=cooling_filtered_marked)
