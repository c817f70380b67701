"""The hosts panel tells the truth about each host, after the fact as well as live."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_live import until

from afetch_tui.engine.events import Limits, State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.ui.app import AfetchApp
from afetch_tui.ui.widgets.hosts_panel import HostsPanel

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
