"""Shared fixtures. The loopback server itself lives in ``tests/faultserver.py``."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest
from faultserver import FaultServer  # tests/ is on sys.path (rootdir conftest, no __init__)


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
