"""Snapshot tests of the main screen and the dialogs, from a fixed scene (no server)."""

from __future__ import annotations

from fakes import FakeManager, scene, wave
from textual.pilot import Pilot
from textual.widgets import TextArea

from afetch_tui.ui.app import AfetchApp

WIDE = (160, 45)
NARROW = (80, 24)


def make_app(**options: object) -> AfetchApp:
    downloads, hosts = scene()
    return AfetchApp(FakeManager(downloads, hosts), cursor_blink=False, **options)  # type: ignore[arg-type]


async def settle(pilot: Pilot) -> None:
    """Freeze the sparklines with fixed samples and paint once."""
    await pilot.pause()
    app = pilot.app
    assert isinstance(app, AfetchApp)
    app.model.sample_every = float("inf")
    for n, row in enumerate(app.model.rows.values()):
        if row.snap.state.is_running:
            row.samples.extend(wave(16, row.snap.speed * 0.6, row.snap.speed * 1.1, phase=n))
            app.model.changes.dirty.add(row.snap.id)
    app.tick()
    await pilot.pause()


def test_main_screen(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=WIDE, run_before=settle)


def test_main_screen_narrow(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=NARROW, run_before=settle)


def test_details_pane(snap_compare) -> None:
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("down", "down", "down", "enter")

    assert snap_compare(make_app(), terminal_size=WIDE, run_before=run_before)


def test_add_dialog_with_bad_lines(snap_compare) -> None:
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

    assert snap_compare(make_app(), terminal_size=WIDE, run_before=run_before)


def test_settings_dialog(snap_compare) -> None:
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("tab", "tab", "tab")  # to the per-host cap
        await pilot.press(*"1.5x")  # an invalid rate shows its reason inline
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=WIDE, run_before=run_before)


def test_help_dialog(snap_compare) -> None:
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(100, 40), run_before=run_before)


def test_empty_state(snap_compare) -> None:
    app = AfetchApp(FakeManager(), cursor_blink=False)  # type: ignore[arg-type]
    assert snap_compare(app, terminal_size=NARROW)
