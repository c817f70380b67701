"""The manager's own, mutable record of one download."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from afetch_tui.engine.checksum import StreamHasher
from afetch_tui.engine.events import DownloadSnapshot, LogEntry, RegionInfo, State
from afetch_tui.engine.limits import TokenBucket
from afetch_tui.engine.meter import RateMeter
from afetch_tui.engine.name_rules import PART_SUFFIX
from afetch_tui.engine.regions import Region

if TYPE_CHECKING:
    from afetch_tui.engine.spec import DownloadSpec

LOG_LINES = 200
NO_HEADERS: Mapping[str, str] = {}
"""The headers of a download that has none of its own: one dict for all of them (never
written to: `Download.headers` is read-only, and a spec's downloads share one)."""


@dataclass(eq=False, slots=True)
class Download:
    """One download. A waiting one costs a few hundred bytes: its meter, log, hasher and
    rate bucket are made when first used (most of a long queue never needs them before it
    starts)."""

    id: int
    url: str
    host: str
    directory: Path
    requested_name: str | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: NO_HEADERS)
    """Its own request headers; shared with the other downloads of its spec, never changed."""
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
    backoff_step: int = 0
    """Failed attempts in a row that brought no byte: the retry backoff's exponent."""
    error: str | None = None
    rank: float = 0.0
    """Place in the queue (lower first); only the scheduler changes it."""
    retry_at: float | None = None
    """Wall-clock time a retry may start (shown as why it waits)."""
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
    task: asyncio.Task[None] | None = None
    _hasher: StreamHasher | None = field(default=None, init=False, repr=False)
    _bucket: TokenBucket | None = field(default=None, init=False, repr=False)
    _meter: RateMeter | None = field(default=None, init=False, repr=False)
    _log: list[LogEntry] | None = field(default=None, init=False, repr=False)

    @property
    def hasher(self) -> StreamHasher:
        if self._hasher is None:
            self._hasher = StreamHasher()
        return self._hasher

    @property
    def bucket(self) -> TokenBucket:
        """This download's own rate limit (``bucket.rate``; None: unlimited)."""
        if self._bucket is None:
            self._bucket = TokenBucket()
        return self._bucket

    @property
    def limit_rate(self) -> float | None:
        return self._bucket.rate if self._bucket is not None else None

    @property
    def meter(self) -> RateMeter:
        if self._meter is None:
            self._meter = RateMeter(time.monotonic())
        return self._meter

    def add_log(self, entry: LogEntry) -> None:
        """Append to the attempt log, which keeps the newest `LOG_LINES` entries.

        A list, trimmed now and then, rather than a ``deque(maxlen=...)``: a deque costs
        over 600 bytes however short, and most downloads log one or two lines.
        """
        if self._log is None:
            self._log = []
        self._log.append(entry)
        if len(self._log) >= 2 * LOG_LINES:
            del self._log[:-LOG_LINES]

    def recent_log(self, count: int = LOG_LINES) -> list[LogEntry]:
        """The newest ``count`` (at most `LOG_LINES`) log entries, oldest first."""
        if not self._log:
            return []
        return self._log[-min(count, LOG_LINES) :]

    def settle(self) -> None:
        """Not running any more: drop what only a running download needs (its meter), and
        a hasher or bucket that holds nothing (no checksum, no rate limit)."""
        self._meter = None
        if self._hasher is not None and self._hasher.algo is None:
            self._hasher = None
        if self._bucket is not None and self._bucket.rate is None:
            self._bucket = None

    @property
    def part_path(self) -> Path | None:
        return self.directory / (self.name + PART_SUFFIX) if self.name else None

    @property
    def final_path(self) -> Path | None:
        return self.directory / self.name if self.name else None

    def eta(self) -> float | None:
        if self._meter is None:
            return None
        speed = self._meter.smoothed
        if self.total is None or speed <= 1:
            return None
        return max(0, self.total - self.done) / speed

    def snapshot(self) -> DownloadSnapshot:
        meter = self._meter if self.state.is_running else None
        return DownloadSnapshot(
            id=self.id,
            url=self.url,
            host=self.host,
            directory=self.directory,
            name=self.name or self.requested_name,
            state=self.state,
            done=self.done,
            total=self.total,
            speed=meter.smoothed if meter else 0.0,
            speed_now=meter.now if meter else 0.0,
            eta=self.eta() if meter else None,
            retries=self.retries,
            error=self.error,
            connections=self.connections,
            etag=self.etag,
            last_modified=self.last_modified,
            limit_rate=self.limit_rate,
            added_at=self.added_at,
            finished_at=self.finished_at,
            log=tuple(self.recent_log()),
            checksum=self.checksum,
            checksum_ok=self.checksum_ok,
            max_connections=self.max_connections,
            regions=self.region_infos(),
            retry_at=self.retry_at if self.state is State.RETRYING else None,
        )

    def region_infos(self) -> tuple[RegionInfo, ...]:
        if not self.regions:
            return ()
        now = time.monotonic()
        return tuple(
            RegionInfo(r.start, r.end, r.done, r.busy, r.rate(now) if r.busy else 0.0)
            for r in self.regions
        )


def from_spec(
    spec: DownloadSpec, first_id: int, after_rank: float, directory: Path, connections: int
) -> list[Download]:
    """The downloads ``spec`` asks for, numbered from ``first_id`` and ranked in order
    after ``after_rank``; ``directory`` and ``connections`` where the spec gives none."""
    downloads = []
    headers = own_headers(spec.headers)
    for offset, (url, host) in enumerate(zip(spec.urls, spec.hosts, strict=True)):
        d = Download(
            id=first_id + offset,
            url=url,
            host=host,
            directory=spec.directory or directory,
            requested_name=spec.name,
            headers=headers,
            state=State.PAUSED if spec.paused else State.QUEUED,
            rank=after_rank + offset + 1,
            max_connections=spec.connections or connections,
            checksum=spec.checksum,
        )
        if spec.limit_rate is not None:
            d.bucket.rate = spec.limit_rate
        downloads.append(d)
    return downloads


def own_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    """A copy of ``headers`` for downloads to share (`NO_HEADERS` if empty: a dict costs
    64 bytes, a waiting download should cost a few hundred in all)."""
    return dict(headers) if headers else NO_HEADERS
