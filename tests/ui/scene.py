"""A fixed queue for snapshot tests, written to a real state file.

The dashboard is opened on a real `DownloadManager` restored from this store. Nothing in it
is queued (paused, finished, failed or cancelled only), so nothing runs and nothing changes
between runs: timestamps are fixed, and the files live under a fake home directory.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path
from typing import Any

from afetch_tui.engine.events import Limits
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.store import Record, Store
from afetch_tui.ui.app import AfetchApp

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
MiB = 1024 * 1024
GiB = 1024 * MiB
LIMITS = Limits(max_concurrent=4, max_per_host=4, rate=20 * MiB)
HOST_LIMITS = {"cdn.kernel.org": 4 * MiB}


def record(id: int, url: str, state: str, directory: Path, **fields: Any) -> Record:
    """A stored download with quiet defaults; `fields` override any column."""
    name = url.rsplit("/", 1)[-1] or None
    values: dict[str, Any] = {
        "id": id,
        "url": url,
        "directory": str(directory),
        "requested_name": None,
        "name": name,
        "headers": {},
        "state": state,
        "checkpoint": 0,
        "total": None,
        "etag": None,
        "last_modified": None,
        "retries": 0,
        "error": None,
        "rank": float(id),
        "limit_rate": None,
        "added_at": T0 + id,
        "finished_at": None,
        "log": [(T0 + id, "queued")],
    }
    values.update(fields)
    return Record(**values)


def split(total: int, done: tuple[float, ...]) -> list[list[int]]:
    """`[start, end, checkpoint]` regions: `total` cut evenly, each `done[i]` of the way."""
    size = total // len(done)
    regions = []
    for n, fraction in enumerate(done):
        start = n * size
        end = total if n == len(done) - 1 else start + size
        regions.append([start, end, int((end - start) * fraction)])
    return regions


def records(directory: Path) -> list[Record]:
    """Paused (split, partial, not started), completed, failed and cancelled downloads."""
    iso = int(5.7 * GiB)
    iso_regions = split(iso, (0.92, 0.61, 0.74, 0.35))
    return [
        record(
            1,
            "https://releases.ubuntu.com/24.04/ubuntu-24.04.1-desktop-amd64.iso",
            "paused",
            directory,
            total=iso,
            checkpoint=sum(r[2] for r in iso_regions),
            regions=iso_regions,
            connections=4,
            etag='"66c5b1b6-16d5a9000"',
            last_modified="Wed, 21 Aug 2024 09:12:54 GMT",
            checksum="sha256=" + "c2e6d2c6b4ed4d9c3e1a8bd8f5a4d0a7" * 2,
            log=[
                (T0 + 1, "queued"),
                (T0 + 2, "connected in 84 ms: 200 OK, 5.7 GiB, ranges supported"),
                (T0 + 2.5, "split into 4 connections"),
                (T0 + 410, "paused"),
            ],
        ),
        record(
            2,
            "https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.11.tar.xz",
            "completed",
            directory,
            total=141 * MiB,
            checkpoint=141 * MiB,
            etag='"66e0a1f2-8d0c3a4"',
            checksum="sha256=" + "55d2c6c025ebc27810c748d66325dd5bc601e8d32f8581d9a6bfd6aa6a5b9d6a",
            finished_at=T0 + 38,
            log=[
                (T0 + 2, "queued"),
                (T0 + 3, "connected in 31 ms: 200 OK, 141 MiB"),
                (T0 + 37, "sha256 verified"),
                (T0 + 38, "completed: 141 MiB in 35s"),
            ],
        ),
        record(
            3,
            "https://download.blender.org/demo/movies/BBB/Big_Buck_Bunny_1080p.mov",
            "paused",
            directory,
            total=885 * MiB,
            checkpoint=402 * MiB,
            last_modified="Tue, 02 Jul 2024 16:40:12 GMT",
        ),
        record(
            4,
            "https://data.example.net/exports/dataset-part-07.parquet",
            "failed",
            directory,
            total=64 * MiB,
            checkpoint=12 * MiB,
            retries=5,
            error="HTTP 503 Service Unavailable",
            finished_at=T0 + 190,
            log=[
                (T0 + 4, "queued"),
                (T0 + 20, "HTTP 503 Service Unavailable: retry 1 of 5 in 20s"),
                (T0 + 190, "failed: HTTP 503 Service Unavailable"),
            ],
        ),
        # plain http: the cooling scene reaches it through a loopback proxy
        record(5, "http://data.example.net/exports/dataset-part-08.parquet", "paused", directory),
        record(
            6,
            "https://files.example.com/reports/report-2024-q3.pdf",
            "failed",
            directory,
            retries=1,
            error="HTTP 404 Not Found",
            finished_at=T0 + 7,
        ),
        record(
            7,
            "https://go.dev/dl/go1.23.2.linux-amd64.tar.gz",
            "completed",
            directory,
            total=73 * MiB,
            checkpoint=73 * MiB,
            finished_at=T0 + 29,
        ),
        record(
            8,
            "https://files.example.com/builds/old-build.zip",
            "cancelled",
            directory,
            finished_at=T0 + 12,
        ),
        record(
            9,
            "https://mirror.example.org/debian/debian-12.7.0-amd64-netinst.iso",
            "failed",
            directory,
            total=631 * MiB,
            checkpoint=631 * MiB,
            checksum="sha256=" + "8fde79cfc6b20a696200fc5c15219cf6d721e8feb367e9e0e33a79d1cb68fa83",
            error="sha256 mismatch: expected 8fde79cfc6b2…, got 0b3e2a1f9d44…",
            finished_at=T0 + 95,
        ),
        # Long names that differ only late or in the middle: each must stay readable.
        record(
            10,
            "https://cdimage.example.org/ubuntu-24.04.1-desktop-amd64-very-long-release-name.iso",
            "paused",
            directory,
            total=6 * GiB,
            checkpoint=2 * GiB,
        ),
        record(
            11,
            "https://cdimage.example.org/ubuntu-24.04.1-desktop-arm64-very-long-release-name.iso",
            "paused",
            directory,
            total=6 * GiB,
        ),
        *(
            record(
                12 + n,
                f"https://data.example.net/exports/dataset-partition-2024-{n:04d}-of-0100.parquet",
                "completed",
                directory,
                total=(40 + n) * MiB,
                checkpoint=(40 + n) * MiB,
                finished_at=T0 + 60 + n,
            )
            for n in range(3)
        ),
    ]


async def open_scene(path: Path, directory: Path, *, empty: bool = False) -> Store:
    """The state file at `path`, holding the scene (or nothing)."""
    store = await Store.open(path)
    if not empty:
        await store.save(records(directory))
        await store.save_settings({"limits": asdict(LIMITS), "host_limits": HOST_LIMITS})
    return store


class RestoredApp(AfetchApp):
    """The dashboard on a manager restored from a state file. The manager is started and
    closed on the app's own loop (snapshot tests run the app on a loop of their own)."""

    async def on_load(self) -> None:
        await self.manager.start()

    async def on_unmount(self) -> None:
        await self.manager.close()
        if self.manager.store is not None:
            await self.manager.store.close()


def restored_app(
    tmp_path: Path, *, empty: bool = False, proxy: str | None = None, **options: Any
) -> AfetchApp:
    """An app over the scene (or an empty queue), its files under `tmp_path/home`; its
    requests go through `proxy` if given (else nowhere: nothing in the scene runs)."""
    directory = tmp_path / "home" / "Downloads"
    directory.mkdir(parents=True, exist_ok=True)
    store = asyncio.run(open_scene(tmp_path / "state.db", directory, empty=empty))
    manager = DownloadManager(
        directory, options=ManagerOptions(trust_env=False, proxy=proxy), store=store
    )
    return RestoredApp(manager, cursor_blink=False, **options)
