"""``--overwrite`` replaces finished files only: never a ``.part`` of any download, never a
name reserved in this run, never a directory."""

from __future__ import annotations

import pytest

from afetch_tui.engine.events import State
from afetch_tui.engine.name_rules import PART_SUFFIX

KIB = 1024
MIB = 1024 * KIB


@pytest.mark.parametrize("streamed", [False, True], ids=["small", "streamed"])
async def test_a_server_name_equal_to_a_live_part_does_not_replace_it(
    server, payload, make_manager, settle, wait_until, tmp_path, streamed
):
    manager = await make_manager(overwrite=True)
    ours, theirs = payload(MIB, seed=51), payload(MIB if streamed else 20 * KIB, seed=52)
    url_a = server.add_file("/a/x.bin", ours, rate=4 * MIB)
    url_b = server.add_file(
        "/b/other", theirs, content_disposition='attachment; filename="x.bin.part"'
    )
    a = await manager.add(url_a)
    await wait_until(lambda: manager.download(a).done > 0)  # x.bin.part is being written
    b = await manager.add(url_b)

    await settle(manager)

    snap_a, snap_b = manager.download(a), manager.download(b)
    assert snap_a.state is State.COMPLETED, snap_a.error
    assert snap_b.state is State.COMPLETED, snap_b.error
    assert (tmp_path / "x.bin").read_bytes() == ours
    assert snap_b.name != "x.bin.part"
    assert snap_b.name is not None
    assert (tmp_path / snap_b.name).read_bytes() == theirs
    assert {p.name for p in tmp_path.iterdir()} == {"x.bin", snap_b.name}


@pytest.mark.parametrize("size", [20 * KIB, MIB], ids=["small", "streamed"])
async def test_overwrite_onto_a_directory_says_so_and_leaves_nothing(
    server, payload, make_manager, fetch, tmp_path, size
):
    (tmp_path / "file.bin").mkdir()
    (tmp_path / "file.bin" / "inside").write_bytes(b"keep me")
    manager = await make_manager(overwrite=True)
    url = server.add_file("/d/file.bin", payload(size, seed=53))

    snap = await fetch(manager, url)

    assert snap.state is State.FAILED
    assert snap.retries == 0
    assert snap.error is not None
    assert "file.bin: a directory of that name is in the way" in snap.error
    assert not list(tmp_path.glob(f"*{PART_SUFFIX}"))
    assert {p.name for p in tmp_path.iterdir()} == {"file.bin"}
    assert (tmp_path / "file.bin" / "inside").read_bytes() == b"keep me"
