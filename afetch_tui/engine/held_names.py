"""The file names a manager's downloads hold, and the thread hops that claim and publish them.

The rules on disk are in `file_ops`; this keeps, per directory, the names claimed by
unfinished downloads so two downloads of this manager never pick the same one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from afetch_tui.engine import file_ops
from afetch_tui.engine.disk_threads import DiskThreads
from afetch_tui.engine.download import Download
from afetch_tui.engine.groupio import GroupRunner
from afetch_tui.engine.options import ManagerOptions


class HeldNames:
    """Names held per directory; claims and publishes run on the manager's `DiskThreads`."""

    def __init__(self, options: ManagerOptions, disk: DiskThreads) -> None:
        self._options = options
        self._held: dict[Path, set[str]] = {}
        self._disk = disk
        self._group_io = GroupRunner(disk)

    def held_in(self, directory: Path) -> set[str]:
        return self._held.setdefault(directory, set())

    def hold(self, d: Download) -> None:
        if d.name:
            self.held_in(d.directory).add(d.name)

    def release(self, d: Download) -> None:
        if d.name:
            self.held_in(d.directory).discard(d.name)

    async def claim(self, d: Download, candidate: str, data: bytes = b"") -> None:
        """Pick a free name like ``candidate`` and create its ``.part`` (holding ``data``).

        Once the thread has created the ``.part`` it is this download's: a pause or quit
        arriving meanwhile waits for the name, so a resume continues into that ``.part``
        instead of leaving it behind and saving ``name (1)``.
        """
        names = self.held_in(d.directory)
        own = None if candidate in names else candidate
        taken = file_ops.Taken(names, own)
        names.add(candidate)  # held during the thread hop, so a concurrent claim skips it
        hop = asyncio.ensure_future(
            self._disk.run(
                file_ops.claim,
                d.directory,
                candidate,
                taken,
                overwrite=self._options.overwrite,
                data=data,
                fsync=self._options.fsync,
            )
        )
        try:
            d.name, cancelled = await _outlast_cancel(hop)
        finally:
            if own is not None:
                names.discard(candidate)
        names.add(d.name)
        if cancelled:
            raise asyncio.CancelledError

    async def save_small(self, d: Download, candidate: str, data: bytes) -> None:
        """Name, write, flush and publish a small body, batched with others (one hop)."""
        names = self.held_in(d.directory)
        own = None if candidate in names else candidate
        taken = file_ops.Taken(names, own)
        names.add(candidate)
        try:
            d.name = await self._group_io.run(
                file_ops.save_whole,
                d.directory,
                candidate,
                taken,
                data,
                overwrite=self._options.overwrite,
                fsync=self._options.fsync,
            )
        finally:
            if own is not None:
                names.discard(candidate)
        names.add(d.name)

    async def settle(self, d: Download) -> bool:
        """Whether ``d`` was already published by an attempt a crash cut short (its name
        is then the published one); see `file_ops.settle_publish`."""
        if d.name is None:
            return False
        published = await self._disk.run(file_ops.settle_publish, d.directory, d.name)
        if published is None:
            return False
        if published != d.name:
            self.release(d)
            d.name = published
            self.hold(d)
        return True

    async def publish(self, d: Download) -> str | None:
        """Move the finished ``.part`` to its name without clobbering anything.

        Returns the name it had if a file of that name appeared meanwhile (it then gets
        the next free name), else None.
        """
        assert d.name is not None
        taken = file_ops.Taken(self.held_in(d.directory), d.name)
        final = await self._disk.run(
            file_ops.publish, d.directory, d.name, taken, self._options.overwrite
        )
        if final == d.name:
            return None
        wanted = d.name
        self.release(d)
        d.name = final
        self.hold(d)
        return wanted


async def _outlast_cancel(hop: asyncio.Future[str]) -> tuple[str, bool]:
    """The thread hop's result, however often we are cancelled meanwhile, and whether we were."""
    cancelled = False
    while True:
        try:
            return await asyncio.shield(hop), cancelled
        except asyncio.CancelledError:
            if hop.cancelled():
                raise
            cancelled = True
