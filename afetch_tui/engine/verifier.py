"""Verifying a download against its expected checksum: prime a resumed hash, check the end."""

from __future__ import annotations

import asyncio

from afetch_tui.engine.checksum import hash_file
from afetch_tui.engine.download import Download
from afetch_tui.engine.errors import DownloadError
from afetch_tui.engine.events import State
from afetch_tui.engine.transfer_context import DownloadEvents
from afetch_tui.format import size


class Verifier:
    """The manager's side of checksums: prime a resumed hash, verify a finished file."""

    def __init__(self, events: DownloadEvents) -> None:
        self._events = events

    async def prepare(self, d: Download) -> None:
        """Before an attempt: make the stream hash cover exactly the bytes on disk."""
        hasher = d.hasher
        hasher.use(d.checksum[0] if d.checksum else None)
        if d.checksum is None:
            return
        d.checksum_ok = None
        await hasher.settle()
        if d.restart or d.done == 0:
            hasher.reset()
            return
        if hasher.valid and hasher.fed == d.done:
            return
        path = d.part_path
        if path is None:
            hasher.invalidate()
            return
        self._events.set_state(d, State.VERIFYING)
        self._events.log(d, f"hashing the {size(d.done)} already in {path.name}")
        try:
            digest = await asyncio.to_thread(hash_file, path, d.checksum[0], d.done)
        except OSError:
            hasher.invalidate()  # the transfer will find the .part wanting and start over
            return
        hasher.reset(digest, d.done)

    async def verify(self, d: Download) -> None:
        """The finished ``.part`` against the expected checksum; `DownloadError` if it differs."""
        if d.checksum is None or d.part_path is None:
            return
        algo, expected = d.checksum
        hasher = d.hasher
        await hasher.settle()
        how = "hashed while downloading"
        if hasher.valid and hasher.algo == algo and hasher.fed == d.total:
            actual = hasher.hexdigest()
        else:
            how = "hashed after downloading"
            self._events.set_state(d, State.VERIFYING)
            try:
                actual = (await asyncio.to_thread(hash_file, d.part_path, algo)).hexdigest()
            except OSError as exc:
                raise DownloadError(
                    f"cannot read {d.part_path.name} to verify it: {exc}",
                    retryable=True,
                    restart=True,
                ) from None
        if actual != expected:
            d.checksum_ok = False
            d.checkpoint, d.regions = 0, None  # so a later run, too, starts from zero
            raise DownloadError(
                f"{algo} mismatch: expected {expected}, got {actual} "
                f"(kept as {d.part_path.name}; a retry starts from zero)",
                restart=True,
            )
        d.checksum_ok = True
        self._events.log(d, f"{algo} checksum verified ({how}): {actual}")
