"""The control socket under abuse: garbage, oversized lines, strangers, slow and vanishing peers."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import socket
import stat
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from faultserver import FaultServer

from afetch_tui.control import ops, wire
from afetch_tui.control.client import Connection
from afetch_tui.control.codec import encode_download
from afetch_tui.control.paths import ControlError, socket_path
from afetch_tui.control.remote import RemoteManager
from afetch_tui.control.server import ControlServer
from afetch_tui.control.wire import peer_uid
from afetch_tui.engine.errors import InputError
from afetch_tui.engine.events import Resync, State, Updated
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.spec import DownloadSpec

Served = tuple[DownloadManager, ControlServer]


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    state = tmp_path / "state.db"
    options = ManagerOptions(fsync=False, retries=0, timeout=5.0)
    async with DownloadManager(tmp_path / "out", options=options) as manager:
        server = ControlServer(manager, socket_path(state), role="test", state=state)
        await server.start()
        try:
            yield manager, server
        finally:
            await server.close()


async def raw(server: ControlServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_unix_connection(server.path, limit=wire.MAX_REPLY)


async def reply(reader: asyncio.StreamReader) -> dict[str, object]:
    line = await asyncio.wait_for(reader.readline(), 5)
    data: dict[str, object] = json.loads(line)
    return data


def code(message: dict[str, object]) -> object:
    error = message["error"]
    assert isinstance(error, dict)
    return error["code"]


async def test_socket_is_private(served: Served) -> None:
    _, server = served
    assert stat.S_IMODE(server.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(server.path.parent.stat().st_mode) == 0o700
    assert stat.S_ISSOCK(server.path.stat().st_mode)


async def test_garbage_gets_error_replies_and_the_server_goes_on(
    served: Served,
) -> None:
    _, server = served
    reader, writer = await raw(server)
    bad_lines = [
        b"\xff\xfe\x00garbage\n",
        b"{not json\n",
        b"[1, 2, 3]\n",
        b'{"id": 1}\n',
        b'{"id": 2, "op": "explode", "args": {}}\n',
        b'{"id": 3, "op": "pause", "args": {"ids": "all"}}\n',
        b'{"id": 4, "op": "hello", "args": {}, "v": 99}\n',
        b'{"id": 5, "op": "add", "args": {"items": [{"url": 7}]}}\n',
        b'{"id": [6], "op": "hello", "args": []}\n',
        b"[" * 100_000 + b"\n",
    ]
    writer.write(b"".join(bad_lines))
    replies = [await reply(reader) for _ in bad_lines]
    assert [code(r) for r in replies] == [
        "malformed",
        "malformed",
        "malformed",
        "malformed",
        "unknown-op",
        "bad-args",
        "version",
        "bad-args",
        "malformed",
        "malformed",
    ]
    assert [r["id"] for r in replies] == [None, None, None, 1, 2, 3, 4, 5, None, None]

    writer.write(b"x" * (wire.MAX_REQUEST + 10) + b'\n{"id": 9, "op": "hello", "args": {}}\n')
    assert code(await reply(reader)) == "too-large"
    hello = await reply(reader)
    assert hello["ok"] is True and hello["id"] == 9
    writer.close()

    async with await Connection.connect(server.path) as connection:  # and for others too
        assert (await connection.request("hello"))["pid"] == os.getpid()


async def test_a_peer_vanishing_mid_stream_costs_nothing(
    served: Served,
    server: FaultServer,
    payload: Callable[..., bytes],
) -> None:
    manager, control = served
    url = server.add_file("/v.bin", payload(2_000_000), rate=2_000_000)
    before = len(manager._events.subscribers)
    for _ in range(5):
        reader, writer = await raw(control)
        writer.write(b'{"id": 1, "op": "subscribe", "args": {}}\n')
        await reply(reader)
        if not manager.downloads():
            await manager.add(url)
        await asyncio.sleep(0.1)  # events are flowing to it now
        writer.transport.abort()  # no goodbye
    await asyncio.sleep(0.2)
    assert len(manager._events.subscribers) == before
    async with await Connection.connect(control.path) as connection:
        remote = await RemoteManager.attach(connection)
        await asyncio.wait_for(_until(lambda: remote.downloads()[0].state is State.COMPLETED), 10)
    assert manager.downloads()[0].state is State.COMPLETED


async def test_a_slow_subscriber_is_bounded_and_merged(served: Served, server: FaultServer) -> None:
    """A peer that subscribes and never reads: the server's queue for it stays bounded."""
    manager, control = served
    reader, writer = await raw(control)
    writer.write(b'{"id": 1, "op": "subscribe", "args": {}}\n')
    await reply(reader)
    (session,) = control._sessions
    assert session.subscription is not None
    session.subscription._maxsize = 50  # small, so the test need not fill a socket buffer
    urls = [server.add_file(f"/s{n}", b"s" * 10) for n in range(2000)]
    await manager.add_many(DownloadSpec(urls, paused=True))
    for download_id in range(1, 2001):  # state changes are never merged: they pile up
        await manager.resume(download_id)
    await asyncio.sleep(0.5)
    assert len(session.subscription._pending) <= 50
    events = []
    while not any(e.get("event") == "resync" for e in events):
        events.append(json.loads(await asyncio.wait_for(reader.readline(), 10)))
    writer.close()


async def test_another_users_uid_is_refused(served: Served, tmp_path: Path) -> None:
    """The peer check itself: the socket is opened up to everyone, and nobody connects."""
    if os.getuid() != 0:
        pytest.skip("needs root to run a client as another user")
    python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
    if python is None:
        pytest.skip("needs a python3 that another user may run")
    _, control = served
    nobody = pwd.getpwnam("nobody")
    for path in (control.path.parent.parent, control.path.parent):
        path.chmod(0o755)
    control.path.chmod(0o666)
    client = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "s.connect(sys.argv[1])\n"
        "print(s.makefile().read(), end='')\n"  # refused at once, before any request
    )
    proc = await asyncio.create_subprocess_exec(
        python,
        "-c",
        client,
        str(control.path),
        stdout=asyncio.subprocess.PIPE,
        user=nobody.pw_uid,
        group=nobody.pw_gid,
        extra_groups=[],
        cwd="/",
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 10)
    (line,) = out.decode().splitlines()
    refused = json.loads(line)
    assert refused["ok"] is False and code(refused) == "forbidden"
    assert f"uid {nobody.pw_uid}" in refused["error"]["message"]  # type: ignore[index]


def test_peer_uid_reads_the_kernels_credentials() -> None:
    one, other = socket.socketpair(socket.AF_UNIX)
    with one, other:
        assert peer_uid(one) == (os.getpid(), os.getuid())


async def test_a_stale_socket_is_detected_and_replaced(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    path = socket_path(state)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    crashed = socket.socket(socket.AF_UNIX)
    crashed.bind(str(path))  # bound, never listening, then gone: a crashed owner's socket
    crashed.close()
    assert path.exists()
    assert await Connection.find(state) is None
    async with DownloadManager(tmp_path / "out") as manager:
        control = ControlServer(manager, path, role="test", state=state)
        await control.start()
        connection = await Connection.find(state)
        assert connection is not None
        await connection.close()
        await control.close()
    assert not path.exists()


async def test_remote_manager_mirrors_the_manager(
    served: Served,
    server: FaultServer,
    payload: Callable[..., bytes],
) -> None:
    manager, control = served
    url = server.add_file("/m.bin", payload(300_000), rate=600_000)
    async with await Connection.connect(control.path) as connection:
        remote = await RemoteManager.attach(connection)
        assert remote.owner == f"afetch test (pid {os.getpid()})"
        (download_id,) = await remote.add_many(DownloadSpec([url]))
        with pytest.raises(InputError, match="unsupported scheme"):
            await remote.add_many(DownloadSpec([url, "ftp://x/"]))
        with pytest.raises(InputError, match="no download with id 99"):
            await remote.pause(99)
        await asyncio.wait_for(manager.wait(), 10)
        await remote.set_limits(replace(remote.limits, rate=1_000_000))
        await asyncio.wait_for(_until(lambda: remote.limits.rate == 1_000_000), 5)
        await asyncio.wait_for(_until(lambda: remote.download(download_id).regions == ()), 5)
        await asyncio.sleep(0.3)  # the last host statistics
        # The same to the millisecond (the --json schema's precision), logs included:
        assert [encode_download(d) for d in remote.downloads()] == [
            encode_download(d) for d in manager.downloads()
        ]
        assert len(remote.download(download_id).log) == len(manager.download(download_id).log) > 0
        assert {h.host: h.bytes for h in remote.hosts()} == {
            h.host: h.bytes for h in manager.hosts()
        }


async def _until(predicate: Callable[[], object]) -> None:
    while not predicate():  # noqa: ASYNC110 - polls a plain condition
        await asyncio.sleep(0.02)


async def test_a_missing_runtime_dir_is_created_private(
    runtime_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Else platformdirs refuses it afterwards, and clients look elsewhere."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime_dir / "missing"))
    state = tmp_path / "state.db"
    async with DownloadManager(tmp_path / "out") as manager:
        control = ControlServer(manager, socket_path(state), role="test", state=state)
        await control.start()
        try:
            assert stat.S_IMODE((runtime_dir / "missing").stat().st_mode) == 0o700
            assert socket_path(state) == control.path
            connection = await Connection.find(state)
            assert connection is not None
            await connection.close()
        finally:
            await control.close()


async def test_a_remote_manager_that_fell_behind_resyncs_from_a_fresh_snapshot(
    served: Served,
) -> None:
    manager, control = served
    async with await Connection.connect(control.path) as connection:
        remote = await RemoteManager.attach(connection)
        local = remote.subscribe()
        (session,) = control._sessions
        assert session.subscription is not None
        session.subscription._maxsize = 5  # 100 events in one go overflow it
        await manager.add_many(
            DownloadSpec([f"http://127.0.0.1:9/{n}" for n in range(100)], paused=True)
        )
        await asyncio.wait_for(_until(lambda: len(remote.downloads()) == 100), 5)
        events = local.drain()
        assert any(isinstance(e, Resync) for e in events)
        assert [d.id for d in remote.downloads()] == [d.id for d in manager.downloads()]


async def test_a_server_of_another_protocol_version_is_refused(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, control = served
    newer = ops.hello

    def hello(role: str, state: str) -> dict[str, object]:
        return {**newer(role, state), "version": 2}

    monkeypatch.setattr(ops, "hello", hello)  # the server's side of it
    with pytest.raises(ControlError, match="speaks control protocol version 2"):
        await Connection.connect(control.path)


async def test_updates_from_a_remote_manager_carry_the_log_like_in_process_ones(
    served: Served,
) -> None:
    """The wire's download objects have no log; a UI must not lose its log to an update."""
    manager, control = served
    async with await Connection.connect(control.path) as connection:
        remote = await RemoteManager.attach(connection)
        local = remote.subscribe()
        (download_id,) = await remote.add_many(DownloadSpec(["http://127.0.0.1:9/x"], paused=True))
        await remote.cancel(download_id)  # a line in its log
        await remote.set_download_limit(download_id, 1000.0)  # an `updated` event
        await asyncio.wait_for(_until(lambda: remote.download(download_id).limit_rate), 5)
        updates = [e for e in local.drain() if isinstance(e, Updated)]
        assert updates and updates[-1].download.limit_rate == 1000.0
        messages = [entry.message for entry in manager.download(download_id).log]
        assert [entry.message for entry in updates[-1].download.log] == messages != []


async def test_infinity_and_nan_are_not_numbers_on_the_wire(served: Served) -> None:
    """``Infinity`` would be saved as a host's cap and fail every later download of it."""
    manager, server = served
    reader, writer = await raw(server)
    writer.write(b'{"id": 1, "op": "set_host_limit", "args": {"host": "h:80", "rate": Infinity}}\n')
    writer.write(b'{"id": 2, "op": "set_on_complete", "args": {"timeout": NaN}}\n')
    assert [code(await reply(reader)), code(await reply(reader))] == ["malformed", "malformed"]
    writer.close()
    with pytest.raises(InputError, match="finite"):
        await manager.set_host_limit("h:80", float("inf"))


def test_a_split_downloads_parts_survive_the_wire() -> None:
    """Progress events carry `RegionInfo`s, not dicts (the details pane reads ``.end``)."""
    from afetch_tui.control.codec import decode_event
    from afetch_tui.engine.events import Progress, RegionInfo

    parts = (RegionInfo(0, 10, 5, True, 1.0), RegionInfo(10, 20, 0, False, 0.0))
    event = Progress(1, 5, 20, 1.0, 2.0, 3.0, 2, parts)
    decoded = decode_event(json.loads(json.dumps(event.to_json())))
    assert isinstance(decoded, Progress)
    assert decoded.regions == parts


async def test_a_relative_directory_is_refused(served: Served, tmp_path: Path) -> None:
    """Directories on the wire are absolute: the client resolves a relative one where it
    runs (`commands.add_items`); one resolved here would land in this process's cwd."""
    manager, server = served
    reader, writer = await raw(server)
    item = {"url": "http://127.0.0.1:9/f.bin", "directory": "sub", "paused": True}
    writer.write(json.dumps({"id": 1, "op": "add", "args": {"items": [item]}}).encode() + b"\n")
    refused = await reply(reader)
    item["directory"] = str(tmp_path / "sub")
    writer.write(json.dumps({"id": 2, "op": "add", "args": {"items": [item]}}).encode() + b"\n")
    taken = await reply(reader)
    writer.close()
    assert code(refused) == "bad-args"
    assert taken["ok"] is True
    assert [d.directory for d in manager.downloads()] == [tmp_path / "sub"]


def test_the_client_sends_directories_absolute(tmp_path: Path, monkeypatch) -> None:
    """``-d`` and an input file's ``dir=`` are resolved where ``afetch add`` runs: under
    ``-d`` if given, else under its working directory, as ``afetch get`` does."""
    import argparse

    from afetch_tui.control.commands import add_items
    from afetch_tui.engine.inputfile import InputEntry

    monkeypatch.chdir(tmp_path)
    args = argparse.Namespace(dir=None, urls=["http://h/a"], connections=None)
    entries = [InputEntry("http://h/b", 1, dir="sub"), InputEntry("http://h/c", 2)]
    assert [item.directory for item in add_items(args, entries)] == [
        None,  # the running afetch's own directory
        str(tmp_path / "sub"),
        None,
    ]
    args.dir = "out"
    assert [item.directory for item in add_items(args, entries)] == [
        str(tmp_path / "out"),
        str(tmp_path / "out" / "sub"),
        str(tmp_path / "out"),
    ]
