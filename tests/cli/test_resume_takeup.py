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


def _fetched(server: Any, *paths: str) -> int:
    return sum(len(server.requests_for(path, "GET")) for path in paths)


def test_a_rerun_keeps_what_the_interrupted_run_completed(server, payload, tmp_path, capsys):
    """An interrupted run left two completed downloads (their files there at their size)
    and one queued: the rerun fetches only the queued one, names nothing ``(1)``, and says
    how many the earlier run had done; once all are done the state is forgotten."""
    files = {f"/f{n}.bin": payload(8 * KIB, seed=10 + n) for n in range(3)}
    urls = [server.add_file(path, data) for path, data in files.items()]
    out, state = tmp_path / "out", tmp_path / "state.db"
    out.mkdir()
    for n in (0, 1):
        (out / f"f{n}.bin").write_bytes(files[f"/f{n}.bin"])
    done = {"state": "completed", "total": 8 * KIB, "checkpoint": 8 * KIB}
    _store(
        state,
        {"url": urls[0], "directory": str(out), "name": "f0.bin", **done},
        {"url": urls[1], "directory": str(out), "name": "f1.bin", **done},
        {"url": urls[2], "directory": str(out), "state": "queued"},
    )

    code = main(["get", "-q", "-d", str(out), "--state", str(state), *urls])

    err = capsys.readouterr().err
    assert code == 0, err
    assert _fetched(server, "/f0.bin", "/f1.bin") == 0
    assert sorted(p.name for p in out.iterdir()) == ["f0.bin", "f1.bin", "f2.bin"]
    assert (out / "f2.bin").read_bytes() == files["/f2.bin"]
    assert "3 completed (2 by the earlier run), 0 failed: 8.0 KiB" in err
    assert _records(state) == []


def test_a_completed_file_gone_or_changed_is_fetched_again(server, payload, tmp_path, capsys):
    """The earlier run completed both, but one file was deleted since and the other has
    another size: neither is taken for done; both are fetched (under their own names)."""
    files = {f"/g{n}.bin": payload(8 * KIB, seed=20 + n) for n in range(2)}
    urls = [server.add_file(path, data) for path, data in files.items()]
    out, state = tmp_path / "out", tmp_path / "state.db"
    out.mkdir()
    (out / "g1.bin").write_bytes(b"edited since")
    done = {"state": "completed", "total": 8 * KIB, "checkpoint": 8 * KIB}
    _store(
        state,
        {"url": urls[0], "directory": str(out), "name": "g0.bin", **done},
        {"url": urls[1], "directory": str(out), "name": "g1.bin", **done},
    )

    code = main(["get", "-q", "-d", str(out), "--state", str(state), *urls])

    assert code == 0, capsys.readouterr().err
    assert _fetched(server, "/g0.bin", "/g1.bin") == 2
    assert (out / "g0.bin").read_bytes() == files["/g0.bin"]
    assert (out / "g1.bin").read_bytes() == b"edited since"
    assert (out / "g1 (1).bin").read_bytes() == files["/g1.bin"]


def test_a_rerun_after_a_failure_fetches_only_the_failed(server, payload, tmp_path, capsys):
    """A run where one of three URLs fails (exit 1) keeps what it completed; once the
    server serves the third, the same command fetches only that one and exits 0."""
    good = {f"/h{n}.bin": payload(8 * KIB, seed=30 + n) for n in range(2)}
    urls = [server.add_file(path, data) for path, data in good.items()]
    urls.append(server.add_status("/h2.bin", 404))
    out, state = tmp_path / "out", tmp_path / "state.db"
    command = ["get", "-q", "-d", str(out), "--state", str(state), "--retries", "0", *urls]

    assert main(command) == 1
    late = payload(8 * KIB, seed=32)
    server.clear_status("/h2.bin")  # the server mends its 404
    server.add_file("/h2.bin", late)
    capsys.readouterr()
    assert main(command) == 0, capsys.readouterr().err

    assert _fetched(server, "/h0.bin", "/h1.bin") == 2  # once each, by the first run
    assert sorted(p.name for p in out.iterdir()) == ["h0.bin", "h1.bin", "h2.bin"]
    assert (out / "h2.bin").read_bytes() == late


def _records(state: Path) -> list[Record]:
    from afetch_tui.engine.store import read_records

    return read_records(state)
