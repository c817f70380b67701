"""Fixtures for the control socket: a private runtime dir, and real afetch processes."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from control_procs import Serve


@pytest.fixture(autouse=True)
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``$XDG_RUNTIME_DIR`` for this test only, short enough for a socket path (108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="afr-", dir="/tmp"))
    path.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def serve(state: Path, tmp_path: Path) -> Iterator[Callable[..., Serve]]:
    """Factory: ``serve()`` starts ``afetch serve`` on the test's state file."""
    started: list[Serve] = []
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)

    def start(*extra: str) -> Serve:
        started.append(Serve(state, out, *extra))
        return started[-1]

    yield start
    for proc in started:
        if proc.proc.poll() is None:
            proc.kill()
