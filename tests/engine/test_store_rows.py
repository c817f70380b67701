"""A state file that is SQLite but not what afetch wrote: bad rows are set aside, one message
each, and the good ones kept; tables without afetch's columns are moved aside like a corrupt
file. A failing save is said once and never stops the saves after it."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_helpers import GUARD, fast_options

from afetch_tui.engine.events import State, StoreProblem
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.records import Record
from afetch_tui.engine.store import Store, read_records

MIB = 1024 * 1024


async def _queue(state: Path, directory: Path, urls: list[str]) -> list[int]:
    store = await Store.open(state)
    manager = DownloadManager(directory, options=fast_options(), store=store)
    await manager.start()
    ids = [await manager.add(url, paused=True) for url in urls]
    await manager.close()
    await store.close()
    return ids


def _spoil(state: Path, download_id: int, column: str, value: object) -> None:
    with contextlib.closing(sqlite3.connect(state)) as conn:
        conn.execute(f"UPDATE downloads SET {column} = ? WHERE id = ?", (value, download_id))
        conn.commit()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("headers", "not json"),
        ("headers", '["a list"]'),
        ("regions", "[[1, 2]]"),
        ("regions", '"x"'),
        ("state", "bogus"),
        ("log", "[[1]]"),
        ("checkpoint", -5),
        ("url", None if False else ""),
    ],
)
async def test_a_bad_row_is_set_aside_and_the_others_kept(server, tmp_path, column, value):
    state = tmp_path / "state.db"
    urls = [server.url(f"/{n}.bin") for n in range(3)]
    good, bad, other = await _queue(state, tmp_path / "out", urls)
    _spoil(state, bad, column, value)

    store = await Store.open(state)
    try:
        assert len(store.notices) == 1, store.notices
        assert f"download {bad}" in store.notices[0] and column in store.notices[0]
        manager = DownloadManager(tmp_path / "out", options=fast_options(), store=store)
        await manager.start()
        assert [d.id for d in manager.downloads()] == [good, other]
        await manager.close()
    finally:
        await store.close()
    with contextlib.closing(sqlite3.connect(state)) as conn:
        assert conn.execute("SELECT id FROM set_aside").fetchall() == [(bad,)]
    again = await Store.open(state)  # set aside once: the next start says nothing
    assert again.notices == []
    await again.close()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "afetch_tui", *args], capture_output=True, text=True, timeout=30
    )


async def test_export_and_get_survive_bad_rows(server, payload, tmp_path):
    state = tmp_path / "state.db"
    url = server.add_file("/fine.bin", payload(1000))
    good, bad = await _queue(state, tmp_path / "out", [url, server.url("/bad.bin")])
    _spoil(state, bad, "headers", "not json")

    exported = await asyncio.to_thread(_run, "export", "--state", str(state))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith(url) and "bad.bin" not in exported.stdout
    assert "Traceback" not in exported.stderr and f"download {bad}" in exported.stderr
    skipped: list[str] = []
    assert [r.id for r in read_records(state, skipped)] == [good] and len(skipped) == 1

    got = await asyncio.to_thread(
        _run, "get", "--state", str(state), "-d", str(tmp_path / "out"), url
    )
    assert got.returncode == 0, got.stderr
    assert "Traceback" not in got.stderr
    assert got.stderr.count(f"download {bad} in") == 1
    assert (tmp_path / "out" / "fine.bin").read_bytes() == payload(1000)


async def test_tables_without_afetchs_columns_are_moved_aside(tmp_path):
    state = tmp_path / "state.db"
    with contextlib.closing(sqlite3.connect(state)) as conn:
        conn.execute("CREATE TABLE downloads (id INTEGER PRIMARY KEY, url TEXT)")
        conn.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("PRAGMA user_version = 4")
        conn.commit()
    store = await Store.open(state)
    assert store.notice and "moved" in store.notice
    assert await store.load() == ([], {})
    await store.close()


async def test_a_bad_setting_is_dropped(tmp_path):
    state = tmp_path / "state.db"
    store = await Store.open(state)
    await store.save_settings({"limits": {"max_concurrent": 3}})
    await store._run(
        lambda: store._db().execute("INSERT INTO settings VALUES ('host_limits', 'not json')")
    )
    _, settings = await store.load()
    assert settings == {"limits": {"max_concurrent": 3}}
    await store.close()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


async def test_a_failing_save_is_said_once_and_later_saves_go_on(
    server, payload, tmp_path, tiny_disk
):
    state = tiny_disk / "state.db"
    store = await Store.open(state)
    manager = DownloadManager(tmp_path / "out", options=fast_options(), store=store)
    subscription = manager.subscribe()
    await manager.start()
    try:
        filler = tiny_disk / "filler"
        await asyncio.to_thread(_fill, filler)
        ids = []
        for n in range(40):  # each add writes; every one fails while the disk is full
            ids.append(await manager.add(server.add_file(f"/{n}.bin", payload(100)), paused=True))
        await asyncio.sleep(0.3)
        problems = [e for e in subscription.drain() if isinstance(e, StoreProblem)]
        assert len(problems) == 1, problems
        assert "cannot save the queue" in problems[0].message

        filler.unlink()
        for download_id in ids:
            await manager.resume(download_id)
        await asyncio.wait_for(manager.wait(), GUARD)
        problem = await asyncio.wait_for(_next_problem(subscription), GUARD)  # the retry
        assert problem.message == f"the queue is saved to {state} again"
    finally:
        await manager.close()
        await store.close()
    records, _ = await _reload(state)
    assert len(records) == len(ids) >= 1
    assert all(r.state == State.COMPLETED.value for r in records)


async def _reload(state: Path):  # type: ignore[no-untyped-def]
    store = await Store.open(state)
    try:
        return await store.load()
    finally:
        await store.close()


async def _next_problem(subscription) -> StoreProblem:  # type: ignore[no-untyped-def]
    async for event in subscription:
        if isinstance(event, StoreProblem):
            return event
    raise AssertionError("no StoreProblem")


def _fill(path: Path) -> None:
    with contextlib.suppress(OSError), open(path, "wb") as out:
        while True:
            out.write(b"\0" * 4096)
            out.flush()


async def test_a_download_that_cannot_be_stored_does_not_stop_the_others(tmp_path):
    from afetch_tui.engine.download import Download
    from afetch_tui.engine.journal import Journal

    store = await Store.open(tmp_path / "s.db")
    reports: list[str] = []
    journal = Journal(store, reports.append)
    good = Download(id=1, url="http://127.0.0.1:9/a", host="127.0.0.1:9", directory=tmp_path)
    bad = Download(id=2, url="http://127.0.0.1:9/b", host="127.0.0.1:9", directory=tmp_path)
    bad.etag = '"\ud800"'  # a lone surrogate no encoding can store
    for _ in range(3):
        journal.changed(good)
        journal.changed(bad)
        await journal.flush()
    records, _ = await store.load()
    await store.close()
    assert [r.id for r in records] == [1]
    assert len(reports) == 1 and "download 2 cannot be saved" in reports[0]


def _record(**changes: object) -> Record:
    values: dict[str, object] = {
        "id": 7,
        "url": "http://127.0.0.1:1/f.bin?q=1",
        "directory": "/tmp/d",
        "requested_name": "f.bin",
        "name": "f (1).bin",
        "headers": {"X-A": "1"},
        "state": "downloading",
        "checkpoint": 10,
        "total": 20,
        "etag": '"e"',
        "last_modified": "Mon, 01 Jan 2024 00:00:00 GMT",
        "retries": 1,
        "error": "boom",
        "rank": 3.5,
        "limit_rate": 1000.0,
        "added_at": 1.0,
        "finished_at": None,
        "log": [(1.0, "a line")],
        "checksum": "sha256=" + "0" * 64,
        "connections": 4,
        "regions": [[0, 10, 5, 5], [10, 20, 5, 2]],
        "boot_id": "b",
        "synced": None,
    }
    values.update(changes)
    return Record(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"headers": {}, "log": [], "regions": None, "requested_name": None, "name": None},
        {"regions": [], "etag": None, "synced": 4},
        {"name": "café.bin", "log": [(2.0, "caf\udce9")]},
        {"etag": '"caf\udce9"', "error": "\u2603"},
    ],
)
def test_a_row_is_what_the_column_by_column_rules_make(changes: dict[str, object]) -> None:
    """`Record.row`'s quick path (every text ASCII) and the column-by-column path agree,
    and a row reads back as the record it came from."""
    record = _record(**changes)
    assert record.row() == record._row_by_column()
    assert Record.from_row(record.row()).row() == record.row()


async def test_a_long_save_writes_every_row_and_replaces_the_stored_ones(tmp_path):
    """Rows go in several INSERT statements of several sizes (512, then powers of two):
    every row of 1,300 is written once, and a second save replaces them, not adds."""
    store = await Store.open(tmp_path / "s.db")
    try:
        first = [
            _record(id=i, rank=float(i), url=f"http://127.0.0.1:1/{i}") for i in range(1, 1301)
        ]
        await store.save(first)
        again = [_record(id=i, rank=float(i), state="failed") for i in range(1, 1301, 2)]
        await store.save(again, deleted=[2, 4])
        records, _ = await store.load()
    finally:
        await store.close()
    assert [r.id for r in records] == [i for i in range(1, 1301) if i not in (2, 4)]
    by_id = {r.id: r for r in records}
    assert {by_id[i].state for i in range(1, 1301, 2)} == {"failed"}
    assert by_id[6].url == "http://127.0.0.1:1/6" and by_id[6].state == "downloading"
    assert by_id[1299].regions == [[0, 10, 5, 5], [10, 20, 5, 2]]
