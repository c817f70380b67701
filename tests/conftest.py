"""Shared fixtures. The loopback server itself lives in ``tests/faultserver.py``."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from faultserver import FaultServer  # tests/ is on sys.path (rootdir conftest, no __init__)


@pytest.fixture(autouse=True, scope="session")
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep afetch's state files out of the real user data dir, and loopback off proxies."""
    saved = dict(os.environ)
    os.environ["XDG_DATA_HOME"] = str(Path(tmp_path_factory.mktemp("xdg-data")))
    for name in [n for n in os.environ if n.lower().endswith("_proxy")]:
        del os.environ[name]
    yield
    os.environ.clear()
    os.environ.update(saved)


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
