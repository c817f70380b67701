"""The hosts panel tells the truth about each host, after the fact as well as live."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from faultserver import FaultServer
from test_find import until_state
from test_live import plain, until
from test_view_model import snapshot
from textual.widgets import Static

from afetch_tui.engine.events import Limits, RegionInfo, State
from afetch_tui.engine.hosts import Host
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.engine.store import Store
from afetch_tui.ui.app import AfetchApp
from afetch_tui.ui.format import human_size
from afetch_tui.ui.widgets.details_pane import _regions, host_state
from afetch_tui.ui.widgets.downloads_table import DownloadsTable
from afetch_tui.ui.widgets.hosts_panel import HostsPanel, host_cells

SIZE = (120, 36)


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never answers (each request times out)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_host_whose_downloads_all_fail_before_a_byte_shows_none_active(
    tmp_path: Path, silent_port: int
) -> None:
    """Three downloads to a host that never answers fail together on their timeout, between
    two ticks and before a byte arrived: the panel had shown them active, and must then show
    0 active and 3 failed (it kept '3/0' for good)."""
    options = ManagerOptions(fsync=False, retries=0, timeout=0.6)
    limits = Limits(max_concurrent=3, max_per_host=3)
    async with DownloadManager(tmp_path, limits=limits, options=options) as manager:
        urls = [f"http://127.0.0.1:{silent_port}/f{n}.bin" for n in range(3)]
        await manager.add_many(DownloadSpec(urls))
        app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
        host = f"127.0.0.1:{silent_port}"
        async with app.run_test(size=SIZE) as pilot:
            panel = app.screen.query_one(HostsPanel)

            def shown(column: int) -> str:
                return str(panel.get_row(host)[column]) if host in panel.model.hosts else ""

            await until(pilot, lambda: shown(1) == "3/0")  # Act/Q: the three run
            await until(pilot, lambda: all(d.state is State.FAILED for d in manager.downloads()))
            await until(pilot, lambda: shown(1) == "0/0", within=1.5)
            assert panel.model.hosts[host].failed == 3


async def test_a_host_that_goes_idle_shows_no_speed_within_two_seconds(
    server: FaultServer, manager: DownloadManager, payload
) -> None:
    """While its file streams the host shows a speed; within 2 s of the file completing
    its Now and Speed read nothing and its graph's newest column is empty (they froze at
    the last speed)."""
    url = server.add_file("/idle.bin", payload(240_000), rate=200_000)
    await manager.add_many(DownloadSpec([url]))
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
    host = f"127.0.0.1:{server.port}"
    async with app.run_test(size=(200, 40)) as pilot:
        panel = app.screen.query_one(HostsPanel)

        def cell(key: str) -> str:
            layout = panel.layout_
            if host not in panel.model.hosts or layout is None:
                return ""
            cells = host_cells(panel.model.hosts[host], layout, panel.model.limits)
            return str(cells[key])

        await until(pilot, lambda: cell("now").endswith("/s"))
        await until(pilot, lambda: manager.downloads()[0].state is State.COMPLETED, within=15)

        def painted_now() -> str:  # what the panel paints, not just the model
            return str(panel.get_row(host)[3]).strip()

        await until(
            pilot,
            lambda: (
                cell("now") == ""
                and cell("speed") == ""
                and cell("history")[-1] == " "
                and painted_now() == ""
            ),
            within=2.0,
        )


async def _done_and_failed_shown(manager: DownloadManager, host: str) -> tuple[str, str]:
    """What the dashboard's Done/Fail and Bytes columns say for `host`, then quit."""
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
    async with app.run_test(size=(200, 40)) as pilot:
        panel = app.screen.query_one(HostsPanel)
        await until(pilot, lambda: host in panel.model.hosts and panel.row_count == 1)
        layout = panel.layout_
        assert layout is not None and "ok" in layout.keys and "bytes" in layout.keys
        cells = host_cells(panel.model.hosts[host], layout, Limits())
        shown = str(cells["ok"]), str(cells["bytes"]).strip()
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)
    return shown


async def test_per_host_done_and_failed_counts_survive_a_restart(
    server: FaultServer, payload, tmp_path: Path
) -> None:
    """Two files done and one failed on a host; quit the dashboard, start it again on the
    same state file: the hosts panel still reads 2/1 (it restarted at 0/0), and its Bytes,
    over the same span, still 2000 (it read nothing: this run's bytes beside all runs'
    counts)."""
    urls = [server.add_file(f"/ok{n}.bin", payload(1000, seed=n)) for n in range(2)]
    urls.append(server.add_status("/gone.bin", 404))
    host = f"127.0.0.1:{server.port}"
    options = ManagerOptions(fsync=False, retries=0, trust_env=False)
    shown = []
    for run in range(2):
        store = await Store.open(tmp_path / "state.db")
        async with DownloadManager(tmp_path / "out", options=options, store=store) as manager:
            if run == 0:
                await manager.add_many(DownloadSpec(urls))
                await manager.wait()
            shown.append(await _done_and_failed_shown(manager, host))
        await store.close()
    assert shown == [("2/1", human_size(2000))] * 2


async def test_details_explain_the_hosts_state_and_history(
    server: FaultServer, manager: DownloadManager, payload
) -> None:
    """A host that answered 503 (Retry-After 1) and lost a file to a 404: the details pane
    of one of its downloads says, with times, that it was held and its cap cut and why,
    and which file failed."""
    flaky = server.add_file("/flaky.bin", payload(5000), statuses=[503], retry_after="1")
    gone = server.add_status("/gone.bin", 404)
    await manager.add_many(DownloadSpec([flaky, gone]))
    await manager.wait()
    assert [d.state for d in manager.downloads()] == [State.COMPLETED, State.FAILED]
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        details = app.screen.query_one("#details-body", Static)
        await until(pilot, lambda: "lately" in plain(details.content))
        text = plain(details.content)
        assert f"Host 127.0.0.1:{server.port} · lately" in text
        assert "503 Service Unavailable: held 1 s, connection cap 4 → 1" in text
        assert "gone.bin failed: 404 Not Found" in text
        assert text.index("held 1 s") < text.index("gone.bin failed")  # oldest first
        assert re.search(r"\d\d:\d\d:\d\d +503 Service Unavailable: held", text)


def test_details_say_when_a_lowered_cap_leaves_extra_connections_running() -> None:
    """The cap went from 3 to 1 under three running files: the details say two are over
    it and finish (the panel's 3/1 alone reads like a bug)."""
    host = Host("127.0.0.1:8765", 0.0)
    host.running_downloads = host.open_connections = 3
    text = host_state(host.snapshot(0.0, Limits(max_per_host=1))).plain
    assert "3 running, 3/1 conn" in text
    assert "2 over the lowered cap: they finish, and none starts until it has room" in text
    host.open_connections = 1
    assert "over the lowered cap" not in host_state(host.snapshot(0.0, Limits())).plain


async def test_details_follow_the_hosts_state_while_the_row_waits(
    server: FaultServer, payload, tmp_path: Path
) -> None:
    """A queued download waits for its host's cooldown: its row does not change, its host
    does, and the details' 'waiting:' line counts down with the row's (it kept the reason
    it had when the pane was drawn: 'host cap 2/2' beside a row saying 'host cooling')."""
    pushy = server.add_file("/c/0.bin", payload(5000), statuses=[503], retry_after="3")
    waiting = server.add_file("/c/1.bin", payload(5000, seed=1))
    limits = Limits(max_concurrent=4, max_per_host=2)
    options = ManagerOptions(trust_env=False, fsync=False, progress_interval=0.05)
    async with DownloadManager(tmp_path, options=options, limits=limits) as manager:
        first = await manager.add(pushy)
        await until_state(manager, first, State.RETRYING)
        second = await manager.add(waiting)
        app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.screen.query_one(DownloadsTable)
            await until(pilot, lambda: table.row_count == 2)
            table.select_id(second)
            await pilot.press("enter")
            details = app.screen.query_one("#details-body", Static)
            await until(pilot, lambda: "waiting: host cooling" in plain(details.content))
            await until(pilot, lambda: "waiting: host cooling 1s" in plain(details.content))
            assert manager.download(second).state is State.QUEUED


def test_the_parts_bar_is_as_wide_as_it_is_given() -> None:
    """Four parts whose shares each round up: the bar was two cells wider than its room,
    and wrapped in the details pane once its scrollbar showed."""
    regions = tuple(
        RegionInfo(start, start + 1000, 400, active=False, speed=0.0)
        for start in range(0, 4000, 1000)
    )
    snap = snapshot(0, state=State.PAUSED, total=4000, regions=regions)
    for width in (37, 38, 41, 50, 57):
        bar = _regions(snap, width).plain.split("\n")[1]
        assert len(bar) == width, (width, bar)


def _shift(old: tuple[float, ...], new: tuple[float, ...]) -> int | None:
    """By how many whole seconds the graph moved from `old` to `new` (None: it did not
    just move left; the newest column, the second under way, may change in place)."""
    if len(old) != len(new):
        return None
    whole = len(old) - 1
    for k in range(whole):
        if new[: whole - k] == old[k:whole]:
            return k
    return None


async def test_a_hosts_graph_moves_one_column_a_second_whatever_the_host_does(
    server: FaultServer, manager: DownloadManager, payload
) -> None:
    """A host that goes idle and resumes three times: its Last-60-s graph holds 60 seconds
    each time the panel hears of it and only ever moves left, a column a second (going
    idle appended an empty column, and resuming took it away again: it moved right)."""
    host = f"127.0.0.1:{server.port}"
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.screen.query_one(HostsPanel)
        seen: list[tuple[float, tuple[float, ...]]] = []

        def record() -> None:
            if host in panel.model.hosts:
                history = panel.model.hosts[host].history
                if not seen or seen[-1][1] != history:
                    seen.append((time.monotonic(), history))

        for n in range(3):
            url = server.add_file(f"/g/{n}.bin", payload(60_000, seed=n), rate=100_000)
            [download] = await manager.add_many(DownloadSpec([url]))

            def done(download: int = download) -> bool:
                record()
                return manager.download(download).state is State.COMPLETED

            await until(pilot, done, within=10)
            idle_until = time.monotonic() + 1.3

            def idled(idle_until: float = idle_until) -> bool:
                record()
                return time.monotonic() > idle_until

            await until(pilot, idled)
        assert len(seen) > 6
        for (t0, old), (t1, new) in itertools.pairwise(seen):
            assert len(new) == 60, new
            moved = _shift(old, new)
            assert moved is not None, (old[-8:], new[-8:])
            assert moved <= t1 - t0 + 1.5, (moved, t1 - t0)
