"""Keeps the store in step with the manager: changes are batched into one write at a time."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from afetch_tui.engine.checksum import format_checksum, parse_checksum
from afetch_tui.engine.download import Download
from afetch_tui.engine.errors import InputError, StoreError
from afetch_tui.engine.events import LogEntry, State
from afetch_tui.engine.regions import Region
from afetch_tui.engine.store import Record, Store
from afetch_tui.engine.urls import host_of

FLUSH_DELAY = 0.05
RETRY_DELAY = 2.0
LOG_KEPT = 50

_RESUMED_AS_QUEUED = frozenset(
    {State.QUEUED, State.CONNECTING, State.DOWNLOADING, State.VERIFYING, State.RETRYING}
)


def to_record(d: Download) -> Record:
    return Record(
        id=d.id,
        url=d.url,
        directory=str(d.directory),
        requested_name=d.requested_name,
        name=d.name,
        headers=d.headers,
        state=d.state.value,
        checkpoint=d.total if d.state is State.COMPLETED and d.total else d.checkpoint,
        total=d.total,
        etag=d.etag,
        last_modified=d.last_modified,
        retries=d.retries,
        error=d.error,
        rank=d.rank,
        limit_rate=d.bucket.rate,
        added_at=d.added_at,
        finished_at=d.finished_at,
        log=[(entry.time, entry.message) for entry in list(d.log)[-LOG_KEPT:]],
        checksum=format_checksum(d.checksum),
        connections=d.max_connections,
        regions=[region.as_list() for region in d.regions] if d.regions else None,
    )


def from_record(record: Record) -> Download:
    """A stored download as it comes back: whatever was running is queued again."""
    state = State(record.state)
    if state in _RESUMED_AS_QUEUED:
        state = State.QUEUED
    d = Download(
        id=record.id,
        url=record.url,
        host=host_of(record.url),
        directory=Path(record.directory),
        requested_name=record.requested_name,
        headers=dict(record.headers),
        state=state,
        name=record.name,
        done=record.checkpoint,
        checkpoint=record.checkpoint,
        total=record.total,
        etag=record.etag,
        last_modified=record.last_modified,
        retries=record.retries if state is State.FAILED else 0,
        error=record.error,
        rank=record.rank,
        added_at=record.added_at,
        finished_at=record.finished_at,
    )
    d.bucket.rate = record.limit_rate
    d.max_connections = record.connections
    if record.regions and state is not State.COMPLETED:
        d.regions = [Region.from_list(values) for values in record.regions]
        d.done = sum(region.done for region in d.regions)
    if record.checksum:
        with contextlib.suppress(InputError):
            d.checksum = parse_checksum(record.checksum)
            d.checksum_ok = True if state is State.COMPLETED else None
    d.log.extend(LogEntry(time, message) for time, message in record.log)
    return d


class Journal:
    """Collects changed downloads and writes them in batches, a moment after they change."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._dirty: dict[int, Download] = {}
        self._deleted: set[int] = set()
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.error: str | None = None
        """Why the last write failed, while it keeps failing."""

    def changed(self, d: Download) -> None:
        self._dirty[d.id] = d
        self._kick()

    def deleted(self, download_id: int) -> None:
        self._dirty.pop(download_id, None)
        self._deleted.add(download_id)
        self._kick()

    def _kick(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        """Write until nothing is pending: changes made during a write go in the next one."""
        await asyncio.sleep(FLUSH_DELAY)
        while self._dirty or self._deleted:
            try:
                await self.flush()
            except (OSError, sqlite3.Error, StoreError) as exc:
                self.error = f"cannot save the queue to {self.store.path}: {exc}"
                await asyncio.sleep(RETRY_DELAY)

    async def flush(self) -> None:
        """Write every pending change now."""
        async with self._lock:
            if not self._dirty and not self._deleted:
                return
            dirty, deleted = dict(self._dirty), set(self._deleted)
            self._dirty.clear()
            self._deleted.clear()
            try:
                await self.store.save([to_record(d) for d in dirty.values()], deleted)
            except BaseException:
                self._dirty = dirty | self._dirty
                self._deleted |= deleted
                raise
            self.error = None

    async def close(self) -> None:
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()
