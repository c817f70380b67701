"""Keeps the store in step with the manager: changes are batched into one write at a time."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from afetch_tui.engine.checksum import format_checksum, parse_checksum
from afetch_tui.engine.download import Download, own_headers
from afetch_tui.engine.errors import InputError, StoreError
from afetch_tui.engine.events import LogEntry, State
from afetch_tui.engine.http import if_range
from afetch_tui.engine.records import Record
from afetch_tui.engine.regions import Region, safe_prefix
from afetch_tui.engine.store import Store
from afetch_tui.engine.urls import host_of

FLUSH_DELAY = 0.02
"""Changes wait this long to be written together (a checkpoint's lag after a kill -9)."""
RETRY_DELAY = 2.0
LOG_KEPT = 50
SAVE_BATCH = 2_000
"""Downloads written per transaction (a long queue is written in several)."""
_STORE_FAILURES = (OSError, sqlite3.OperationalError, sqlite3.DatabaseError, StoreError)
"""The store itself failing (a full disk, a lost file): the whole batch is tried again."""
_RECORD_FAULTS = (sqlite3.InterfaceError, sqlite3.ProgrammingError, sqlite3.DataError)
"""A value SQLite cannot take (these are `sqlite3.DatabaseError` too): that record's fault."""

_RESUMED_AS_QUEUED = frozenset(
    {State.QUEUED, State.CONNECTING, State.DOWNLOADING, State.VERIFYING, State.RETRYING}
)


@functools.cache
def boot_id() -> str | None:
    """This boot's id: checkpoints recorded in it are trusted without an fsync."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def to_record(d: Download) -> Record:
    finished = d.total if d.state is State.COMPLETED else None
    return Record(
        id=d.id,
        url=d.url,
        directory=str(d.directory),
        requested_name=d.requested_name,
        name=d.name,
        headers=d.headers,
        state=d.state.value,
        checkpoint=finished or d.checkpoint,
        total=d.total,
        etag=d.etag,
        last_modified=d.last_modified,
        retries=d.retries,
        error=d.error,
        rank=d.rank,
        limit_rate=d.limit_rate,
        added_at=d.added_at,
        finished_at=d.finished_at,
        log=[(entry.time, entry.message) for entry in d.recent_log(LOG_KEPT)],
        checksum=format_checksum(d.checksum),
        connections=d.max_connections,
        regions=[region.as_list() for region in d.regions] if d.regions else None,
        boot_id=boot_id(),
        synced=finished or min(d.synced, d.checkpoint),
    )


@functools.lru_cache(maxsize=256)
def _directory(text: str) -> Path:
    """One `Path` per directory, shared by its downloads (100,000 alike cost ~20 MB)."""
    return Path(text)


def take_up_under(record: Record, url: str) -> None:
    """Point a stored download at ``url``, the same path under another query (a new CDN
    signature). Its bytes are kept only if it has a validator (a strong ETag or a
    Last-Modified) for If-Range to prove the new URL serves the same entity; without one
    it starts from zero, since the overlap check cannot tell two files apart
    (``download?id=1`` and ``?id=2``)."""
    record.log.append((time.time(), "URL replaced: the same path with a new query"))
    record.url = url
    if if_range(record.etag, record.last_modified) is None and record.checkpoint:
        record.log.append((time.time(), "no validator to prove it is the same file: from zero"))
        record.checkpoint, record.synced, record.regions, record.total = 0, 0, None, None


def from_record(record: Record) -> Download:
    """A stored download as it comes back: whatever was running is queued again.

    Written-but-unsynced bytes survive a process crash, not a power cut: checkpoints from
    this boot are taken as they are, from an earlier boot only as far as they were fsynced.
    """
    state = State(record.state)
    if state in _RESUMED_AS_QUEUED:
        state = State.QUEUED
    same_boot = record.boot_id is not None and record.boot_id == boot_id()
    synced = record.checkpoint if record.synced is None else min(record.synced, record.checkpoint)
    checkpoint = record.checkpoint if same_boot else synced
    d = Download(
        id=record.id,
        url=record.url,
        host=host_of(record.url),
        directory=_directory(record.directory),
        requested_name=record.requested_name,
        headers=own_headers(record.headers),
        state=state,
        name=record.name,
        done=checkpoint,
        checkpoint=checkpoint,
        synced=synced,
        total=record.total,
        etag=record.etag,
        last_modified=record.last_modified,
        retries=record.retries if state is State.FAILED else 0,
        error=record.error,
        rank=record.rank,
        added_at=record.added_at,
        finished_at=record.finished_at,
    )
    if record.limit_rate is not None:
        d.bucket.rate = record.limit_rate
    d.max_connections = record.connections
    if record.regions and state is not State.COMPLETED:
        d.regions = [Region.from_list(values, trust_written=same_boot) for values in record.regions]
        d.checkpoint = safe_prefix(d.regions)
        d.done = sum(region.done for region in d.regions)
    if record.checksum:
        with contextlib.suppress(InputError):
            d.checksum = parse_checksum(record.checksum)
            d.checksum_ok = True if state is State.COMPLETED else None
    for moment, message in record.log:
        d.add_log(LogEntry(moment, message))
    return d


def _record_fault(exc: Exception) -> bool:
    """Whether a failed save is down to a record (not to the store, which is retried)."""
    return isinstance(exc, _RECORD_FAULTS) or not isinstance(exc, _STORE_FAILURES)


class Journal:
    """Collects changed downloads and writes them in batches, a moment after they change.

    A failing write never stops the writes after it: when the store fails (a full disk),
    the batch is kept and tried again; a download that cannot be stored at all (a bug) is
    left out and the others are written. Either is reported once through ``report``.
    """

    def __init__(self, store: Store, report: Callable[[str], None] | None = None) -> None:
        self.store = store
        self._report = report or (lambda message: None)
        self._dirty: dict[int, Download] = {}
        self._deleted: set[int] = set()
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.error: str | None = None
        """Why the last write failed, while it keeps failing."""
        self._unstorable: set[int] = set()

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
            except _STORE_FAILURES:
                await asyncio.sleep(RETRY_DELAY)

    async def flush(self) -> None:
        """Write every pending change now (a failure of the store itself is raised)."""
        async with self._lock:
            if not self._dirty and not self._deleted:
                return
            dirty, deleted = dict(self._dirty), set(self._deleted)
            self._dirty.clear()
            self._deleted.clear()
            try:
                await self._save(dirty, deleted)
            except _STORE_FAILURES as exc:
                self._dirty = dirty | self._dirty
                self._deleted |= deleted
                self._failed(f"cannot save the queue to {self.store.path}: {exc}")
                raise
            except BaseException:
                self._dirty = dirty | self._dirty
                self._deleted |= deleted
                raise
            if self.error is not None:
                self._report(f"the queue is saved to {self.store.path} again")
            self.error = None

    async def save_now(self) -> bool:
        """Write every pending change now; if the store fails (reported once), the writes
        are retried in the background and this returns False instead of raising."""
        try:
            await self.flush()
        except _STORE_FAILURES:
            self._kick()
            return False
        return True

    async def _save(self, dirty: dict[int, Download], deleted: set[int]) -> None:
        """Write in slices of `SAVE_BATCH`: 100,000 records built at once cost ~100 MB."""
        pending = list(dirty.values())
        for start in range(0, max(1, len(pending)), SAVE_BATCH):
            await self._save_slice(pending[start : start + SAVE_BATCH], deleted)
            deleted = set()

    async def _save_slice(self, dirty: list[Download], deleted: set[int]) -> None:
        records = []
        for d in dirty:
            try:
                records.append(to_record(d))
            except Exception as exc:  # one bad download must not stop the rest
                self._unsaved(d.id, exc)
        try:
            await self.store.save(records, deleted)
            return
        except Exception as exc:
            if not _record_fault(exc):
                raise
        await self.store.save([], deleted)  # find the record at fault, save the others
        for record in records:
            try:
                await self.store.save([record])
            except Exception as exc:
                if not _record_fault(exc):
                    raise
                self._unsaved(record.id, exc)

    def _failed(self, message: str) -> None:
        if self.error is None:
            self._report(message)
        self.error = message

    def _unsaved(self, download_id: int, exc: Exception) -> None:
        if download_id not in self._unstorable:
            self._unstorable.add(download_id)
            self._report(
                f"download {download_id} cannot be saved to {self.store.path} "
                f"({type(exc).__name__}: {exc}); the others are"
            )

    async def close(self) -> None:
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()
