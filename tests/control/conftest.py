"""Fixtures for the control socket: real afetch processes (the private runtime dir each
test gets is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from control_procs import Serve


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
