"""``afetch serve`` in one process, the command line in others, over the real socket."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from control_procs import Serve, afetch, environment, wait_for
from faultserver import FaultServer

from afetch_tui.cli import main
from afetch_tui.control.paths import socket_path
from afetch_tui.engine.events import Added, StateChanged


def test_add_many_urls_at_once_then_ls(
    serve: Callable[..., Serve], server: FaultServer, state: Path, tmp_path: Path
) -> None:
    urls = [server.add_file(f"/f{n}.bin", bytes([n % 256]) * 100) for n in range(300)]
    running = serve()
    added = afetch("add", "--state", str(state), *urls, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == f"queued 300 in the running afetch (pid {running.pid})"

    listed = afetch("ls", "--json", "--state", str(state), cwd=tmp_path)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [row["url"] for row in rows] == urls
    assert set(rows[0]) == set(Added(_snapshot(rows)).to_json()["download"])

    out = tmp_path / "out"
    wait_for(lambda: len(list(out.glob("f*.bin"))) == 300, running.proc, what="300 files")
    assert all((out / f"f{n}.bin").read_bytes() == bytes([n % 256]) * 100 for n in range(300))
    wait_for(lambda: len(running.lines()) == 300, running.proc, what="300 done lines")
    assert all(line.startswith("done    ") for line in running.lines())


def _snapshot(rows: list[dict[str, object]]) -> object:
    from afetch_tui.control.codec import decode_download

    return decode_download(dict(rows[0]))


def test_refused_urls_get_one_line_each_and_exit_1(
    serve: Callable[..., Serve], server: FaultServer, state: Path, tmp_path: Path
) -> None:
    good = server.add_file("/good.bin", b"x" * 10)
    running = serve()
    added = afetch("add", "--state", str(state), good, "ftp://nope/", "http://a b/", cwd=tmp_path)
    assert added.returncode == 1
    assert added.stdout.strip() == f"queued 1 in the running afetch (pid {running.pid})"
    refused = added.stderr.splitlines()
    assert len(refused) == 2
    assert refused[0].startswith("afetch: refused ftp://nope/: ")
    assert refused[1].startswith("afetch: refused http://a b/: ")

    usage = afetch("add", "--state", str(state), good, "-x", "99", cwd=tmp_path)
    assert usage.returncode == 2
    assert "-x must be 1 to 16" in usage.stderr


def test_plain_afetch_url_hands_off_to_the_running_one(
    serve: Callable[..., Serve], server: FaultServer, state: Path, tmp_path: Path
) -> None:
    urls = [server.add_file(f"/h{n}", b"h" * 50) for n in range(3)]
    running = serve()
    listing = tmp_path / "list.txt"
    listing.write_text(f"{urls[2]}\n  out=renamed.bin\n")
    handed = afetch("--state", str(state), urls[0], urls[1], "-i", str(listing), cwd=tmp_path)
    assert handed.returncode == 0, handed.stderr
    assert handed.stdout.strip() == f"queued 3 in the running afetch (pid {running.pid})"
    wait_for(lambda: (tmp_path / "out" / "renamed.bin").exists(), running.proc, what="renamed")
    # The same again, and one more: only the new one is queued (else each downloads again)
    fourth = server.add_file("/h3", b"h" * 50)
    again = afetch("add", "--state", str(state), urls[0], urls[1], fourth, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == (
        f"queued 1 in the running afetch (pid {running.pid});"
        " 2 already in its list, not queued again"
    )
    # The same URL into another folder, or under a name of its own, is another download
    other = afetch("add", "--state", str(state), "-d", str(tmp_path / "b"), urls[0], urls[0],
                   cwd=tmp_path)  # fmt: skip
    assert other.stdout.strip() == f"queued 2 in the running afetch (pid {running.pid})"
    named = afetch("add", "--state", str(state), "-o", "own.bin", urls[0], cwd=tmp_path)
    assert named.stdout.strip() == f"queued 1 in the running afetch (pid {running.pid})"
    twice = afetch("add", "--state", str(state), urls[1], urls[1], cwd=tmp_path)
    assert twice.stdout.strip().endswith("; 2 already in its list, not queued again")


def test_commands_steer_the_running_afetch(
    serve: Callable[..., Serve],
    server: FaultServer,
    state: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The verbs, run in this process (the hand-off tests above run them in their own)."""
    slow = server.add_file("/slow.bin", b"s" * 4_000_000, rate=200_000)
    serve()

    def run(*args: str) -> tuple[int, str, str]:
        code = main([args[0], "--state", str(state), *args[1:]])
        out, err = capsys.readouterr()
        return code, out.strip(), err.strip()

    def ls() -> list[dict[str, object]]:
        return [json.loads(line) for line in run("ls", "--json")[1].splitlines()]

    assert run("add", "--paused", slow)[0] == 0
    assert ls()[0]["state"] == "paused"
    assert run("resume", "1", "7") == (1, "resumed 1", "afetch: 7: no download with id 7")
    wait_for(lambda: ls()[0]["state"] == "downloading", what="downloading")
    assert run("pause", "--all") == (0, "paused 1", "")
    assert ls()[0]["state"] == "paused"

    limited = run("limit", "--rate", "1M", "-j", "3")
    assert limited == (0, "rate 1.0 MiB/s, per host unlimited, 3 at once, 4 per host", "")
    assert run("limit", "--host", "127.0.0.1", "--rate", "0") == (0, "127.0.0.1: unlimited", "")
    assert run("limit", "--host", "127.0.0.1")[0] == 2

    assert run("cancel", "1")[:2] == (0, "cancelled 1")
    assert ls()[0]["state"] == "cancelled"
    assert run("remove", "--all")[:2] == (0, "removed 1")
    assert ls() == []
    assert run("pause")[0] == 2


def test_watch_json_streams_the_get_json_schema(
    serve: Callable[..., Serve], server: FaultServer, state: Path, tmp_path: Path
) -> None:
    url = server.add_file("/w.bin", b"w" * 1000)
    serve()
    watch = subprocess.Popen(
        [sys.executable, "-m", "afetch_tui", "watch", "--json", "--state", str(state)],
        env=environment(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: _subscribers(state) == 1, watch, what="watch to subscribe")
        assert afetch("add", "--state", str(state), url, cwd=tmp_path).returncode == 0
        assert watch.stdout is not None
        events = []
        for line in watch.stdout:
            events.append(json.loads(line))
            if events[-1] == {**events[-1], "event": "state", "state": "completed"}:
                break
        kinds = [e["event"] for e in events]
        assert kinds[0] == "added" and "handoff" in kinds and "progress" in kinds
        state_event = next(e for e in events if e["event"] == "state")
        assert set(state_event) == set(StateChanged(1, state_event["state"]).to_json())
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=10) == 0
    finally:
        watch.kill()
        watch.wait()


def _subscribers(state: Path) -> int:
    """How many watchers the running afetch has (asked over the socket itself)."""
    import asyncio

    from afetch_tui.control.client import Connection

    async def ask() -> int:
        async with await Connection.connect(socket_path(state)) as connection:
            return int((await connection.request("hello"))["subscribers"])

    return asyncio.run(ask())


def test_kill_9_of_serve_then_a_new_one_resumes_the_queue(
    serve: Callable[..., Serve],
    server: FaultServer,
    payload: Callable[..., bytes],
    state: Path,
    tmp_path: Path,
) -> None:
    data = payload(3_000_000, seed=3)
    url = server.add_file("/big.bin", data, rate=2_000_000)
    first = serve()
    assert afetch("add", "--state", str(state), url, cwd=tmp_path).returncode == 0
    part = tmp_path / "out" / "big.bin.part"
    wait_for(lambda: part.exists() and part.stat().st_size > 1_500_000, first.proc, what="bytes")
    first.kill()
    assert socket_path(state).exists()  # left behind: stale

    offline = afetch("ls", "--state", str(state), cwd=tmp_path)  # from the file, unlocked
    assert offline.returncode == 0 and "big.bin" in offline.stdout
    refused = afetch("pause", "--state", str(state), "1", cwd=tmp_path)
    assert refused.returncode == 1 and "no afetch is running" in refused.stderr

    second = serve()
    final = tmp_path / "out" / "big.bin"
    wait_for(final.exists, second.proc, timeout=30, what="the resumed file")
    assert final.read_bytes() == data
    assert server.requests_for("/big.bin")[-1].header("Range")
    assert second.stop() == 0
    assert not socket_path(state).exists()


def test_a_second_serve_on_the_same_state_is_refused(
    serve: Callable[..., Serve], state: Path, tmp_path: Path
) -> None:
    running = serve()
    second = afetch("serve", "--state", str(state), cwd=tmp_path, timeout=15)
    assert second.returncode == 1
    assert f"another afetch (pid {running.pid})" in second.stderr
    assert running.proc.poll() is None
    assert os.path.exists(socket_path(state))


def test_the_control_commands_load_no_aiohttp_and_no_ui() -> None:
    """A hand-off costs Python's start-up and a round trip, not the engine's imports."""
    probe = (
        "import sys, afetch_tui.control.commands, afetch_tui.control.client\n"
        "print(sorted(m for m in ('aiohttp', 'textual', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_hand_off_larger_than_one_request_goes_in_several(
    state: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The server (on a loop in a thread here) refuses lines over its limit; the client splits."""
    import asyncio
    import threading

    from afetch_tui.control import wire
    from afetch_tui.control.serve import listen
    from afetch_tui.engine.manager import DownloadManager

    monkeypatch.setattr(wire, "MAX_REQUEST", 4000)
    ready, stop = threading.Event(), threading.Event()

    async def run_server() -> None:
        async with DownloadManager(tmp_path / "out") as manager:
            control = await listen(manager, state, role="test")
            ready.set()
            while not stop.is_set():  # noqa: ASYNC110 - a flag set by another thread
                await asyncio.sleep(0.02)
            await control.close()

    thread = threading.Thread(target=asyncio.run, args=(run_server(),))
    thread.start()
    try:
        assert ready.wait(10)
        urls = [f"http://127.0.0.1:9/{n:04d}/{'x' * 40}" for n in range(200)]
        assert main(["add", "--state", str(state), "--paused", *urls]) == 0
        assert (
            capsys.readouterr().out.strip()
            == f"queued 200 in the running afetch (pid {os.getpid()})"
        )
        assert main(["ls", "--json", "--state", str(state)]) == 0
        listed = [json.loads(line)["url"] for line in capsys.readouterr().out.splitlines()]
        assert listed == urls
    finally:
        stop.set()
        thread.join(10)
