"""The dashboard over the control socket: hand-off to it, and attaching to ``afetch serve``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable
from pathlib import Path

from control_procs import AFETCH, Serve, Terminal, afetch, environment, wait_for
from faultserver import FaultServer
from textual.pilot import Pilot
from textual.widgets import Static

from afetch_tui.control.client import Connection
from afetch_tui.control.paths import socket_path
from afetch_tui.control.remote import RemoteManager
from afetch_tui.control.serve import listen
from afetch_tui.engine.events import State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.ui.app import AfetchApp
from afetch_tui.ui.screens.prompts import ConfirmDialog
from afetch_tui.ui.widgets.downloads_table import DownloadsTable

SIZE = (120, 36)


async def until(pilot: Pilot, predicate: Callable[[], object], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await pilot.pause(0.02)


def rows(app: AfetchApp) -> int:
    return app.screen.query_one(DownloadsTable).row_count


async def test_urls_handed_to_a_running_dashboard_show_at_once_with_one_notice(
    server: FaultServer, tmp_path: Path
) -> None:
    """The dashboard (Pilot) in this process owns the state; ``afetch add`` runs in another."""
    state = tmp_path / "state.db"
    urls = [server.add_file(f"/d{n}.bin", b"d" * 100) for n in range(3)]
    options = ManagerOptions(fsync=False)
    async with DownloadManager(tmp_path / "out", options=options) as manager:
        control = await listen(manager, state, role="dashboard")
        app = AfetchApp(manager, cursor_blink=False)
        try:
            async with app.run_test(size=SIZE) as pilot:
                started = time.monotonic()
                cli = await asyncio.create_subprocess_exec(
                    *AFETCH,
                    "add",
                    "--state",
                    str(state),
                    *urls,
                    env=environment(),
                    stdout=asyncio.subprocess.PIPE,
                )
                await until(pilot, lambda: rows(app) == 3)
                on_screen = time.monotonic() - started
                out, _ = await cli.communicate()
                assert cli.returncode == 0
                assert out.decode().strip() == f"queued 3 in the running afetch (pid {_pid()})"
                await until(pilot, lambda: len(app._notifications) >= 1, within=3)
                notices = [n.message for n in app._notifications if "queued" in n.message]
                assert notices == [f"3 queued by afetch add (pid {cli.pid})"]
                await until(pilot, lambda: all(_done(s) for s in manager.downloads()))
                print(f"afetch add (a new process) to the row on screen: {on_screen:.3f} s")
        finally:
            await control.close()


def _pid() -> int:
    import os

    return os.getpid()


def _done(snap: object) -> bool:
    return getattr(snap, "state", None) is State.COMPLETED


async def test_attach_quit_and_attach_again_while_a_download_runs(
    serve: Callable[..., Serve],
    server: FaultServer,
    payload: Callable[..., bytes],
    state: Path,
    tmp_path: Path,
) -> None:
    data = payload(3_000_000, seed=5)
    url = server.add_file("/run.bin", data, rate=1_000_000)
    running = serve(url)
    part, final = tmp_path / "out" / "run.bin.part", tmp_path / "out" / "run.bin"

    connection = await Connection.connect(socket_path(state))
    manager = await RemoteManager.attach(connection)
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: rows(app) == 1)
        await until(pilot, lambda: app.model.rows[1].snap.state is State.DOWNLOADING)
        await manager.pause(1)  # for a line in its log
        await manager.resume(1)
        await until(pilot, lambda: app.model.rows[1].snap.state is State.DOWNLOADING)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        message = str(app.screen.query_one(".message", Static).render())
        assert f"they go on in afetch serve (pid {running.pid})" in message
        await pilot.click("#yes")
        await until(pilot, lambda: not app.is_running)
    await manager.close()

    def on_disk() -> int:  # the .part's size, or the whole size once it is published
        with contextlib.suppress(FileNotFoundError):
            return part.stat().st_size
        return final.stat().st_size if final.exists() else 0

    size_then = on_disk()
    await asyncio.sleep(0.5)
    assert final.exists() or on_disk() > size_then, "the download stopped"
    assert running.proc.poll() is None

    reattached = time.time()
    connection = await Connection.connect(socket_path(state))
    manager = await RemoteManager.attach(connection)
    again = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
    async with again.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: rows(again) == 1)
        row = again.model.rows[1]
        assert row.snap.state in (State.DOWNLOADING, State.VERIFYING, State.COMPLETED)
        assert row.snap.done > 0
        await until(pilot, lambda: again.model.rows[1].snap.state is State.COMPLETED)
        assert final.read_bytes() == data
        snap = again.model.rows[1].snap
        assert snap.done == snap.total == len(data)
        assert any(e.message == "paused" and e.time < reattached for e in snap.log)
        log = lambda: again.model.rows[1].snap.log  # noqa: E731
        await until(pilot, lambda: any("completed" in entry.message for entry in log()))
        hosts = again.model.hosts  # their statistics arrive a tick later than the state
        await until(pilot, lambda: [h.bytes >= len(data) for h in hosts.values()] == [True])
        served = (await connection.request("snapshot"))["hosts"][0]["bytes"]  # serve's own
        await until(pilot, lambda: [h.bytes for h in hosts.values()] == [served])
        await pilot.press("q")  # nothing left running: no question
        await until(pilot, lambda: not again.is_running)
    await manager.close()
    assert running.lines() == [f"done    {final} (2.9 MiB)"]


async def test_the_dashboard_is_told_when_serve_goes_away(
    serve: Callable[..., Serve], state: Path
) -> None:
    from afetch_tui.control.attach import run_attached

    running = serve()
    connection = await Connection.connect(socket_path(state))
    attached = asyncio.create_task(run_attached(connection, cursor_blink=False, headless=True))
    await asyncio.sleep(1.0)
    running.kill()
    assert await asyncio.wait_for(attached, 10) == 1
    assert connection.lost_reason == f"afetch serve (pid {running.pid}) has quit"


def test_the_real_dashboard_listens_and_a_second_afetch_attaches(
    serve: Callable[..., Serve], server: FaultServer, state: Path, tmp_path: Path
) -> None:
    """`afetch` in a terminal owns the state; `afetch add` hands it a URL; then, with `afetch
    serve` owning it instead, a second `afetch` attaches and quits leaving it running."""
    first = server.add_file("/first.bin", b"1" * 1000)
    out = tmp_path / "out"
    owner = Terminal("--state", str(state), "-d", str(out))
    try:
        wait_for(lambda: socket_path(state).exists(), owner.proc, what="the dashboard's socket")
        added = afetch("add", "--state", str(state), first, cwd=tmp_path)
        assert added.stdout.strip() == f"queued 1 in the running afetch (pid {owner.proc.pid})"
        wait_for((out / "first.bin").exists, owner.proc, what="the handed-off download")
        assert owner.quit() == 0
    finally:
        owner.close()
    assert not socket_path(state).exists()

    running = serve()
    for leave in ("q", "SIGHUP"):  # a closed terminal detaches too
        attached = Terminal("--state", str(state))
        try:
            attached.wait_for(b"first.bin")
            if leave == "q":
                assert attached.quit() == 0
            else:
                attached.proc.send_signal(signal.SIGHUP)
                assert attached.exit_code() == 0
            assert f"the downloads go on in afetch serve (pid {running.pid})".encode() in (
                attached.output
            )
        finally:
            attached.close()
    assert running.proc.poll() is None
