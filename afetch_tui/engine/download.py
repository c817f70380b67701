"""The manager's own, mutable record of one download."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from afetch_tui.engine.checksum import StreamHasher
from afetch_tui.engine.events import DownloadSnapshot, LogEntry, RegionInfo, State
from afetch_tui.engine.limits import TokenBucket
from afetch_tui.engine.meter import RateMeter
from afetch_tui.engine.naming import PART_SUFFIX
from afetch_tui.engine.regions import Region

LOG_LINES = 200


@dataclass(eq=False)
class Download:
    id: int
    url: str
    host: str
    directory: Path
    requested_name: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    state: State = State.QUEUED
    name: str | None = None
    done: int = 0
    checkpoint: int = 0
    """Bytes known to be written to the file: all a restart in this boot may trust."""
    synced: int = 0
    """Bytes known to be fsynced: all a restart after a reboot may trust."""
    total: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    retries: int = 0
    error: str | None = None
    rank: float = 0.0
    restart: bool = False
    max_connections: int = 1
    segmentable: bool = True
    """False once the server refused ranges: later attempts use one connection."""
    regions: list[Region] | None = None
    """The regions of a download split over several connections."""
    connections: int = 0
    added_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    checksum: tuple[str, str] | None = None
    """(algorithm, hex digest) the finished file must match."""
    checksum_ok: bool | None = None
    """None until verified; then whether the file matched."""
    hasher: StreamHasher = field(default_factory=StreamHasher)
    bucket: TokenBucket = field(default_factory=TokenBucket)
    meter: RateMeter = field(default_factory=lambda: RateMeter(time.monotonic()))
    log: deque[LogEntry] = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    task: asyncio.Task[None] | None = None

    @property
    def part_path(self) -> Path | None:
        return self.directory / (self.name + PART_SUFFIX) if self.name else None

    @property
    def final_path(self) -> Path | None:
        return self.directory / self.name if self.name else None

    def eta(self) -> float | None:
        speed = self.meter.smoothed
        if self.total is None or speed <= 1:
            return None
        return max(0, self.total - self.done) / speed

    def snapshot(self) -> DownloadSnapshot:
        return DownloadSnapshot(
            id=self.id,
            url=self.url,
            host=self.host,
            directory=self.directory,
            name=self.name or self.requested_name,
            state=self.state,
            done=self.done,
            total=self.total,
            speed=self.meter.smoothed if self.state.is_running else 0.0,
            speed_now=self.meter.now if self.state.is_running else 0.0,
            eta=self.eta() if self.state.is_running else None,
            retries=self.retries,
            error=self.error,
            connections=self.connections,
            etag=self.etag,
            last_modified=self.last_modified,
            limit_rate=self.bucket.rate,
            added_at=self.added_at,
            finished_at=self.finished_at,
            log=tuple(self.log),
            checksum=self.checksum,
            checksum_ok=self.checksum_ok,
            max_connections=self.max_connections,
            regions=self._region_infos(),
        )

    def _region_infos(self) -> tuple[RegionInfo, ...]:
        if not self.regions:
            return ()
        now = time.monotonic()
        return tuple(
            RegionInfo(r.start, r.end, r.done, r.busy, r.rate(now) if r.busy else 0.0)
            for r in self.regions
        )
