"""The manager's fixed configuration (limits that change live are in `events.Limits`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from afetch_tui import __version__

DEFAULT_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ManagerOptions:
    retries: int = 5
    """Failed attempts allowed per download before it is marked failed."""
    timeout: float = 30.0
    """Seconds without a byte (connecting, waiting for headers, or mid-body) before we give up."""
    headers: Mapping[str, str] = field(default_factory=dict)
    overwrite: bool = False
    proxy: str | None = None
    trust_env: bool = True
    """Honour HTTP(S)_PROXY / NO_PROXY from the environment."""
    chunk_size: int = DEFAULT_CHUNK
    progress_interval: float = 0.25
    retry_base: float = 1.0
    retry_cap: float = 60.0
    max_retry_after: float = 600.0
    fsync: bool = True
    connections: int = 1
    """Connections per download (``-x``) for servers that support ranges."""
    min_split_size: int = 20 * 1024 * 1024
    """Files smaller than this (``-k``) use one connection."""
    max_redirects: int = 10
    user_agent: str = f"afetch/{__version__}"
    checksums: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """File name → (algorithm, hex digest), from ``--checksums``; matched by the file name
    the server or ``-o`` gives (before any `` (1)`` is added to avoid a clash)."""
    on_complete: tuple[str, ...] | None = None
    """A command (already split) run for each completed file, the file's path appended."""
    on_complete_timeout: float = 60.0
