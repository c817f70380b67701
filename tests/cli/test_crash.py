"""kill -9 of `afetch get` mid-download, then the same command again: nothing lost."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

MIB = 1024 * 1024
SIZE = 64 * MIB


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def _get(url: str, out: Path, state: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "afetch_tui", "get", "-q", "-d", str(out)]
    command += ["--state", str(state), *extra, url]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())


def _wait_for_size(path: Path, size: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size >= size:
            return
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        time.sleep(0.01)
    raise AssertionError(f"{path} never reached {size} bytes")


def _written(part: Path) -> int:
    """Bytes written to a file filled at several offsets at once (its allocated blocks)."""
    try:
        return part.stat().st_blocks * 512
    except FileNotFoundError:
        return 0


def _kept_spans(state: Path) -> list[range]:
    """The byte spans the state file says are written, one per region of a split download."""
    with contextlib.closing(sqlite3.connect(state)) as db:
        (regions,) = db.execute("SELECT regions FROM downloads").fetchone()
    return [range(start, start + kept) for start, _end, kept, *_ in json.loads(regions)]


def _saved(state: Path) -> int:
    """Bytes the state file says are written (0 before it records any regions)."""
    try:
        return sum(len(span) for span in _kept_spans(state))
    except (sqlite3.Error, TypeError):  # not created yet, locked, or no regions yet
        return 0


def _span(header: str) -> range:
    """The bytes a ``Range: bytes=first-last`` header asks for."""
    first, last = header.removeprefix("bytes=").split("-")
    return range(int(first), int(last) + 1)


def test_kill_9_then_rerun_resumes_byte_exact(server, payload, tmp_path):
    data = payload(SIZE, seed=64)
    url = server.add_file("/sixty-four.bin", data, rate=10 * MIB)
    out, state = tmp_path / "out", tmp_path / "state.db"

    first = _get(url, out, state)
    _wait_for_size(out / "sixty-four.bin.part", SIZE // 2, first, timeout=30)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert not (out / "sixty-four.bin").exists()
    served_before = server.bytes_served("/sixty-four.bin")

    second = _get(url, out, state)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err.decode()
    assert (out / "sixty-four.bin").read_bytes() == data
    assert not (out / "sixty-four.bin.part").exists()
    served_again = server.bytes_served("/sixty-four.bin") - served_before
    print(f"second run fetched {served_again / SIZE:.1%} of the file")
    assert served_again <= 0.52 * SIZE, f"second run fetched {served_again / SIZE:.1%}"
    resume = server.requests_for("/sixty-four.bin")[-1]
    assert resume.header("If-Range") == server.entity("/sixty-four.bin").etag
    assert b"Traceback" not in err


def test_rerun_after_ctrl_c_resumes_instead_of_renaming(server, payload, tmp_path):
    data = payload(8 * MIB, seed=8)
    url = server.add_file("/eight.bin", data, rate=4 * MIB)
    out, state = tmp_path / "out", tmp_path / "state.db"
    first = _get(url, out, state)
    _wait_for_size(out / "eight.bin.part", 2 * MIB, first, timeout=30)
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=10) == 130

    second = _get(url, out, state)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err.decode()
    assert sorted(p.name for p in out.iterdir()) == ["eight.bin"]
    assert (out / "eight.bin").read_bytes() == data
    assert server.requests_for("/eight.bin")[-1].header("Range")


def test_kill_9_of_a_split_download_resumes_every_region(server, payload, tmp_path):
    data = payload(SIZE, seed=32)
    # Each of the four connections (a quarter each) goes silent halfway through its part.
    # The kill waits for that half to be on disk and in the state file (the last small
    # piece of each is written within body.MAX_HOLD though no more comes). Killed
    # mid-stream instead, it lost the engine's checkpoint lag times the rate: a time in
    # bytes, which on a loaded machine grew past the 53% this test allowed (53.6%).
    url = server.add_file("/split.bin", data, rate=4 * MIB, stall_after=SIZE // 8, stall_times=4)
    out, state = tmp_path / "out", tmp_path / "state.db"
    args = ["-x", "4", "-k", "4M"]

    first = _get(url, out, state, *args)
    deadline = time.monotonic() + 30
    part = out / "split.bin.part"
    while _written(part) < len(data) // 2 or _saved(state) < len(data) // 2:
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.01)
    assert _saved(state) == len(data) // 2  # no more: the silent connections sent no more
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert server.max_concurrent("/split.bin") == 4
    kept = _kept_spans(state)
    server.clear_requests()

    second = _get(url, out, state, *args)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err.decode()
    assert (out / "split.bin").read_bytes() == data
    served_again = server.bytes_served("/split.bin")
    print(f"second run fetched {served_again / len(data):.1%} of the file")
    # Exactly what the state file did not hold, half the file (under the old bound, 53%).
    assert served_again == len(data) - sum(len(span) for span in kept) == len(data) // 2
    requests = server.requests_for("/split.bin", "GET")
    assert all(r.header("Range") and r.header("If-Range") for r in requests)
    # No byte the state file holds is asked for again.
    asked = [_span(r.header("Range") or "") for r in requests]
    again = [(a, k) for a in asked for k in kept if max(a.start, k.start) < min(a.stop, k.stop)]
    assert not again, again
    assert len({r.header("Range") for r in requests}) >= 3
