"""The manager's side of a transfer's file names: claim, save whole, publish (`Names`).

Which names are held is `HeldNames`' job, and the rules on disk are `file_ops`'; this adds
what a name decides about the download: the checksum ``--checksums`` lists for it, and
whether an attempt a crash cut short had already published the file.
"""

from __future__ import annotations

import asyncio

from afetch_tui.engine import file_ops
from afetch_tui.engine.download import Download
from afetch_tui.engine.errors import DownloadError
from afetch_tui.engine.held_names import HeldNames
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.transfer_context import DownloadEvents, Verify


class Claims:
    """The `Names` a transfer writes under, for every download of one manager."""

    def __init__(
        self,
        held: HeldNames,
        options: ManagerOptions,
        events: DownloadEvents,
        verifier: Verify,
    ) -> None:
        self.held = held
        self.options = options
        self._events = events
        self._verifier = verifier

    async def delete_part(self, d: Download) -> None:
        """Delete ``d``'s ``.part``, if it has one."""
        if d.part_path:
            await asyncio.to_thread(file_ops.unlink, d.part_path)

    async def delete_file(self, d: Download) -> None:
        """Delete the file a completed ``d`` was published as."""
        if d.final_path:
            await asyncio.to_thread(file_ops.unlink, d.final_path)

    def forget(self, d: Download) -> None:
        """A name is claimed afresh (the ``.part`` of the one it had is gone): let go of it."""
        if d.name is not None:
            self.held.release(d)
            d.name = None

    async def reserve(self, d: Download, candidate: str) -> None:
        self.forget(d)
        self._expect_checksum(d, candidate)
        try:
            await self.held.claim(d, candidate)
        except asyncio.CancelledError:
            if d.name is not None:  # a quit cancelled us, the .part is ours: record it
                self._events.changed(d)
            raise

    async def save_small(self, d: Download, candidate: str, data: bytes) -> None:
        self.forget(d)
        self._expect_checksum(d, candidate)
        if d.checksum is not None:  # verified before it is published: a mismatch keeps .part
            await self.held.claim(d, candidate, data)
            await self._verifier.verify(d)
            await self.publish(d)
            return
        await self.held.save_small(d, candidate, data)

    async def publish(self, d: Download) -> None:
        wanted = await self.held.publish(d)
        if wanted is not None:
            self._events.log(d, f"{wanted} appeared meanwhile; saved as {d.name}")

    async def published_before(self, d: Download) -> bool:
        """Whether an earlier attempt had published ``d`` when a crash cut it short (the
        file was checked before it was linked): then it is complete as it stands."""
        try:
            if not await self.held.settle(d):
                return False
            assert d.final_path is not None
            size = (await asyncio.to_thread(d.final_path.stat)).st_size
        except OSError as exc:
            raise DownloadError(f"cannot check {d.part_path}: {exc.strerror or exc}") from None
        d.done = d.checkpoint = d.synced = d.total = size
        d.regions = None
        self._events.log(d, f"it had been saved as {d.name} when afetch stopped: completed")
        return True

    def _expect_checksum(self, d: Download, candidate: str) -> None:
        """Take the checksum ``--checksums`` lists for this file name, unless one was given."""
        if d.checksum is not None or not self.options.checksums:
            return
        found = self.options.checksums.get(candidate)
        if found is None:
            self._events.log(d, f"no checksum listed for {candidate}: not verified")
            return
        d.checksum = found
        d.hasher.use(found[0])
        self._events.changed(d)
