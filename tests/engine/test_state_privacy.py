"""The state file keeps what a resume needs (passwords too), so only its owner may read it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from afetch_tui.engine.store import Store, data_dir, default_path, headless_path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def sidecar_modes(path: Path) -> set[int]:
    """The modes of SQLite's ``-wal`` and ``-shm`` files beside ``path`` (those there)."""
    sidecars = (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))
    return {mode(sidecar) for sidecar in sidecars if sidecar.exists()}


def loosen(path: Path) -> None:
    """What an older afetch left: the state file and a ``-wal`` readable by all."""
    os.chmod(path, 0o644)
    wal = path.with_name(path.name + "-wal")
    wal.touch()
    os.chmod(wal, 0o644)


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    assert data_dir().is_relative_to(home)
    return home


async def test_a_new_state_file_is_0600_in_a_0700_directory(data_home: Path) -> None:
    path = headless_path(Path("/srv/files"))
    store = await Store.open(path)
    await store.close()
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700 and mode(data_dir()) == 0o700
    assert sidecar_modes(path) <= {0o600}


async def test_loose_modes_left_by_an_older_afetch_are_tightened(data_home: Path) -> None:
    path = default_path()
    path.parent.mkdir(parents=True, mode=0o755)
    os.chmod(path.parent, 0o755)
    store = await Store.open(path)
    await store.close()
    loosen(path)
    store = await Store.open(path)
    await store.close()
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert sidecar_modes(path) <= {0o600}


async def test_a_directory_the_user_chose_is_left_alone(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    store = await Store.open(tmp_path / "mine.db")
    await store.close()
    assert mode(tmp_path / "mine.db") == 0o600
    assert mode(tmp_path) == 0o755
    fresh = tmp_path / "new" / "mine.db"
    store = await Store.open(fresh)
    await store.close()
    assert mode(fresh.parent) == 0o700


async def test_a_state_file_moved_aside_is_replaced_by_a_private_one(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"not a database " * 100)
    os.chmod(path, 0o644)
    store = await Store.open(path)
    await store.close()
    assert store.notice and mode(path) == 0o600
