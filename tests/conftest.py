"""Shared fixtures. The loopback server itself lives in ``tests/faultserver.py``.

Every test is safe to run beside others (``pytest -n``, see pyproject.toml): each gets its
own data dir and runtime dir (so its own default state files and control sockets), and
ports come from the kernel (`server`, `closed_port`), never a fixed number.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from faultserver import FaultServer  # tests/ is on sys.path (rootdir conftest, no __init__)


@pytest.fixture(autouse=True, scope="session")
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep afetch's state files out of the real user data dir, and loopback off proxies.

    The data dir here is only for session-wide fixtures; each test gets its own below.
    """
    saved = dict(os.environ)
    os.environ["XDG_DATA_HOME"] = str(Path(tmp_path_factory.mktemp("xdg-data")))
    for name in [n for n in os.environ if n.lower().endswith("_proxy")]:
        del os.environ[name]
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def data_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$XDG_DATA_HOME`` for this test only: its own default queue and `afetch get` state
    files (beside ``tmp_path``, not in it, so tests that list ``tmp_path`` see none of it)."""
    path = tmp_path_factory.mktemp("xdg-data")
    monkeypatch.setenv("XDG_DATA_HOME", str(path))
    return path


@pytest.fixture(autouse=True)
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``$XDG_RUNTIME_DIR`` for this test only (control sockets), 0700, and short enough
    for a socket path (108 bytes), so under /tmp rather than under ``tmp_path``."""
    path = Path(tempfile.mkdtemp(prefix="afr-", dir="/tmp"))
    path.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nobody listens on: connecting is refused.

    The socket stays bound (never listening) for the whole test, so no server started
    meanwhile, in this process or another test worker, can be given the port.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def server() -> Iterator[FaultServer]:
    """A started FaultServer on 127.0.0.1 (own thread and loop), stopped after the test."""
    with FaultServer() as srv:
        yield srv


@pytest.fixture
def payload() -> Callable[..., bytes]:
    """Factory: ``payload(n, seed=0)`` gives the same pseudo-random bytes every run."""

    def make(size: int, seed: int = 0) -> bytes:
        return random.Random(seed).randbytes(size)

    return make
