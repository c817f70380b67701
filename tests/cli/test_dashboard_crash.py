"""kill -9 of the dashboard mid-download, then start it again: it resumes by itself."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

MIB = 1024 * 1024
SIZE = 64 * MIB


def _dashboard(args: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    """Start the real app on a pseudo-terminal, as a user's terminal would run it."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(TERM="xterm-256color", COLUMNS="120", LINES="40")
    proc = subprocess.Popen(
        [sys.executable, "-m", "afetch_tui", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    os.set_blocking(master, False)
    return proc, master


def _pump(master: int) -> None:
    """Read and drop the app's output so it never blocks on a full terminal."""
    try:
        while os.read(master, 65536):
            pass
    except (BlockingIOError, OSError):
        pass


def _wait(predicate, proc: subprocess.Popen[bytes], master: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _pump(master)
        if predicate():
            return
        assert proc.poll() is None, f"dashboard exited with {proc.returncode}"
        time.sleep(0.02)
    raise AssertionError("timed out")


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def test_dashboard_killed_resumes_on_next_start(server, payload, tmp_path):
    data = payload(SIZE, seed=7)
    url = server.add_file("/dash.bin", data, rate=10 * MIB)
    out, state = tmp_path / "out", tmp_path / "state.db"
    part, final = out / "dash.bin.part", out / "dash.bin"

    first, master = _dashboard(["--state", str(state), "-d", str(out), url])
    try:
        _wait(lambda: _size(part) >= SIZE // 2, first, master, timeout=30)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        os.close(master)
    served_before = server.bytes_served("/dash.bin")

    second, master = _dashboard(["--state", str(state), "-d", str(out)])
    try:
        _wait(final.exists, second, master, timeout=60)
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait(timeout=10)
        os.close(master)
    assert final.read_bytes() == data
    served_again = server.bytes_served("/dash.bin") - served_before
    assert served_again < 0.6 * SIZE, f"second start fetched {served_again / SIZE:.0%}"
    assert server.requests_for("/dash.bin")[-1].header("Range")


def _ended_by(
    proc: subprocess.Popen[bytes] | subprocess.Popen[str], signum: int, within: float
) -> int:
    """Send ``signum``; the exit code once ``proc`` ends (killed if it has not, ``within``)."""
    proc.send_signal(signum)
    try:
        return proc.wait(timeout=within)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_dashboard_whose_terminal_went_away_still_ends_on_sighup(server, payload, tmp_path):
    """The terminal closes (its window killed), then SIGHUP comes: afetch ends with its
    queue saved and the signal's exit code (saying so on the dead terminal failed, and
    it ended with 1)."""
    url = server.add_file("/hup.bin", payload(8 * MIB, seed=8), rate=1 * MIB)
    out, state = tmp_path / "out", tmp_path / "state.db"
    proc, master = _dashboard(["--state", str(state), "-d", str(out), url])
    try:
        _wait(lambda: _size(out / "hup.bin.part") > 0, proc, master, timeout=30)
    finally:
        os.close(master)  # the terminal is gone: every write to it fails from now on
    time.sleep(1.0)  # the app keeps drawing into it meanwhile
    assert _ended_by(proc, signal.SIGHUP, within=20) == 128 + signal.SIGHUP
    again = subprocess.run(
        [sys.executable, "-m", "afetch_tui", "ls", "--state", str(state)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert "hup.bin" in again.stdout, (again.stdout, again.stderr)


BLOCKED_LOOP = """
import asyncio, threading
from afetch_tui.config import on_termination

async def main():
    with on_termination(lambda signum: print("stop asked", flush=True), grace=0.5):
        print("ready", flush=True)
        held = threading.Lock()
        held.acquire()
        held.acquire()  # what a write to the dead terminal's writer does: waits for ever

asyncio.run(main())
"""


def test_a_signal_ends_a_run_whose_loop_is_stuck():
    """Once its terminal is gone Textual's output thread dies, and the next write blocks
    the loop for ever, so a handler the loop runs never does: the run still ends, with
    the signal's exit code, within the grace."""
    proc = subprocess.Popen([sys.executable, "-c", BLOCKED_LOOP], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    time.sleep(0.2)
    started = time.monotonic()
    assert _ended_by(proc, signal.SIGTERM, within=10) == 128 + signal.SIGTERM
    assert time.monotonic() - started < 5


AFTER_THE_BLOCK = """
import asyncio, os, signal
from afetch_tui.config import on_termination

async def main():
    with on_termination(lambda signum: print("stop asked", flush=True), grace=0.3):
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.8)  # closing the queue after the block: never cut short
    print("closed", flush=True)

asyncio.run(main())
"""


def test_what_follows_the_watched_block_runs_to_its_end():
    """The backstop watches the block (a screen that cannot close), not the queue's
    close after it: that runs to its end however long it takes."""
    done = subprocess.run(
        [sys.executable, "-c", AFTER_THE_BLOCK], capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["stop", "asked", "closed"]


def test_a_signal_ignored_before_stays_ignored():
    """Under ``nohup`` SIGHUP is ignored, and stays so while afetch runs."""
    script = AFTER_THE_BLOCK.replace("signal.SIGTERM", "signal.SIGHUP")
    done = subprocess.run(
        [sys.executable, "-c", "import signal; signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
         + script],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["closed"]
