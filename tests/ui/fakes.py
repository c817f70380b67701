"""A deterministic stand-in for `DownloadManager`, for snapshot tests.

Snapshot tests run the app on their own event loop, so they use fixed snapshots instead
of a live server. Commands are recorded, not performed.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from afetch_tui.engine.events import (
    DownloadSnapshot,
    Event,
    HostSnapshot,
    Limits,
    LogEntry,
    State,
)

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
MiB = 1024 * 1024


def download(id: int, name: str | None, state: State, **changes: Any) -> DownloadSnapshot:
    """A download snapshot with sensible defaults."""
    host = changes.pop("host", "mirror.example.org")
    base = DownloadSnapshot(
        id=id,
        url=f"https://{host}/pub/{name or f'file-{id}'}",
        host=host,
        directory=Path("/home/ada/Downloads"),
        name=name,
        state=state,
        done=0,
        total=None,
        speed=0.0,
        speed_now=0.0,
        eta=None,
        retries=0,
        error=None,
        connections=0,
        etag=None,
        last_modified=None,
        limit_rate=None,
        added_at=T0 + id,
        finished_at=None,
        log=(LogEntry(T0 + id, "queued"),),
    )
    return replace(base, **changes)


def host(name: str, **changes: Any) -> HostSnapshot:
    base = HostSnapshot(
        host=name,
        speed_now=0.0,
        speed=0.0,
        speed_avg=0.0,
        bytes=0,
        connections=0,
        connection_cap=4,
        active=0,
        queued=0,
        completed=0,
        failed=0,
        retries=0,
        status_429=0,
        status_5xx=0,
        cooldown_remaining=0.0,
        ttfb_mean=None,
        limit_rate=None,
        request_rate=None,
        history=(),
    )
    return replace(base, **changes)


def wave(n: int, low: float, high: float, phase: int = 0) -> tuple[float, ...]:
    """A deterministic, lively-looking speed history."""
    pattern = (0.3, 0.5, 0.8, 0.6, 0.9, 1.0, 0.7, 0.2, 0.4, 0.95, 0.75, 0.45, 0.6, 0.85)
    return tuple(low + (high - low) * pattern[(i + phase) % len(pattern)] for i in range(n))


def scene() -> tuple[list[DownloadSnapshot], list[HostSnapshot]]:
    """A realistic mix: active, paused, queued, retrying, failed and completed."""
    downloads = [
        download(
            1,
            "ubuntu-24.04.1-desktop-amd64.iso",
            State.DOWNLOADING,
            host="releases.ubuntu.com",
            done=int(3.1 * 1024 * MiB),
            total=int(5.7 * 1024 * MiB),
            speed=11.2 * MiB,
            speed_now=12.4 * MiB,
            eta=238.0,
            connections=4,
            etag='"66c5b1b6-16d5a9000"',
            last_modified="Wed, 21 Aug 2024 09:12:54 GMT",
            log=(
                LogEntry(T0 + 1, "queued"),
                LogEntry(T0 + 2, "connected in 84 ms: 200 OK, 5.7 GiB, ranges supported"),
                LogEntry(T0 + 2.5, "split into 4 connections"),
            ),
        ),
        download(
            2,
            "linux-6.11.tar.xz",
            State.DOWNLOADING,
            host="cdn.kernel.org",
            done=88 * MiB,
            total=141 * MiB,
            speed=4.1 * MiB,
            speed_now=3.8 * MiB,
            eta=13.0,
            connections=1,
            retries=1,
            etag='"66e0a1f2-8d0c3a4"',
        ),
        download(
            3,
            "Big_Buck_Bunny_1080p.mov",
            State.PAUSED,
            host="download.blender.org",
            done=402 * MiB,
            total=885 * MiB,
        ),
        download(
            4,
            "dataset-part-07.parquet",
            State.RETRYING,
            host="data.example.net",
            done=12 * MiB,
            total=64 * MiB,
            retries=3,
            error="HTTP 503 Service Unavailable",
        ),
        download(5, None, State.QUEUED, host="data.example.net"),
        download(
            6,
            "report-2024-q3.pdf",
            State.FAILED,
            host="files.example.com",
            retries=5,
            error="HTTP 404 Not Found",
        ),
        download(
            7,
            "go1.23.2.linux-amd64.tar.gz",
            State.COMPLETED,
            host="go.dev",
            done=73 * MiB,
            total=73 * MiB,
            finished_at=T0 + 37,
        ),
        download(8, "old-build.zip", State.CANCELLED, host="files.example.com"),
    ]
    hosts = [
        host(
            "releases.ubuntu.com",
            speed_now=12.4 * MiB,
            speed=11.9 * MiB,
            speed_avg=10.8 * MiB,
            bytes=int(3.1 * 1024 * MiB),
            connections=4,
            active=1,
            ttfb_mean=0.084,
            history=wave(60, 8 * MiB, 13 * MiB),
        ),
        host(
            "cdn.kernel.org",
            speed_now=3.8 * MiB,
            speed=4.0 * MiB,
            speed_avg=3.6 * MiB,
            bytes=88 * MiB,
            connections=1,
            active=1,
            retries=1,
            status_5xx=1,
            ttfb_mean=0.031,
            limit_rate=4 * MiB,
            history=wave(42, 2 * MiB, 4 * MiB, phase=3),
        ),
        host("download.blender.org", bytes=402 * MiB, ttfb_mean=0.152),
        host(
            "data.example.net",
            queued=2,
            bytes=12 * MiB,
            retries=3,
            status_429=2,
            status_5xx=1,
            cooldown_remaining=17.0,
            ttfb_mean=0.410,
            history=wave(20, 0.5 * MiB, 1.5 * MiB, phase=7) + (0.0,) * 20,
        ),
        host("files.example.com", failed=1, retries=5, status_5xx=0, ttfb_mean=0.055),
        host("go.dev", bytes=73 * MiB, completed=1, ttfb_mean=0.022),
    ]
    return downloads, hosts


class _Subscription:
    def __init__(self) -> None:
        self._closed = asyncio.Event()

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> Event:
        await self._closed.wait()
        raise StopAsyncIteration

    def close(self) -> None:
        self._closed.set()


class FakeManager:
    """Serves fixed snapshots; records every command it is given."""

    def __init__(
        self,
        downloads: list[DownloadSnapshot] | None = None,
        hosts: list[HostSnapshot] | None = None,
        limits: Limits | None = None,
        directory: Path = Path("/home/ada/Downloads"),
    ) -> None:
        self._downloads = {d.id: d for d in downloads or []}
        self._hosts = list(hosts or [])
        self.limits = limits or Limits(rate=20 * MiB)
        self.directory = directory
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def downloads(self) -> list[DownloadSnapshot]:
        return list(self._downloads.values())

    def download(self, download_id: int) -> DownloadSnapshot:
        return self._downloads[download_id]

    def hosts(self) -> list[HostSnapshot]:
        return list(self._hosts)

    def subscribe(self, maxsize: int = 10_000) -> _Subscription:
        return _Subscription()

    def __getattr__(self, name: str) -> Any:
        async def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            return [] if name in {"add_many", "clear_finished"} else None

        return record
