"""What one attempt at a download needs from the manager, in one object."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from afetch_tui.engine.client import Client
from afetch_tui.engine.download import Download
from afetch_tui.engine.events import State
from afetch_tui.engine.hosts import Host
from afetch_tui.engine.limits import TokenBucket
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.scheduler import HostSlots


@dataclass(slots=True)
class TransferContext:
    """What an attempt needs from the manager."""

    client: Client
    """The session, and the headers every request sends."""
    options: ManagerOptions
    host: Host
    buckets: tuple[TokenBucket, ...]
    proxy: str | None
    set_state: Callable[[Download, State], None]
    changed: Callable[[Download], None]
    log: Callable[[Download, str], None]
    reserve_name: Callable[[Download, str], Awaitable[None]]
    save_small: Callable[[Download, str, bytes], Awaitable[None]]
    publish: Callable[[Download], Awaitable[None]]
    checkpointed: Callable[[Download], None]
    disk: Executor
    """The manager's thread pool for the ``.part`` files (the body and its checkpoints)."""
    slots: HostSlots
    """Extra connections to this host, and the count of open ones."""
    verify: Callable[[Download], Awaitable[None]]
    """Check the finished ``.part`` (a checksum); raises `DownloadError` if it is wrong."""
    short_of_descriptors: Callable[[], bool] = lambda: False
    """While true, connections are closed after each answer: idle pooled sockets would
    hold the file descriptors the running downloads need."""
