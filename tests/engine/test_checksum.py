"""Checksums against the loopback server: each algorithm, mismatches, resumes, SUMS files."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from engine_helpers import GUARD, Fetch, MakeManager, WaitUntil, fast_options
from faultserver import FaultServer

from afetch_tui.engine.checksum import parse_checksum, parse_checksums
from afetch_tui.engine.errors import InputError
from afetch_tui.engine.events import State, StateChanged
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.engine.store import Store

ALGORITHMS = ["md5", "sha1", "sha256", "sha512"]
BIG = 900 * 1024
"""Above the small-body size: streamed to a .part in batches."""
SMALL = 20 * 1024
"""Read whole and saved in one hop."""


def digest(algo: str, data: bytes) -> tuple[str, str]:
    return algo, hashlib.new(algo, data).hexdigest()


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["streamed", "small"])
@pytest.mark.parametrize("algo", ALGORITHMS)
async def test_a_matching_checksum_completes(
    server: FaultServer,
    manager: DownloadManager,
    fetch: Fetch,
    payload: Callable[..., bytes],
    tmp_path: Path,
    algo: str,
    size: int,
) -> None:
    data = payload(size)
    url = server.add_file("/ok.bin", data)
    snap = await fetch(manager, url, checksum=digest(algo, data))
    assert snap.state is State.COMPLETED, snap.error
    assert snap.checksum_ok is True
    assert snap.checksum == digest(algo, data)
    assert (tmp_path / "ok.bin").read_bytes() == data
    how = "while downloading" if size == BIG else "after downloading"
    assert any(f"{algo} checksum verified (hashed {how})" in e.message for e in snap.log)


@pytest.mark.parametrize("size", [BIG, SMALL], ids=["streamed", "small"])
@pytest.mark.parametrize("algo", ALGORITHMS)
async def test_a_mismatch_fails_and_keeps_the_part_file(
    server: FaultServer,
    manager: DownloadManager,
    fetch: Fetch,
    payload: Callable[..., bytes],
    tmp_path: Path,
    algo: str,
    size: int,
) -> None:
    data = payload(size)
    url = server.add_file("/bad.bin", data)
    _, expected = digest(algo, b"something else")
    _, actual = digest(algo, data)
    snap = await fetch(manager, url, checksum=(algo.upper(), expected.upper()))
    assert snap.state is State.FAILED
    assert snap.checksum_ok is False
    assert snap.error is not None
    assert f"{algo} mismatch: expected {expected}, got {actual}" in snap.error
    assert not (tmp_path / "bad.bin").exists()
    assert (tmp_path / "bad.bin.part").read_bytes() == data
    assert len(server.requests_for("/bad.bin")) == 1  # a mismatch is not retried by itself


async def test_retry_after_a_mismatch_starts_from_zero(
    server: FaultServer,
    manager: DownloadManager,
    fetch: Fetch,
    payload: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    bad, good = payload(BIG, seed=1), payload(BIG, seed=2)
    url = server.add_file("/iso", bad, change_after=1, new_data=good)
    snap = await fetch(manager, url, checksum=digest("sha256", good))
    assert snap.state is State.FAILED
    assert (tmp_path / "iso.part").read_bytes() == bad
    await manager.retry(snap.id)
    await asyncio.wait_for(manager.wait(), GUARD)
    snap = manager.download(snap.id)
    assert snap.state is State.COMPLETED, snap.error
    assert (tmp_path / "iso").read_bytes() == good
    second = server.requests_for("/iso")[1]
    assert second.header("Range") is None
    assert second.bytes_sent == len(good)
    assert not (tmp_path / "iso.part").exists()


async def test_a_later_run_after_a_mismatch_starts_from_zero_too(
    server: FaultServer, payload: Callable[..., bytes], tmp_path: Path
) -> None:
    bad, good = payload(BIG, seed=3), payload(BIG, seed=4)
    url = server.add_file("/later.iso", bad, change_after=1, new_data=good)
    state = tmp_path / "state.db"
    store = await Store.open(state)
    first = DownloadManager(tmp_path, options=fast_options(), store=store)
    await first.start()
    download_id = await first.add(url, checksum=digest("md5", good))
    await asyncio.wait_for(first.wait(), GUARD)
    assert first.download(download_id).state is State.FAILED
    await first.close()
    await store.close()

    store = await Store.open(state)
    second = DownloadManager(
        tmp_path, options=fast_options(), store=store, restore_only=lambda record: True
    )
    try:
        await second.start()
        await asyncio.wait_for(second.wait(), GUARD)
        snap = second.download(download_id)
    finally:
        await second.close()
        await store.close()
    assert snap.state is State.COMPLETED, snap.error
    assert (tmp_path / "later.iso").read_bytes() == good
    assert server.requests_for("/later.iso")[-1].header("Range") is None


async def test_a_download_resumed_after_a_drop_still_verifies(
    server: FaultServer,
    manager: DownloadManager,
    fetch: Fetch,
    payload: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    data = payload(3 * 1024 * 1024)
    url = server.add_file("/drop.bin", data, drop_after=1024 * 1024 + 333, drop_times=1)
    snap = await fetch(manager, url, checksum=digest("sha512", data))
    assert snap.state is State.COMPLETED, snap.error
    assert snap.retries == 1
    gets = server.requests_for("/drop.bin")
    assert gets[1].header("Range") is not None  # it did resume, not start again
    assert snap.checksum_ok is True
    assert any("hashed while downloading" in e.message for e in snap.log)
    assert (tmp_path / "drop.bin").read_bytes() == data


async def test_a_download_resumed_by_a_new_manager_hashes_what_is_on_disk_first(
    server: FaultServer,
    payload: Callable[..., bytes],
    tmp_path: Path,
    wait_until: WaitUntil,
) -> None:
    data = payload(2 * 1024 * 1024)
    url = server.add_file("/slow.bin", data, rate=2 * 1024 * 1024)
    out, state = tmp_path / "out", tmp_path / "state.db"
    store = await Store.open(state)
    first = DownloadManager(out, options=fast_options(), store=store)
    await first.start()
    download_id = await first.add(url, checksum=digest("sha1", data))
    await wait_until(lambda: first.download(download_id).done > 512 * 1024)
    await asyncio.sleep(0.3)  # a checkpoint
    await first.close()
    await store.close()
    saved = sqlite3.connect(state).execute("SELECT checksum FROM downloads").fetchone()[0]
    assert saved == "sha1=" + digest("sha1", data)[1]

    store = await Store.open(state)
    second = DownloadManager(out, options=fast_options(), store=store)
    sub = second.subscribe()
    try:
        await second.start()
        await asyncio.wait_for(second.wait(), GUARD)
        snap = second.download(download_id)
    finally:
        await second.close()
        await store.close()
    assert snap.state is State.COMPLETED, snap.error
    assert snap.checksum_ok is True
    assert (out / "slow.bin").read_bytes() == data
    assert any("hashing the" in entry.message for entry in snap.log), snap.log
    assert any("hashed while downloading" in e.message for e in snap.log)
    assert server.requests_for("/slow.bin")[-1].header("Range") is not None
    states = [e.state for e in sub.drain() if isinstance(e, StateChanged)]
    assert states[0] is State.VERIFYING  # hashing the bytes on disk before reconnecting


async def test_a_checksums_file_is_matched_by_file_name(
    server: FaultServer,
    make_manager: MakeManager,
    payload: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    a, b, c, d = (payload(size, seed=i) for i, size in enumerate([BIG, SMALL, SMALL, BIG]))
    table = parse_checksums(
        [
            f"{hashlib.sha256(a).hexdigest()}  a.bin",
            f"SHA1 (b.bin) = {hashlib.sha1(b'not b').hexdigest()}",
            f"{hashlib.md5(d).hexdigest()} *dir/named by server.iso",
        ]
    )
    manager = await make_manager(checksums=table)
    ids = await manager.add_many(
        DownloadSpec(
            [
                server.add_file("/a.bin", a),
                server.add_file("/b.bin", b),
                server.add_file("/c.bin", c),
                server.add_file(
                    "/get", d, content_disposition='attachment; filename="named by server.iso"'
                ),
            ]
        )
    )
    await asyncio.wait_for(manager.wait(), GUARD)
    snaps = [manager.download(i) for i in ids]
    assert [s.state for s in snaps] == [
        State.COMPLETED,
        State.FAILED,
        State.COMPLETED,
        State.COMPLETED,
    ]
    assert [s.checksum_ok for s in snaps] == [True, False, None, True]
    assert snaps[1].error is not None and "sha1 mismatch" in snaps[1].error
    assert (tmp_path / "b.bin.part").exists()
    assert any("no checksum listed for c.bin" in e.message for e in snaps[2].log)
    assert (tmp_path / "named by server.iso").read_bytes() == d


async def test_several_files_verify_concurrently(
    server: FaultServer,
    make_manager: MakeManager,
    payload: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    manager = await make_manager()
    blobs = [payload(BIG, seed=i) for i in range(6)]
    ids = [
        await manager.add(server.add_file(f"/m{i}.bin", blob), checksum=digest("sha256", blob))
        for i, blob in enumerate(blobs)
    ]
    await asyncio.wait_for(manager.wait(), GUARD)
    assert all(manager.download(i).checksum_ok for i in ids)


# ------------------------------------------------------------------------------ parsing


def test_parse_checksum() -> None:
    hexd = "a" * 64
    assert parse_checksum(f"sha256={hexd}") == ("sha256", hexd)
    assert parse_checksum(f"SHA-256={hexd.upper()}") == ("sha256", hexd)
    assert parse_checksum(f"md5:{'0' * 32}") == ("md5", "0" * 32)
    with pytest.raises(InputError, match="unsupported checksum algorithm 'crc32'"):
        parse_checksum("crc32=abcd1234")
    with pytest.raises(InputError, match="a sha1 checksum is 40 hex digits"):
        parse_checksum(f"sha1={hexd}")
    with pytest.raises(InputError, match="a md5 checksum is 32 hex digits"):
        parse_checksum("md5=" + "g" * 32)
    with pytest.raises(InputError, match="ALGO=HEX"):
        parse_checksum(hexd)


def test_parse_checksums_file_formats() -> None:
    md5, sha1, sha512 = "1" * 32, "2" * 40, "3" * 128
    table = parse_checksums(
        [
            "# made by sha256sum",
            "",
            f"{md5}  plain.iso",
            f"{sha1} *binary-mode.iso",
            f"{sha512}  ./sub/dir/nested.iso",
            f"SHA256 (bsd style.iso) = {'4' * 64}",
            f"\\{md5}  back\\\\slash.iso",
            f"MD5 (x.iso)={md5}\r",
        ]
    )
    assert table == {
        "plain.iso": ("md5", md5),
        "binary-mode.iso": ("sha1", sha1),
        "nested.iso": ("sha512", sha512),
        "bsd style.iso": ("sha256", "4" * 64),
        "slash.iso": ("md5", md5),
        "x.iso": ("md5", md5),
    }
    with pytest.raises(InputError, match="line 2: not a checksum line"):
        parse_checksums([f"{md5}  ok", "nonsense"], source="SUMS")
    with pytest.raises(InputError, match="line 1: a digest of 10 hex digits"):
        parse_checksums(["abcdef0123  short.iso"])
    with pytest.raises(InputError, match=r"line 1: .*sha256 checksum is 64"):
        parse_checksums(["SHA256 (a) = abcd"])
    with pytest.raises(InputError, match="holds no checksums"):
        parse_checksums(["# nothing"])
