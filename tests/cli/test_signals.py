"""SIGTERM and SIGHUP end `afetch get` and the dashboard like Ctrl-C: checkpoints written,
``--on-complete`` commands killed, one line, exit 128 + the signal; the queue is saved."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_dashboard_crash import _dashboard, _pump, _size, _wait

MIB = 1024 * 1024


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"
    return True


def _checkpoint(state: Path, name: str) -> int:
    with contextlib.closing(sqlite3.connect(state)) as conn:
        row = conn.execute("SELECT checkpoint FROM downloads WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_get_ends_like_ctrl_c_and_kills_its_hooks(server, payload, tmp_path, signum, code):
    big = payload(6 * MIB, seed=1)
    slow = server.add_file("/slow.bin", big, rate=2 * MIB)
    quick = server.add_file("/quick.bin", payload(1000, seed=2))
    out, state, pids = tmp_path / "out", tmp_path / "state.db", tmp_path / "hook.pids"
    hook = f"sh -c 'echo $$ >> {pids}; exec sleep 60'"
    command = [sys.executable, "-m", "afetch_tui", "get", "-q", "-d", str(out)]
    command += ["--state", str(state)]
    proc = subprocess.Popen(
        [*command, "--on-complete", hook, slow, quick],
        stderr=subprocess.PIPE,
        env=_env(),
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while not (pids.exists() and pids.read_text().strip() and _size(out / "slow.bin.part") > MIB):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    hook_pid = int(pids.read_text().split()[0])
    assert _alive(hook_pid)

    proc.send_signal(signum)
    _, err = proc.communicate(timeout=15)
    text = err.decode()
    assert proc.returncode == code, text
    assert "Traceback" not in text
    assert text.strip().splitlines()[-1].endswith("; partial files kept as .part"), text
    time.sleep(0.2)
    assert not _alive(hook_pid), "the --on-complete command outlived afetch"
    on_disk = _size(out / "slow.bin.part")
    assert 0 < _checkpoint(state, "slow.bin") <= on_disk  # the last checkpoint was written
    assert on_disk - _checkpoint(state, "slow.bin") < 64 * 1024

    server.clear_requests()
    again = subprocess.run([*command, slow], capture_output=True, env=_env(), timeout=60)
    assert again.returncode == 0, again.stderr.decode()
    assert (out / "slow.bin").read_bytes() == big
    assert server.requests_for("/slow.bin")[-1].header("Range")


def test_the_dashboard_quits_cleanly_on_sigterm(server, payload, tmp_path):
    data = payload(32 * MIB, seed=3)
    url = server.add_file("/dash.bin", data, rate=4 * MIB)
    out, state = tmp_path / "out", tmp_path / "state.db"
    part = out / "dash.bin.part"
    proc, master = _dashboard(["--state", str(state), "-d", str(out), url])
    try:
        _wait(lambda: _size(part) >= 2 * MIB, proc, master, timeout=30)
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        while proc.poll() is None and time.monotonic() < deadline:
            _pump(master)
            time.sleep(0.02)
        assert proc.returncode == 143
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    checkpoint = _checkpoint(state, "dash.bin")
    assert 0 < checkpoint <= _size(part)
    assert _size(part) - checkpoint < 64 * 1024


def test_the_dashboard_starts_on_a_state_file_with_a_bad_row(server, tmp_path):
    """Before: `headers='not json'` crashed the dashboard with a traceback."""
    import asyncio

    from afetch_tui.engine.manager import DownloadManager
    from afetch_tui.engine.options import ManagerOptions
    from afetch_tui.engine.store import Store

    state, out = tmp_path / "state.db", tmp_path / "out"

    async def queue() -> None:
        store = await Store.open(state)
        manager = DownloadManager(out, options=ManagerOptions(trust_env=False), store=store)
        await manager.start()
        await manager.add(server.url("/kept.bin"), paused=True)
        await manager.add(server.url("/spoilt.bin"), paused=True)
        await manager.close()
        await store.close()

    asyncio.run(queue())
    with contextlib.closing(sqlite3.connect(state)) as conn:
        conn.execute("UPDATE downloads SET headers = 'not json' WHERE id = 2")
        conn.commit()
    proc, master = _dashboard(["--state", str(state), "-d", str(out)])
    seen = b""
    try:
        deadline = time.monotonic() + 20
        while b"kept.bin" not in seen:
            assert time.monotonic() < deadline and proc.poll() is None, seen[-2000:]
            with contextlib.suppress(BlockingIOError, OSError):
                seen += os.read(master, 65536)
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        while proc.poll() is None and time.monotonic() < deadline:
            _pump(master)
            time.sleep(0.02)
        assert proc.returncode == 143
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert b"Traceback" not in seen
    assert b"download 2 in" in seen and b"set aside" in seen
    with contextlib.closing(sqlite3.connect(state)) as conn:
        assert conn.execute("SELECT id FROM downloads").fetchall() == [(1,)]
