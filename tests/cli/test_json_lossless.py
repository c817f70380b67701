"""``--json`` is a contract for scripts: every event of every download, in order, however
many URLs are queued (a lossless subscription, bounded by back-pressure, not by dropping)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections import Counter

from test_cli import clean_env

from afetch_tui.engine.events import Added, Resync
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.spec import DownloadSpec

COUNT = 12_000


def test_json_writes_an_event_for_each_of_twelve_thousand_urls(server, tmp_path):
    """Before: 1,999 ``added`` lines, then one ``resync`` for the other 10,000."""
    slow = server.add_file("/slow", b"x" * 100, delay=30)  # holds the one running download
    (tmp_path / "list.txt").write_text("".join(f"{slow}?n={n}\n" for n in range(COUNT)))
    command = [sys.executable, "-m", "afetch_tui", "get", "--json", "-q", "-j", "1"]
    command += ["--state", str(tmp_path / "state.db"), "-i", str(tmp_path / "list.txt")]
    proc = subprocess.Popen(
        command, cwd=tmp_path, env=clean_env(tmp_path), stdout=subprocess.PIPE, text=True
    )
    events = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        added = 0
        while added < COUNT:
            line = proc.stdout.readline()
            assert line and time.monotonic() < deadline, "the JSON stream ended early"
            events.append(json.loads(line))
            added += events[-1]["event"] == "added"
            if events[-1]["event"] == "resync":
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    kinds = Counter(e["event"] for e in events)
    assert kinds["resync"] == 0
    added = [e["download"]["id"] for e in events if e["event"] == "added"]
    assert len(added) == COUNT and added == sorted(added)
    assert proc.returncode == 143


async def test_a_lossless_subscriber_gets_every_event_and_holds_the_producer_back(tmp_path):
    async with DownloadManager(tmp_path, options=ManagerOptions(trust_env=False)) as manager:
        subscription = manager.subscribe(maxsize=100, lossless=True)
        lossy = manager.subscribe(maxsize=100)
        seen: list[int] = []
        most = 0

        async def read() -> None:
            nonlocal most
            async for event in subscription:
                most = max(most, len(subscription._pending))
                assert not isinstance(event, Resync)
                if isinstance(event, Added):
                    seen.append(event.download.id)
                await asyncio.sleep(0)  # a slow reader

        reader = asyncio.create_task(read())
        ids = []
        for batch in range(20):
            await manager.room()
            ids += await manager.add_many(
                DownloadSpec([f"http://127.0.0.1:9/{batch}/{n}" for n in range(50)], paused=True)
            )
        await manager.room()
        subscription.close()
        await reader
        assert seen == ids
        assert most <= 100 + 50
        assert any(isinstance(e, Resync) for e in lossy.drain())  # the other mode drops
