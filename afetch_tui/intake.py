"""Queueing what the command line asked for, shared by the dashboard and ``afetch get``."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from afetch_tui.cli import Config
from afetch_tui.engine.inputfile import InputEntry
from afetch_tui.engine.limits import parse_size
from afetch_tui.engine.manager import DownloadManager


def target_directory(config: Config, entry: InputEntry) -> Path:
    return config.directory / entry.dir if entry.dir else config.directory


async def queue_entries(
    manager: DownloadManager,
    config: Config,
    *,
    skip: Collection[tuple[str, Path]] = (),
) -> None:
    """Queue every entry not in ``skip``; entries without options of their own in one batch."""
    plain: list[str] = []
    for entry in config.entries:
        if (entry.url, target_directory(config, entry)) in skip:
            continue
        if (
            entry.out
            or entry.dir
            or entry.headers
            or entry.limit_rate
            or config.name
            or config.checksum
        ):
            await manager.add(
                entry.url,
                name=config.name or entry.out,
                directory=target_directory(config, entry),
                headers=entry.headers,
                limit_rate=parse_size(entry.limit_rate) if entry.limit_rate else None,
                checksum=config.checksum,
            )
        else:
            plain.append(entry.url)
    if plain:
        await manager.add_many(plain)
