"""File names end to end: what the server or user suggests, where the bytes land, and
that nothing existing is ever overwritten unless asked."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from afetch_tui.engine.errors import InputError
from afetch_tui.engine.events import State
from afetch_tui.engine.name_rules import PART_SUFFIX
from afetch_tui.engine.spec import DownloadSpec

KIB = 1024
MIB = 1024 * KIB


def tree(root: Path) -> set[Path]:
    """Every path under ``root`` (recursively)."""
    return set(root.rglob("*"))


def assert_exact(directory: Path, name: str, expected: bytes) -> None:
    assert (directory / name).read_bytes() == expected
    assert not list(directory.glob(f"*{PART_SUFFIX}"))


async def test_filename_star_beats_filename(server, payload, manager, fetch, tmp_path):
    data = payload(10 * KIB, seed=31)
    url = server.add_file(
        "/dl/42",
        data,
        content_disposition=(
            "attachment; filename=\"fallback.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
        ),
    )

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.name == "résumé.pdf"
    assert_exact(tmp_path, "résumé.pdf", data)
    assert {p.name for p in tmp_path.iterdir()} == {"résumé.pdf"}


async def test_plain_filename_beats_url(server, payload, manager, fetch, tmp_path):
    data = payload(10 * KIB, seed=32)
    url = server.add_file(
        "/download.php", data, content_disposition='attachment; filename="report.csv"'
    )

    snap = await fetch(manager, url)

    assert snap.name == "report.csv"
    assert_exact(tmp_path, "report.csv", data)


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ('attachment; filename="../../x.bin"', "x.bin"),
        ('attachment; filename="/etc/passwd"', "passwd"),
        ("attachment; filename*=UTF-8''..%2F..%2Fescape.bin", "escape.bin"),
        ('attachment; filename="..%2F..%2Fliteral.bin"', "..%2F..%2Fliteral.bin"),
        ('attachment; filename="..\\\\..\\\\win.bin"', "win.bin"),
        ('attachment; filename=".."', "fallback.bin"),
    ],
)
async def test_traversal_in_content_disposition_stays_inside(
    server, payload, make_manager, fetch, tmp_path, disposition, expected
):
    target = tmp_path / "downloads"
    target.mkdir()
    manager = await make_manager(directory=target)
    data = payload(8 * KIB, seed=33)
    url = server.add_file("/cd/fallback.bin", data, content_disposition=disposition)
    outside_before = tree(tmp_path.parent) - tree(target)

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.name == expected
    assert (target / expected).resolve().parent == target.resolve()
    assert_exact(target, expected, data)
    assert {p.name for p in target.iterdir()} == {expected}
    assert tree(tmp_path.parent) - tree(target) == outside_before


async def test_traversal_in_url_path_stays_inside(server, payload, make_manager, fetch, tmp_path):
    target = tmp_path / "downloads"
    target.mkdir()
    manager = await make_manager(directory=target)
    data = payload(8 * KIB, seed=34)
    server.add_file("/u/target.bin", data)
    url = server.url("/u/..%2F..%2Fevil.bin")
    # The server sees the path decoded (or not, depending on aiohttp): answer both.
    server.add_redirect("/u/..%2F..%2Fevil.bin", "/u/target.bin")
    server.add_redirect("/u/../../evil.bin", "/u/target.bin")
    outside_before = tree(tmp_path.parent) - tree(target)

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert "..%2F..%2Fevil.bin" in snap.url
    assert snap.name == "evil.bin"  # the original URL's last segment, decoded and reduced
    assert_exact(target, "evil.bin", data)
    assert tree(tmp_path.parent) - tree(target) == outside_before


async def test_requested_name_wins(server, payload, manager, fetch, tmp_path):
    data = payload(10 * KIB, seed=35)
    url = server.add_file(
        "/files/server-name.bin", data, content_disposition='attachment; filename="cd.bin"'
    )

    snap = await fetch(manager, url, name="mine.dat")

    assert snap.state is State.COMPLETED, snap.error
    assert snap.name == "mine.dat"
    assert_exact(tmp_path, "mine.dat", data)
    assert {p.name for p in tmp_path.iterdir()} == {"mine.dat"}


@pytest.mark.parametrize("name", ["../x.bin", "a/b.bin", "..", ""])
async def test_unusable_requested_name_is_refused(server, manager, tmp_path, name):
    url = server.add_file("/files/ok.bin", b"x")

    with pytest.raises(InputError):
        await manager.add(url, name=name)

    assert manager.downloads() == []
    assert server.requests_for("/files/ok.bin") == []


async def test_url_without_a_name_gives_index_html(server, payload, manager, fetch, tmp_path):
    data = payload(1 * KIB, seed=36)
    url = server.add_file("/", data)

    snap = await fetch(manager, url)

    assert snap.name == "index.html"
    assert_exact(tmp_path, "index.html", data)


# ----------------------------------------------------------------------- collisions


async def test_existing_file_is_not_overwritten(server, payload, manager, fetch, tmp_path):
    mine = b"the user's own file\n"
    (tmp_path / "file.bin").write_bytes(mine)
    data = payload(20 * KIB, seed=37)
    url = server.add_file("/c/file.bin", data)

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.name == "file (1).bin"
    assert (tmp_path / "file.bin").read_bytes() == mine
    assert_exact(tmp_path, "file (1).bin", data)


async def test_foreign_part_file_is_left_alone(server, payload, manager, fetch, tmp_path):
    theirs = b"another program's partial download"
    (tmp_path / ("file.bin" + PART_SUFFIX)).write_bytes(theirs)
    data = payload(20 * KIB, seed=38)
    url = server.add_file("/c/file.bin", data)

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.name == "file (1).bin"
    assert (tmp_path / "file (1).bin").read_bytes() == data
    assert (tmp_path / ("file.bin" + PART_SUFFIX)).read_bytes() == theirs
    assert not (tmp_path / "file.bin").exists()


@pytest.mark.parametrize("overwrite", [False, True], ids=["keep", "overwrite"])
@pytest.mark.parametrize("streamed", [False, True], ids=["small", "streamed"])
async def test_same_name_at_once_gets_distinct_names(
    server, payload, make_manager, settle, tmp_path, overwrite, streamed
):
    """Even with overwrite (which may replace a file already on disk), two downloads of
    this manager never share a ``.part`` or a final name."""
    manager = await make_manager(overwrite=overwrite)
    size, rate = (1 * MIB, 8 * MIB) if streamed else (100 * KIB, None)
    first, second = payload(size, seed=39), payload(size, seed=40)
    url_a = server.add_file("/a/file.bin", first, rate=rate)
    url_b = server.add_file("/b/file.bin", second, rate=rate)

    ids = await manager.add_many(DownloadSpec([url_a, url_b]))
    if streamed:
        await server.wait_for(lambda: server.max_concurrent() == 2)
    await settle(manager)

    snaps = [manager.download(i) for i in ids]
    assert all(s.state is State.COMPLETED for s in snaps), [s.error for s in snaps]
    assert {s.name for s in snaps} == {"file.bin", "file (1).bin"}
    for snap, data in zip(snaps, (first, second), strict=True):
        assert_exact(tmp_path, snap.name, data)
    assert {p.name for p in tmp_path.iterdir()} == {"file.bin", "file (1).bin"}


async def test_file_appearing_during_download_is_kept(
    server, payload, manager, settle, wait_until, tmp_path
):
    data = payload(1 * MIB, seed=41)
    url = server.add_file("/late/race.bin", data, rate=4 * MIB)
    download_id = await manager.add(url)
    await wait_until(lambda: manager.download(download_id).done > 0)
    mine = b"written by someone else meanwhile"
    await asyncio.to_thread((tmp_path / "race.bin").write_bytes, mine)

    await settle(manager)

    snap = manager.download(download_id)
    assert snap.state is State.COMPLETED, snap.error
    assert snap.name == "race (1).bin"
    assert (tmp_path / "race.bin").read_bytes() == mine
    assert_exact(tmp_path, "race (1).bin", data)


async def test_overwrite_replaces_existing_file(server, payload, make_manager, fetch, tmp_path):
    (tmp_path / "file.bin").write_bytes(b"old contents")
    manager = await make_manager(overwrite=True)
    data = payload(20 * KIB, seed=42)
    url = server.add_file("/o/file.bin", data)

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.name == "file.bin"
    assert_exact(tmp_path, "file.bin", data)
    assert {p.name for p in tmp_path.iterdir()} == {"file.bin"}


async def test_downloads_into_a_new_directory(server, payload, manager, fetch, tmp_path):
    data = payload(5 * KIB, seed=43)
    url = server.add_file("/n/file.bin", data)

    snap = await fetch(manager, url, directory=tmp_path / "new" / "sub")

    assert snap.state is State.COMPLETED, snap.error
    assert_exact(tmp_path / "new" / "sub", "file.bin", data)
