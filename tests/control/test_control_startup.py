"""Two afetch started at once on one state file: exactly one owns it (the state file's
lock); a dashboard that lost the race waits for the owner to listen and hands it its URLs
(or attaches), and one that cannot reach it says so in one line."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from control_procs import AFETCH, environment
from faultserver import FaultServer

from afetch_tui.cli import main
from afetch_tui.control import commands
from afetch_tui.control.serve import listen
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.store import Store


async def _stderr_line(child: asyncio.subprocess.Process, text: str) -> str:
    assert child.stderr is not None
    while line := (await asyncio.wait_for(child.stderr.readline(), 30)).decode():
        if text in line:
            return line
    raise AssertionError(f"the second afetch ended without saying {text!r}")


async def test_a_dashboard_that_lost_the_race_hands_its_urls_to_the_owner(
    server: FaultServer, state: Path, tmp_path: Path
) -> None:
    """The owner (this process) holds the state file but does not listen yet, as while it
    restores its queue: the second afetch waits for it instead of failing, and its URL is
    queued by the owner."""
    url = server.add_file("/late.bin", b"x" * 100)
    store = await Store.open(state)
    options = ManagerOptions(trust_env=False, fsync=False)
    async with DownloadManager(tmp_path / "out", options=options, store=store) as manager:
        second = await asyncio.create_subprocess_exec(
            *AFETCH,
            "--state",
            str(state),
            url,
            env=environment(),
            cwd=tmp_path,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            waiting = await _stderr_line(second, "waiting")
            assert f"pid {os.getpid()}" in waiting
            control = await listen(manager, store.path, role="serve")
            try:
                stdout, _ = await asyncio.wait_for(second.communicate(), 30)
            finally:
                await control.close()
        finally:
            if second.returncode is None:
                second.kill()
                await second.wait()
        assert second.returncode == 0
        assert stdout.decode().strip() == f"queued 1 in the running afetch (pid {os.getpid()})"
        assert [d.url for d in manager.downloads()] == [url]
    await store.close()


def test_a_dashboard_whose_owner_never_listens_says_so(
    state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run here (cheap): the state file's lock is per open file, so this process can hold
    it and be refused it too."""
    monkeypatch.setattr(commands, "OWNER_WAIT", 0.3)
    monkeypatch.chdir(tmp_path)
    store = asyncio.run(Store.open(state))
    try:
        code = main(["--state", str(state), "http://127.0.0.1:9/x"])
    finally:
        asyncio.run(store.close())
    assert code == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith(f"afetch: afetch (pid {os.getpid()}) is starting on {state}")
    assert f"another afetch (pid {os.getpid()}) is using {state}" in lines[-1]
