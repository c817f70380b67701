"""While the dashboard still queues its ``-i`` list behind the window, an ``afetch add`` of
a URL from that list is left out as listed: the list will hold it once, not twice."""

from __future__ import annotations

from pathlib import Path

from faultserver import FaultServer

from afetch_tui.cli import get_parser
from afetch_tui.config import Backlog, build_config
from afetch_tui.control.client import Connection
from afetch_tui.control.paths import socket_path
from afetch_tui.control.server import ControlServer
from afetch_tui.engine.manager import DownloadManager


async def test_an_add_leaves_out_what_the_backlog_has_still_to_queue(
    server: FaultServer, tmp_path: Path
) -> None:
    url = server.add_file("/slow.bin", b"x" * 1_000_000, rate=10_000)
    urls = [f"{url}?{n}" for n in range(4)]
    listing, state = tmp_path / "list.txt", tmp_path / "state.db"
    listing.write_text("".join(f"{u}\n" for u in urls[:3]))
    args = get_parser().parse_args(["-j1", "-d", str(tmp_path / "out"), "-i", str(listing)])
    config = build_config(args, need_urls=True)
    async with DownloadManager(config.directory, options=config.options) as manager:
        backlog = Backlog(manager, config, skip_listed=True)
        await backlog.run(until=1)  # the first batch (-j1: one URL), as the dashboard does
        control = ControlServer(
            manager, socket_path(state), role="test", state=state, backlog=backlog
        )
        await control.start()
        try:
            async with await Connection.connect(control.path) as connection:
                items = [{"url": u} for u in (urls[0], urls[1], urls[3])]
                result = await connection.request("add", items=items, skip_listed=True)
            # urls[0] is in the list, urls[1] still in the backlog; only the new one is queued
            assert result["listed"] == [urls[0], urls[1]]
            assert len(result["ids"]) == 1
            backlog.start()
            await backlog.close()
        finally:
            await control.close()
        queued = [d.url for d in manager.downloads()]
    assert sorted(queued) == sorted(urls)  # each once
