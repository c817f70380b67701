"""A long ``-i`` list: the dashboard shows its rows before the list is queued, and a quit
meanwhile leaves a state file that holds a URL once or not at all; started again with the
same list, it queues the rest (issue 14: start in <= 5 s with 100,000 from a file; the
window stayed blank while every URL was checked and written)."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from faultserver import FaultServer
from test_dashboard_crash import _dashboard, _pump

COUNT = 20_000
"""Enough that queueing them all (20 batches) takes longer than showing the first frame."""


def _journaled(state: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(state)) as conn:
        return [url for (url,) in conn.execute("SELECT url FROM downloads ORDER BY id")]


def _read_until(
    master: int, proc: subprocess.Popen[bytes], wanted: bytes, seen: bytearray, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        assert time.monotonic() < deadline, bytes(seen[-2000:])
        assert proc.poll() is None, bytes(seen[-2000:])
        with contextlib.suppress(BlockingIOError, OSError):
            seen += os.read(master, 65536)
        time.sleep(0.01)


def _end(proc: subprocess.Popen[bytes], master: int) -> int:
    """SIGTERM (quit as ``q`` would); the exit code."""
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        _pump(master)
        time.sleep(0.02)
    if proc.poll() is None:
        proc.kill()
    return proc.wait(timeout=10)


def test_rows_show_before_a_long_list_is_queued_and_a_quit_keeps_each_url_once(
    server: FaultServer, tmp_path: Path
) -> None:
    url = server.add_file("/slow.bin", b"x" * (4 * 1024 * 1024), rate=64 * 1024)
    urls = [f"{url}?{n}" for n in range(COUNT)]
    listing, state, out = tmp_path / "list.txt", tmp_path / "state.db", tmp_path / "out"
    listing.write_text("".join(f"{u}\n" for u in urls))
    command = ["--no-fsync", "--state", str(state), "-d", str(out), "-i", str(listing)]

    proc, master = _dashboard(command)
    seen = bytearray()
    try:
        _read_until(master, proc, b"slow.bin", seen, timeout=60)  # the first row is drawn
        at_first_row = len(_journaled(state))
        code = _end(proc, master)  # a quit while it queues
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert at_first_row < COUNT, "the window showed only once the whole list was queued"
    assert code == 143
    kept = _journaled(state)
    # Whole batches, in the list's order: each URL journaled once or not at all.
    assert 0 < len(kept) < COUNT
    assert kept == urls[: len(kept)]

    proc, master = _dashboard(command)  # the same list again: only the rest is queued
    seen = bytearray()
    try:
        _read_until(master, proc, b"slow.bin", seen, timeout=60)
        deadline = time.monotonic() + 120
        while len(_journaled(state)) < COUNT:
            assert time.monotonic() < deadline and proc.poll() is None
            with contextlib.suppress(BlockingIOError, OSError):
                seen += os.read(master, 65536)
            time.sleep(0.05)
        _read_until(master, proc, b"already listed", seen, timeout=10)
        assert _end(proc, master) == 143
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert _journaled(state) == urls  # all of them, none twice
    assert f"{len(kept)} URLs already listed".encode() in seen
