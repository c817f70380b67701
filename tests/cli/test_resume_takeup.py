"""Which stored downloads a rerun of ``afetch get`` takes up, run in this process (cheap):
each URL asked for is matched to at most one stored download, and one of another query
keeps its bytes only if a validator proves they are the same entity."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from afetch_tui.cli import main
from afetch_tui.engine.records import Record
from afetch_tui.engine.store import Store

KIB = 1024


def _store(state: Path, *records: dict[str, Any]) -> None:
    """Leave ``records`` in the state file, as an interrupted earlier run would have."""

    async def save() -> None:
        store = await Store.open(state)
        try:
            await store.save(_record(n, **fields) for n, fields in enumerate(records, start=1))
        finally:
            await store.close()

    asyncio.run(save())


def _record(number: int, **fields: Any) -> Record:
    values: dict[str, Any] = {
        "id": number,
        "requested_name": None,
        "name": None,
        "headers": {},
        "state": "paused",
        "checkpoint": 0,
        "total": None,
        "etag": None,
        "last_modified": None,
        "retries": 0,
        "error": None,
        "rank": float(number),
        "limit_rate": None,
        "added_at": time.time(),
        "finished_at": None,
        "log": [],
    }
    values.update(fields)
    return Record(**values)


def test_one_url_under_two_names_gets_both(server, payload, tmp_path, capsys):
    """The same URL twice in an input file with ``out=a`` and ``out=b``: the stored
    download of ``b`` is taken up, and ``a`` is still fetched (it was skipped, exit 0)."""
    data = payload(40 * KIB, seed=1)
    url = server.add_file("/f.bin", data)
    out, state = tmp_path / "out", tmp_path / "state.db"
    out.mkdir()
    _store(
        state,
        {"url": url, "directory": str(out), "requested_name": "a"},
        {"url": url, "directory": str(out), "requested_name": "b"},
    )
    listing = tmp_path / "input.txt"
    listing.write_text(f"{url}\n  out=a\n{url}\n  out=b\n")

    code = main(["get", "-q", "-d", str(out), "--state", str(state), "-i", str(listing)])

    assert code == 0, capsys.readouterr().err
    assert (out / "b").read_bytes() == data
    assert (out / "a").read_bytes() == data


def test_one_url_asked_twice_resumes_once(server, payload, tmp_path, capsys):
    """Two stored downloads of one URL and name, the URL asked for once: one is taken up."""
    data = payload(40 * KIB, seed=2)
    url = server.add_file("/f.bin", data)
    out, state = tmp_path / "out", tmp_path / "state.db"
    out.mkdir()
    stored = {"url": url, "directory": str(out), "requested_name": "a"}
    _store(state, stored, stored)

    code = main(["get", "-q", "-d", str(out), "--state", str(state), "-o", "a", url])

    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["a"]
    assert (out / "a").read_bytes() == data


def test_another_query_without_a_validator_starts_from_zero(server, payload, tmp_path, capsys):
    """``?id=1`` left 128 KiB in ``f.bin.part`` and no validator; ``?id=2`` is another file
    whose bytes just before that point happen to match (the overlap check cannot tell):
    the bytes of ``?id=1`` must not end up in the file of ``?id=2``."""
    kept = 128 * KIB
    first = payload(256 * KIB, seed=3)
    second = bytearray(payload(256 * KIB, seed=4))
    second[kept - 64 * KIB : kept] = first[kept - 64 * KIB : kept]
    base = server.add_file("/f.bin", bytes(second), etag=False, last_modified=False)
    out, state = tmp_path / "out", tmp_path / "state.db"
    out.mkdir()
    (out / "f.bin.part").write_bytes(first[:kept])
    _store(
        state,
        {"url": f"{base}?id=1", "directory": str(out), "name": "f.bin", "checkpoint": kept},
    )

    code = main(["get", "-q", "-d", str(out), "--state", str(state), f"{base}?id=2"])

    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["f.bin"]
    assert (out / "f.bin").read_bytes() == bytes(second)


def test_another_query_with_a_strong_etag_resumes(server, payload, tmp_path, capsys):
    """The same entity under a new signature (its strong ETag matches): the ``.part`` is
    resumed with If-Range, not fetched again."""
    kept = 128 * KIB
    data = payload(256 * KIB, seed=5)
    base = server.add_file("/f.bin", data)
    etag = server.entity("/f.bin").etag
    out, state = tmp_path / "out", tmp_path / "state.db"
    out.mkdir()
    (out / "f.bin.part").write_bytes(data[:kept])
    _store(
        state,
        {
            "url": f"{base}?sig=1",
            "directory": str(out),
            "name": "f.bin",
            "checkpoint": kept,
            "total": len(data),
            "etag": etag,
        },
    )

    code = main(["get", "-q", "-d", str(out), "--state", str(state), f"{base}?sig=2"])

    assert code == 0, capsys.readouterr().err
    assert (out / "f.bin").read_bytes() == data
    (request,) = server.requests_for("/f.bin")
    assert request.header("Range") == f"bytes={kept}-"
    assert request.header("If-Range") == etag
