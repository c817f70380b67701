"""``afetch export`` writes the queue in aria2's format, and ``-i`` reads it back."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from afetch_tui.engine.events import State
from afetch_tui.engine.inputfile import parse_input
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.store import Store


async def _queue_three(server, payload, tmp_path: Path) -> None:
    """One completed download and two paused ones with options of their own."""
    store = await Store.open(tmp_path / "state.db")
    options = ManagerOptions(trust_env=False)
    manager = DownloadManager(tmp_path / "out", options=options, store=store)
    await manager.start()
    done = await manager.add(server.add_file("/done.bin", payload(100)))
    await manager.wait()
    await manager.add(
        server.url("/later.iso"), name="renamed.iso", headers={"X-Token": "abc"}, paused=True
    )
    await manager.add(server.url("/other.bin"), paused=True, limit_rate=50_000)
    await manager.close()
    await store.close()
    assert manager.download(done).state is State.COMPLETED


def _export(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "afetch_tui", "export", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_export_round_trips_through_input_files(server, payload, tmp_path):
    asyncio.run(_queue_three(server, payload, tmp_path))
    state = str(tmp_path / "state.db")

    result = _export("--state", state)
    assert result.returncode == 0, result.stderr
    entries = parse_input(result.stdout.splitlines())
    assert [e.url for e in entries] == [server.url("/later.iso"), server.url("/other.bin")]
    assert entries[0].out == "renamed.iso"
    assert entries[0].headers == {"X-Token": "abc"}
    assert entries[0].dir == str(tmp_path / "out")
    assert entries[1].limit_rate == "50000"

    assert len(parse_input(_export("--all", "--state", state).stdout.splitlines())) == 3


def test_export_without_state_is_one_clear_line(tmp_path):
    result = _export("--state", str(tmp_path / "none.db"))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "no afetch state" in result.stderr
