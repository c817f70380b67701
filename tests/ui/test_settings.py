"""The settings dialog also sets the defaults: folder, connections per file, retries and
timeout; what is wrong is said by `Defaults` itself, in one line under the field."""

from __future__ import annotations

from pathlib import Path

from test_live import until
from textual.widgets import Input, Static

from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.ui.app import AfetchApp
from afetch_tui.ui.screens.settings import SettingsDialog


async def test_settings_set_folder_connections_retries_and_timeout(
    manager: DownloadManager, tmp_path: Path
) -> None:
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SettingsDialog))
        dialog = app.screen

        def field(name: str) -> Input:
            return dialog.query_one(f"#{name}", Input)

        def hint(name: str) -> str:
            return str(dialog.query_one(f"#{name}-hint", Static).content)

        field("retries").value = "-1"
        await until(
            pilot, lambda: "✗ retries must be a whole number from 0 to 100" in hint("retries")
        )
        field("retries").value = "lots"
        await until(pilot, lambda: "✗ retries must be" in hint("retries"))
        (tmp_path / "a-file").write_text("")
        field("directory").value = str(tmp_path / "a-file")
        await until(pilot, lambda: "✗ not a directory" in hint("directory"))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsDialog)  # nothing applied
        assert field("retries").has_focus  # the first field refused
        field("retries").value = "2"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: field("directory").has_focus)
        assert manager.defaults.retries != 2

        field("connections").value = "3"
        field("timeout").value = "7.5"
        field("directory").value = str(tmp_path / "new" / "folder")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, SettingsDialog))
        defaults = manager.defaults
        assert (defaults.connections, defaults.retries, defaults.timeout) == (3, 2, 7.5)
        assert defaults.directory == tmp_path / "new" / "folder"
        assert manager.options.retries == 2 and manager.options.timeout == 7.5
        [new] = await manager.add_many(DownloadSpec(["http://127.0.0.1:9/x.iso"], paused=True))
        snap = manager.download(new)
        assert snap.directory == tmp_path / "new" / "folder"
        assert snap.max_connections == 3


async def test_rows_behind_a_dialog_stay_true(server, manager: DownloadManager) -> None:
    """With the settings dialog open the table behind it is still in sight: its rows go
    on showing progress (they froze at what they said when it opened, 10 s and more)."""
    from afetch_tui.engine.events import State
    from afetch_tui.ui.widgets.downloads_table import DownloadsTable

    url = server.add_file("/behind.bin", b"b" * 600_000, rate=200_000)
    (download_id,) = await manager.add_many(DownloadSpec([url]))
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(DownloadsTable)

        def painted_done() -> int:
            line = table.painted(download_id)
            return line[0].done if line else 0

        await until(pilot, lambda: painted_done() > 0)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SettingsDialog))
        under = painted_done()
        await until(pilot, lambda: painted_done() > under + 100_000, within=5)
        await until(pilot, lambda: manager.download(download_id).state is State.COMPLETED)
        await until(pilot, lambda: painted_done() == 600_000)
        assert isinstance(app.screen, SettingsDialog)


async def test_apply_in_settings_keeps_a_cap_lowered_by_429(server, payload, tmp_path) -> None:
    """A host answered 429 and its connection cap went 3 → 1: Apply in the real settings
    dialog (enter with nothing changed, then ctrl+s with a new total cap) leaves it at 1
    in the engine and in the hosts panel while the host cools down (reported from a
    walk as 'Apply restores 3'; not reproduced with a real 429: this keeps it so)."""
    from afetch_tui.engine.events import Limits
    from afetch_tui.engine.options import ManagerOptions
    from afetch_tui.ui.widgets.hosts_panel import HostsPanel

    pushy = server.add_file("/p/0.bin", payload(20_000), statuses=[429], retry_after="30")
    slow = [
        server.add_file(f"/p/{i}.bin", payload(1_200_000, seed=i), rate=40_000) for i in range(1, 6)
    ]
    limits = Limits(max_concurrent=8, max_per_host=3)
    options = ManagerOptions(fsync=False, trust_env=False, retry_base=0.05)
    async with DownloadManager(tmp_path, limits=limits, options=options) as manager:
        await manager.add_many(DownloadSpec([*slow[:2], pushy, *slow[2:]]))
        app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
        async with app.run_test(size=(80, 24)) as pilot:
            panel = app.screen.query_one(HostsPanel)
            host = f"127.0.0.1:{server.port}"

            def cap() -> int:
                return manager.hosts()[0].connection_cap

            def conns() -> str:
                return str(panel.get_row(host)[2]) if panel.row_count else ""

            await until(pilot, lambda: manager.hosts()[0].status_429 >= 1, within=10)
            assert cap() == 1
            await until(pilot, lambda: conns().endswith("/1↓"))
            for edit, key in ((None, "enter"), ("rate", "ctrl+s")):
                await pilot.press("s")
                await until(pilot, lambda: isinstance(app.screen, SettingsDialog))
                if edit is not None:
                    app.screen.query_one(f"#{edit}", Input).value = "50M"
                await pilot.press(key)
                await until(pilot, lambda: not isinstance(app.screen, SettingsDialog))
                await pilot.pause(0.3)
                assert cap() == 1, manager.hosts()[0]
                assert conns().endswith("/1↓"), conns()
            assert manager.limits.rate == 50 * 1024 * 1024


async def test_settings_say_what_applies_now_and_apply_from_any_field(tmp_path: Path) -> None:
    """At 80x24 the dialog says, whole, which settings apply at once and are kept and which
    are for this run only, and that enter or ctrl+s applies (Apply was 11 tabs away and
    the note read 'Limits: at once, and kept'); enter in the last field applies. A rate
    shown rounded ('976.562K' for 1000000) and not touched stays exactly what it was (it
    came back as 999999.5, 'Limits updated.')."""
    from painted import screen_lines

    from afetch_tui.engine.events import Limits
    from afetch_tui.engine.options import ManagerOptions
    from afetch_tui.ui.screens import settings

    limits = Limits(rate=1_000_000, rate_per_host=300_000)
    options = ManagerOptions(fsync=False)
    async with DownloadManager(tmp_path, limits=limits, options=options) as manager:
        app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
        async with app.run_test(size=(80, 24)) as pilot:
            for key, field in (("enter", "on_complete"), ("ctrl+s", "max_concurrent")):
                await pilot.press("s")
                await until(pilot, lambda: isinstance(app.screen, SettingsDialog))
                await pilot.pause()
                screen = "\n".join(screen_lines(app))
                for said in (settings.LIMITS_HEADING, settings.DEFAULTS_HEADING):
                    assert said in screen, screen
                assert settings.KEYS_HINT in screen, screen
                app.screen.query_one(f"#{field}", Input).focus()
                await pilot.press(key)
                await until(pilot, lambda: not isinstance(app.screen, SettingsDialog))
                assert manager.limits == limits
