"""What one attempt at a download needs from the manager: a few typed collaborators.

A transfer talks to the manager only through these: `DownloadEvents` (what it tells the
rest of the program), `Names` (the file names it claims and publishes under), `Verify`
(the checksum of the finished file) and `HostSlots` (its host's connection counts). Each
is a protocol or a small object, so `transfer` and `segmented` import no manager.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Protocol

from afetch_tui.engine.client import Client
from afetch_tui.engine.download import Download
from afetch_tui.engine.events import State
from afetch_tui.engine.hosts import Host
from afetch_tui.engine.limits import TokenBucket
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.scheduler import HostSlots


class DownloadEvents(Protocol):
    """What happened to a download: announced to subscribers and recorded in the journal."""

    def set_state(self, d: Download, state: State) -> None:
        """``d`` is in ``state`` now (counted, announced and, where it matters, saved)."""

    def changed(self, d: Download) -> None:
        """Something shown about ``d`` changed (its name, size, checksum): announce, save."""

    def log(self, d: Download, message: str) -> None:
        """A line for ``d``'s log."""

    def checkpointed(self, d: Download) -> None:
        """``d``'s checkpoints moved: save them (nothing is announced)."""


class Names(Protocol):
    """The file names a transfer writes under (held so no two downloads share one)."""

    async def reserve(self, d: Download, candidate: str) -> None:
        """Claim a free name like ``candidate`` and create its empty ``.part``."""

    async def save_small(self, d: Download, candidate: str, data: bytes) -> None:
        """Name, write and publish a small body whole (verified first if it has a checksum)."""

    async def publish(self, d: Download) -> None:
        """Move the finished, verified ``.part`` to its name without clobbering anything."""


class Verify(Protocol):
    """The check of a finished ``.part`` against the checksum it must have."""

    async def verify(self, d: Download) -> None:
        """Return if it matches (or none is expected); raise `DownloadError` if not."""


@dataclass(frozen=True, slots=True)
class TransferContext:
    """What an attempt needs from the manager."""

    client: Client
    """The session, and the headers every request sends."""
    options: ManagerOptions
    host: Host
    buckets: tuple[TokenBucket, ...]
    """The rate caps this attempt's bytes pass: the manager's, the host's, the download's."""
    proxy: str | None
    events: DownloadEvents
    names: Names
    verifier: Verify
    slots: HostSlots
    """Extra connections to this host, the count of open ones, and whether to keep none idle."""
    disk: Executor
    """The manager's thread pool for the ``.part`` files (the body and its checkpoints)."""
