"""A password in a URL is used, kept for a resume, and never shown."""

from __future__ import annotations

import asyncio
import base64
import json

from engine_helpers import GUARD
from faultserver import FaultServer

from afetch_tui.engine.events import Added
from afetch_tui.engine.manager import DownloadManager


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_a_masked_url_put_back_keeps_its_password(
    server: FaultServer, manager: DownloadManager
) -> None:
    first = server.add_file("/a.bin", b"a" * 100)
    url = first.replace("http://", "http://bob:pw@")
    subscription = manager.subscribe()
    download_id = await manager.add(url, paused=True)
    snap = manager.download(download_id)
    assert snap.url == url  # whole, for the request and the state file
    assert snap.shown_url == url.replace(":pw@", ":***@")
    shown = json.dumps(next(e for e in subscription.drain() if isinstance(e, Added)).to_json())
    assert ":pw@" not in shown and ":***@" in shown
    # a front end shows the masked URL; the user edits the path and hands it back
    second = server.add_file("/b.bin", b"b" * 100)
    edited = snap.shown_url.replace("/a.bin", "/b.bin")
    await manager.replace_url(download_id, edited)
    await manager.resume(download_id)
    await asyncio.wait_for(manager.wait(), GUARD)
    assert manager.download(download_id).url == second.replace("http://", "http://bob:pw@")
    assert server.requests_for("/b.bin", "GET")[0].header("Authorization") == basic("bob", "pw")
    log = " ".join(entry.message for entry in manager.download(download_id).log)
    assert "bob:***@" in log and ":pw@" not in log
    subscription.close()
