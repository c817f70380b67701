"""The dashboard driven by keys and clicks, over a real manager and a loopback server."""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from faultserver import FaultServer
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Button, Input, SelectionList, Static, TextArea
from textual.widgets._toast import Toast

from afetch_tui.engine.events import State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.ui.app import AfetchApp
from afetch_tui.ui.screens.add_dialog import AddDialog
from afetch_tui.ui.screens.harvest_dialog import HarvestDialog
from afetch_tui.ui.screens.prompts import ConfirmDialog, RateDialog, RemoveDialog
from afetch_tui.ui.screens.settings import SettingsDialog
from afetch_tui.ui.widgets.details_pane import DetailsPane
from afetch_tui.ui.widgets.downloads_table import DownloadsTable
from afetch_tui.ui.widgets.hosts_panel import HostsPanel

SIZE = (120, 36)
SLOW = 200_000  # bytes per second: slow enough to act mid-transfer


async def until(pilot: Pilot, predicate: Callable[[], object], within: float = 5.0) -> None:
    """Let the app run until `predicate()` holds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await pilot.pause(0.02)


def states(manager: DownloadManager) -> list[State]:
    return [d.state for d in manager.downloads()]


def shown_order(table: DownloadsTable) -> list[int]:
    """Download ids in the order the table shows them."""
    return table.shown_ids


def plain(renderable: object) -> str:
    """What a Rich renderable says, as plain text."""
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def app_for(manager: DownloadManager) -> AfetchApp:
    return AfetchApp(manager, cursor_blink=False, refresh_hz=20)


async def test_add_dialog_rejects_bad_lines_then_queues(
    server: FaultServer, manager: DownloadManager, payload, tmp_path: Path
) -> None:
    good = [server.add_file(f"/a{i}.bin", payload(50_000, seed=i)) for i in range(2)]
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AddDialog))
        area = app.screen.query_one("#urls", TextArea)
        area.text = f"# two good, one bad\n{good[0]}\nftp://nope/x\n\n{good[1]}\n"
        await pilot.pause()
        add = app.screen.query_one("#add", Button)
        assert add.disabled
        assert "line 3" in str(app.screen.query_one("#problems").render())
        await pilot.press("ctrl+s")  # nothing is added while a line is bad, and it says why
        await pilot.pause()
        assert manager.downloads() == []
        assert "Nothing added" in str(app.screen.query_one("#problems").render())
        await pilot.click("#drop")
        await pilot.pause()
        assert not add.disabled
        await pilot.click("#add")
        await until(pilot, lambda: len(manager.downloads()) == 2)
        await until(pilot, lambda: states(manager) == [State.COMPLETED] * 2)
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == 2)
        data = await asyncio.to_thread((tmp_path / "a0.bin").read_bytes)
        assert data == payload(50_000, seed=0)


async def test_add_single_url_with_name_paused(
    server: FaultServer, manager: DownloadManager, payload
) -> None:
    url = server.add_file("/b.bin", payload(10_000))
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AddDialog))
        app.screen.query_one("#urls", TextArea).text = url
        app.screen.query_one("#name", Input).value = "renamed.bin"
        await pilot.click("#paused")
        await pilot.click("#add")
        await until(pilot, lambda: len(manager.downloads()) == 1)
        assert states(manager) == [State.PAUSED]
        assert server.requests == []
        await pilot.press("space")
        await until(pilot, lambda: states(manager) == [State.COMPLETED])
        assert manager.downloads()[0].name == "renamed.bin"


async def test_pause_resume_cancel_remove_mid_transfer(
    server: FaultServer, manager: DownloadManager, payload, tmp_path: Path
) -> None:
    url = server.add_file("/slow.bin", payload(2_000_000), rate=SLOW)
    await manager.add(url)
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: server.active() == 1)
        await until(pilot, lambda: manager.downloads()[0].done > 0)

        await pilot.press("space")  # pause: the server sees the client go
        await until(pilot, lambda: states(manager) == [State.PAUSED])
        await until(pilot, lambda: server.active() == 0)
        await until(pilot, lambda: any(r.aborted_by_client for r in server.requests))

        await pilot.press("p")  # resume
        await until(pilot, lambda: server.active() == 1)

        await pilot.press("x")  # cancel asks first (it deletes the partial file)
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.click("#yes")
        await until(pilot, lambda: states(manager) == [State.CANCELLED])
        await until(pilot, lambda: server.active() == 0)
        assert not await asyncio.to_thread(lambda: list(tmp_path.glob("*.part")))

        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, RemoveDialog))
        await pilot.click("#keep")
        await until(pilot, lambda: manager.downloads() == [])
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == 0)


async def test_remove_with_file_deletes_it(
    server: FaultServer, manager: DownloadManager, payload, tmp_path: Path
) -> None:
    url = server.add_file("/done.bin", payload(20_000))
    await manager.add(url)
    await manager.wait()
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert await asyncio.to_thread((tmp_path / "done.bin").exists)
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, RemoveDialog))
        await pilot.click("#delete")
        await until(pilot, lambda: manager.downloads() == [])
        assert not await asyncio.to_thread((tmp_path / "done.bin").exists)


async def test_reorder_with_keys(server: FaultServer, manager: DownloadManager, payload) -> None:
    urls = [server.add_file(f"/q{i}.bin", payload(1000, seed=i)) for i in range(3)]
    ids = await manager.add_many(DownloadSpec(urls, paused=True))
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == 3)
        await pilot.press("down", "down", "plus")  # third moves up one
        await until(pilot, lambda: [d.id for d in manager.downloads()] == [ids[0], ids[2], ids[1]])
        await until(pilot, lambda: shown_order(table) == [ids[0], ids[2], ids[1]])
        assert table.selected_id == ids[2]  # the cursor follows the moved row
        await pilot.press("shift+up")
        await until(pilot, lambda: [d.id for d in manager.downloads()] == [ids[2], ids[0], ids[1]])
        await until(pilot, lambda: shown_order(table) == [ids[2], ids[0], ids[1]])
        await pilot.press("minus", "minus")
        await until(pilot, lambda: [d.id for d in manager.downloads()] == [ids[0], ids[1], ids[2]])
        await until(pilot, lambda: table.selected_id == ids[2] and table.cursor_row == 2)


async def test_settings_change_concurrency_live(
    server: FaultServer, manager: DownloadManager, payload
) -> None:
    await manager.set_limits(replace(manager.limits, max_concurrent=1))
    # Files that take 20 s each, so none ends while the dialog is used however slowly the
    # app runs: 3 s files did under load, and with two of the four done, three could never
    # be running at once (the wait for three ran out, 1 in 2 full runs at load 4-8).
    size = 20 * SLOW
    urls = [server.add_file(f"/c{i}.bin", payload(size, seed=i), rate=SLOW) for i in range(4)]
    await manager.add_many(DownloadSpec(urls))
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: server.active() == 1)
        await pilot.pause(0.3)
        assert server.max_concurrent() == 1
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SettingsDialog))
        field = app.screen.query_one("#max_concurrent", Input)
        field.value = "3"
        app.screen.query_one("#rate", Input).value = "bad"
        await pilot.pause()
        apply = app.screen.query_one("#apply", Button)
        assert await pilot.click(apply)  # refused: the bad rate is shown, not applied
        await pilot.pause()
        assert isinstance(app.screen, SettingsDialog)
        assert "✗" in str(app.screen.query_one("#rate-hint", Static).render())
        assert manager.limits.max_concurrent == 1
        app.screen.query_one("#rate", Input).value = "2M"
        # A button ignores clicks while it still shows the last press.
        await until(pilot, lambda: not apply.has_class("-active"))
        await pilot.pause()  # let the hint shrink back before clicking
        assert await pilot.click(apply)
        await until(pilot, lambda: not isinstance(app.screen, SettingsDialog))
        await until(pilot, lambda: server.active() == 3)
        assert manager.limits.max_concurrent == 3
        assert manager.limits.rate == 2 * 1024 * 1024
        await manager.pause_all()


async def test_host_limit_from_hosts_panel(
    server: FaultServer, manager: DownloadManager, payload
) -> None:
    url = server.add_file("/h.bin", payload(400_000), rate=SLOW)
    await manager.add(url)
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        hosts = app.screen.query_one(HostsPanel)
        await until(pilot, lambda: hosts.row_count == 1)
        hosts.focus()
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, RateDialog))
        app.screen.query_one("#rate", Input).value = "500K"
        await pilot.press("enter")
        host = f"127.0.0.1:{server.port}"
        await until(pilot, lambda: app.model.hosts[host].limit_rate == 500 * 1024)
        await until(pilot, lambda: "500 KiB/s" in hosts.get_row(host)[-1].plain)
        await manager.pause_all()


async def test_quit_asks_while_downloads_run(
    server: FaultServer, manager: DownloadManager, payload
) -> None:
    # The server holds the body after 100 kB, so the download runs however slow this run is
    # (a transfer that could finish mid-test would make the second "q" quit without asking).
    url = server.add_file("/long.bin", payload(1_000_000), rate=SLOW, stall_after=100_000)
    await manager.add(url)
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: server.active() == 1)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("escape")  # stay
        await until(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
        assert app.is_running and states(manager) == [State.DOWNLOADING]
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.click("#yes")
        await until(pilot, lambda: not app.is_running)


async def test_quit_without_active_downloads_is_immediate(manager: DownloadManager) -> None:
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)


async def test_failure_is_notified_and_retried(
    server: FaultServer, manager: DownloadManager, payload
) -> None:
    url = server.add_file("/flaky.bin", payload(5000), statuses=[404])
    await manager.add(url)
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until(pilot, lambda: states(manager) == [State.FAILED])
        await until(pilot, lambda: any("failed" in (n.title or "") for n in app._notifications))
        await pilot.press("r")
        await until(pilot, lambda: states(manager) == [State.COMPLETED])
        await until(pilot, lambda: any("complete" in (n.title or "") for n in app._notifications))


async def test_details_pane_shows_log(
    server: FaultServer, manager: DownloadManager, payload
) -> None:
    url = server.add_file("/d.bin", payload(10_000))
    await manager.add(url)
    await manager.wait()
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        body = plain(app.screen.query_one("#details-body", Static).content)
        assert "d.bin" in body and "✓ completed" in body
        assert "completed: " in body  # the log line, after its timestamp


async def test_notices_wait_while_a_dialog_is_open(
    server: FaultServer, manager: DownloadManager, payload
) -> None:
    url = server.add_file("/n.bin", payload(20_000))
    download_id = await manager.add(url, paused=True)
    app = app_for(manager)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.notify("shown before the dialog", timeout=30)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SettingsDialog))
        await until(pilot, lambda: len(app.screen.query(Toast)) == 1)
        # Under the dialog a toast neither shows nor takes clicks.
        assert not app.screen.query_one(Toast).visible
        app.clear_notifications()
        await manager.resume(download_id)
        await until(pilot, lambda: states(manager) == [State.COMPLETED])
        await pilot.pause(0.3)  # several ticks: nothing may land on the dialog
        assert not app._notifications
        await pilot.press("escape")
        await until(pilot, lambda: any("complete" in (n.title or "") for n in app._notifications))


async def test_split_download_shows_its_parts(server: FaultServer, payload, tmp_path: Path) -> None:
    """A file large enough to split: the details pane draws each part, the hosts panel
    counts the connections, and the add dialog's choice of connections is used."""
    options = ManagerOptions(
        connections=4, min_split_size=2 * 1024 * 1024, trust_env=False, fsync=False
    )
    # Each part's body is held after 256 KiB: the three parts stay active until paused,
    # however long this run takes to look (a finished part would never show "3 active").
    url = server.add_file(
        "/big.bin", payload(8 * 1024 * 1024), rate=1_000_000, stall_after=256 * 1024
    )
    async with DownloadManager(tmp_path, options=options) as manager:
        app = app_for(manager)
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, AddDialog))
            assert app.screen.query_one("#connections", Input).value == "4"
            app.screen.query_one("#urls", TextArea).text = url
            app.screen.query_one("#connections", Input).value = "3"
            await pilot.pause()
            await pilot.click("#add")
            await until(pilot, lambda: len(manager.downloads()) == 1)
            assert manager.downloads()[0].max_connections == 3
            await until(pilot, lambda: server.active() == 3)
            await pilot.press("enter")
            details = app.screen.query_one("#details-body", Static)
            await until(pilot, lambda: "3 parts · 3 active" in plain(details.content))
            body = plain(details.content)
            assert "#1" in body and "#3" in body and "B/s" in body
            hosts = app.screen.query_one(HostsPanel)
            host = f"127.0.0.1:{server.port}"
            await until(pilot, lambda: host in hosts.model.hosts and hosts.row_count == 1)
            await until(pilot, lambda: hosts.get_row(host)[2].plain.startswith("3/"))
            await manager.pause_all()


PAGE = b"""<!doctype html><html><head><title>pub</title></head><body>
<a href="one.iso">one</a> <a href="sub/two.iso">two</a> <a href="/pub/three.iso">three</a>
<a href="readme.txt">readme</a> <a href="one.iso#again">one again</a>
"""


async def test_add_from_page_queues_only_the_ticked_links(
    server: FaultServer, manager: DownloadManager, payload, tmp_path: Path
) -> None:
    page = server.add_file("/pub/", PAGE, content_type="text/html; charset=utf-8")
    for n, path in enumerate(("/pub/one.iso", "/pub/sub/two.iso", "/pub/three.iso")):
        server.add_file(path, payload(10_000 * (n + 1), seed=n))
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, HarvestDialog))
        dialog = app.screen
        dialog.query_one("#page", Input).value = page
        dialog.query_one("#match", Input).value = "*.iso"
        await pilot.press("enter")
        links = dialog.query_one("#links", SelectionList)
        await until(pilot, lambda: links.option_count == 3)
        await until(pilot, lambda: "19.5 KiB" in str(links.get_option_at_index(1).prompt))
        assert len(links.selected) == 3  # all ticked at first
        links.deselect(server.url("/pub/sub/two.iso"))
        await pilot.pause()
        assert str(dialog.query_one("#queue", Button).label) == "Queue 2"
        await pilot.click("#queue")
        await until(pilot, lambda: len(manager.downloads()) == 2)
        await until(pilot, lambda: states(manager) == [State.COMPLETED] * 2)
        assert [d.name for d in manager.downloads()] == ["one.iso", "three.iso"]
        assert server.requests_for("/pub/sub/two.iso", "GET") == []
        assert len(server.requests_for("/pub/one.iso", "GET")) == 1


async def test_add_from_page_shows_a_non_html_page_inline(
    server: FaultServer, manager: DownloadManager, payload
) -> None:
    url = server.add_file("/data.bin", payload(5000))
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, HarvestDialog))
        app.screen.query_one("#page", Input).value = url
        await pilot.click("#find")
        status = app.screen.query_one("#harvest-status", Static)
        await until(pilot, lambda: "✗" in str(status.render()))
        message = str(status.render())
        assert "not an HTML page" in message and "\n" not in message
        assert "--" not in message  # no advice about command-line flags here
        assert not app.screen.query_one("#links", SelectionList).display
        assert app.screen.query_one("#queue", Button).disabled
        assert manager.downloads() == []


async def test_checksum_from_the_add_dialog(
    server: FaultServer, manager: DownloadManager, payload
) -> None:
    data = payload(30_000)
    good = server.add_file("/good.bin", data)
    bad = server.add_file("/bad.bin", data)
    digest = hashlib.sha256(data).hexdigest()
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        for url, spec in ((good, f"sha256={digest}"), (bad, f"sha256={'0' * 64}")):
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, AddDialog))
            app.screen.query_one("#urls", TextArea).text = url
            app.screen.query_one("#checksum", Input).value = "sha256=abc"
            await pilot.pause()
            assert app.screen.query_one("#add", Button).disabled  # too short: said inline
            assert "checksum" in plain(app.screen.query_one("#problems", Static).content)
            app.screen.query_one("#checksum", Input).value = spec
            await pilot.pause()
            await pilot.click("#add")
            await until(pilot, lambda: not isinstance(app.screen, AddDialog))
        await until(pilot, lambda: states(manager) == [State.COMPLETED, State.FAILED])
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: "verified" in table.cells_at(0)["state"].plain)
        await until(pilot, lambda: "bad checksum" in table.cells_at(1)["state"].plain)
        await pilot.press("enter")
        body = plain(app.screen.query_one("#details-body", Static).content)
        assert "✓ verified" in body
        await pilot.press("down")
        await pilot.pause()
        body = plain(app.screen.query_one("#details-body", Static).content)
        assert "mismatch" in body


async def test_on_complete_command_from_settings(
    server: FaultServer, manager: DownloadManager, payload, tmp_path: Path
) -> None:
    url = server.add_file("/hooked.bin", payload(1000))
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SettingsDialog))
        command = app.screen.query_one("#on_complete", Input)
        command.value = "no-such-program-afetch --flag"
        await pilot.pause()
        hint = app.screen.query_one("#on_complete-hint", Static)
        assert "not found" in str(hint.render())
        await pilot.press("ctrl+s")  # refused while the command cannot run
        await pilot.pause()
        assert isinstance(app.screen, SettingsDialog)
        command.value = "touch"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, SettingsDialog))
        assert manager.on_complete[0] == ("touch",)
        await manager.add(url, name="hooked.bin")
        await until(pilot, lambda: states(manager) == [State.COMPLETED])
        await until(pilot, lambda: any("touch" in e.message for e in manager.downloads()[0].log))


async def test_mouse_selects_a_row_and_keys_act_on_it(
    server: FaultServer, manager: DownloadManager, payload
) -> None:
    urls = [server.add_file(f"/m{i}.bin", payload(300_000, seed=i), rate=SLOW) for i in range(3)]
    ids = await manager.add_many(DownloadSpec(urls, paused=True))
    app = app_for(manager)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == 3)
        assert table.cursor_row == 0
        await pilot.click(DownloadsTable, offset=(10, 3))  # header is row 0, then rows 1..3
        await until(pilot, lambda: table.cursor_row == 2)
        await pilot.press("space")  # resumes the clicked one, not the first
        await until(pilot, lambda: manager.download(ids[2]).state is not State.PAUSED)
        assert manager.download(ids[0]).state is State.PAUSED
        assert manager.download(ids[1]).state is State.PAUSED
        await until(pilot, lambda: server.requests_for("/m2.bin"))
        assert not server.requests_for("/m0.bin")
        await manager.pause_all()


async def test_the_selection_stays_on_its_download_when_rows_above_go(
    manager: DownloadManager,
) -> None:
    ids = await manager.add_many(
        DownloadSpec([f"http://127.0.0.1:9/k{i}.bin" for i in range(5)], paused=True)
    )
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=20, show_details=True)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == 5)
        await manager.cancel(ids[0])
        await pilot.pause(0.2)
        table.select_key(str(ids[2]))
        await pilot.pause(0.1)
        await pilot.press("c")  # clears the cancelled row above the cursor, once confirmed
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.click("#yes")
        await until(pilot, lambda: table.row_count == 4)
        assert table.selected_id == ids[2]
        await manager.remove(ids[1])  # and another goes from outside (a script, the CLI)
        await until(pilot, lambda: table.row_count == 3)
        await pilot.pause(0.1)
        assert table.selected_id == ids[2]
        assert app.screen.query_one(DetailsPane).download_id == ids[2]
