"""What the server's operations take and give: argument checks and JSON results.

Arguments come from another process and are checked here, type by type, before the
manager sees them; the manager then checks their meaning (a URL, a directory) as it does
for every front end.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from afetch_tui.control import codec, wire
from afetch_tui.engine import (
    AfetchError,
    Defaults,
    DownloadSnapshot,
    DownloadSpec,
    HostUpdate,
    Limits,
    LimitsChanged,
    validate_url,
)

if TYPE_CHECKING:
    from afetch_tui.engine import DownloadManager

_NUMBER = (int, float)
LIMIT_KEYS = ("max_concurrent", "max_per_host", "rate", "rate_per_host", "host_request_rate")


class BadArgs(Exception):
    """A request's arguments have the wrong shape (a client bug, not a user's mistake)."""


# -- arguments ---------------------------------------------------------------------------


def integer(args: dict[str, Any], key: str) -> int:
    value = args.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadArgs(f"'{key}' must be an integer")
    return value


def text(args: dict[str, Any], key: str, **default: str | None) -> Any:
    """A string argument; with ``default=`` it may be missing or null."""
    value = args.get(key)
    if value is None and "default" in default:
        return default["default"]
    if not isinstance(value, str):
        raise BadArgs(f"'{key}' must be a string")
    return value


def flag(args: dict[str, Any], key: str) -> bool:
    value = args.get(key, False)
    if not isinstance(value, bool):
        raise BadArgs(f"'{key}' must be true or false")
    return value


def rate(args: dict[str, Any], key: str) -> float | None:
    value = args.get(key)
    if value is not None and (not isinstance(value, _NUMBER) or isinstance(value, bool)):
        raise BadArgs(f"'{key}' must be a number of bytes per second or null")
    return None if value is None else float(value)


def limit_changes(args: dict[str, Any]) -> dict[str, Any]:
    changes = args.get("changes")
    if not isinstance(changes, dict) or not set(changes) <= set(LIMIT_KEYS):
        raise BadArgs(f"'changes' must be an object with keys among {', '.join(LIMIT_KEYS)}")
    for key in changes:
        rate(changes, key)
    return dict(changes)


@dataclass(frozen=True)
class AddItem:
    """One URL to queue and the options it was given."""

    url: str
    directory: str | None = None
    name: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    paused: bool = False
    limit_rate: float | None = None
    connections: int | None = None
    checksum: tuple[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"url": self.url}
        for key in ("directory", "name", "limit_rate", "connections", "checksum"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.headers:
            data["headers"] = self.headers
        if self.paused:
            data["paused"] = True
        return data


def add_items(args: dict[str, Any]) -> list[AddItem]:
    items = args.get("items")
    if not isinstance(items, list):
        raise BadArgs("'items' must be a list")
    return [_add_item(item) for item in items]


def _add_item(item: Any) -> AddItem:
    if not isinstance(item, dict):
        raise BadArgs("each item must be an object")
    headers = item.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise BadArgs("'headers' must map strings to strings")
    connections = item.get("connections")
    if connections is not None:
        connections = integer(item, "connections")
    checksum = item.get("checksum")
    if checksum is not None:
        if not (isinstance(checksum, list) and len(checksum) == 2):
            raise BadArgs("'checksum' must be [algorithm, hex]")
        checksum = (text({"a": checksum[0]}, "a"), text({"h": checksum[1]}, "h"))
    directory = text(item, "directory", default=None)
    if directory is not None and not os.path.isabs(directory):
        # Resolved here it would land in this process's working directory, which the
        # client knows nothing of: the client resolves it where it runs (`commands.add_items`).
        raise BadArgs("'directory' must be an absolute path")
    return AddItem(
        url=text(item, "url"),
        directory=directory,
        name=text(item, "name", default=None),
        headers=dict(headers),
        paused=flag(item, "paused"),
        limit_rate=rate(item, "limit_rate"),
        connections=connections,
        checksum=checksum,
    )


def ids_or_all(manager: DownloadManager, args: dict[str, Any]) -> list[int]:
    if flag(args, "all"):
        return [snap.id for snap in manager.downloads()]
    ids = args.get("ids")
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        raise BadArgs("'ids' must be a list of integers (or give 'all': true)")
    return ids


# -- running -----------------------------------------------------------------------------


async def add_all(
    manager: DownloadManager, items: Sequence[AddItem]
) -> tuple[list[int], list[dict[str, str]]]:
    """Queue every item that is valid; the others come back with one line saying why.

    Items that differ only by URL go in one batch (one journal write for thousands).
    """
    ids: list[int] = []
    refused: list[dict[str, str]] = []
    batches: dict[tuple[Any, ...], list[str]] = {}
    for item in items:
        try:
            validate_url(item.url)
        except AfetchError as exc:
            refused.append({"url": item.url, "error": str(exc)})
            continue
        if item.name is None and item.checksum is None:
            key = (
                item.directory,
                tuple(sorted(item.headers.items())),
                item.paused,
                item.limit_rate,
                item.connections,
            )
            batches.setdefault(key, []).append(item.url)
            continue
        try:
            ids.append(await manager.add(item.url, **_options(item)))
        except AfetchError as exc:
            refused.append({"url": item.url, "error": str(exc)})
    for (directory, headers, paused, limit_rate, connections), urls in batches.items():
        try:
            spec = DownloadSpec(
                urls,
                directory=directory,
                headers=dict(headers),
                paused=paused,
                limit_rate=limit_rate,
                connections=connections,
            )
            ids += await manager.add_many(spec)
        except AfetchError as exc:
            refused += [{"url": url, "error": str(exc)} for url in urls]
    return ids, refused


async def add_atomic(manager: DownloadManager, items: Sequence[AddItem]) -> list[int]:
    """Queue every item or none (`InputError`); they share the first item's options."""
    if not items:
        return []
    options = _options(items[0])
    if any(_options(item) != options for item in items):
        raise BadArgs("an all-or-nothing add takes items with the same options")
    return await manager.add_many(DownloadSpec([item.url for item in items], **options))


def _options(item: AddItem) -> dict[str, Any]:
    return {
        "directory": item.directory,
        "name": item.name,
        "headers": item.headers,
        "paused": item.paused,
        "limit_rate": item.limit_rate,
        "connections": item.connections,
        "checksum": item.checksum,
    }


async def each(
    manager: DownloadManager, command: Callable[[int], Awaitable[None]], args: dict[str, Any]
) -> dict[str, Any]:
    """Run ``command`` on each id; an unknown id is reported, the others still run."""
    done: list[int] = []
    errors: list[dict[str, Any]] = []
    for download_id in ids_or_all(manager, args):
        try:
            await command(download_id)
        except AfetchError as exc:
            errors.append({"id": download_id, "error": str(exc)})
        else:
            done.append(download_id)
    return {"done": done, "errors": errors}


# -- results -----------------------------------------------------------------------------


def hello(role: str, state: str) -> dict[str, Any]:
    return {"version": wire.VERSION, "pid": os.getpid(), "role": role, "state": state}


def download(snap: DownloadSnapshot, *, log: bool) -> dict[str, Any]:
    data = codec.encode_download(snap)
    if not log:
        del data["log"]
    return data


def limits(value: Limits) -> dict[str, Any]:
    result: dict[str, Any] = LimitsChanged(value).to_json()["limits"]
    return result


def defaults(value: Defaults) -> dict[str, Any]:
    """`Defaults` on the wire (the folder as a string)."""
    return {
        "retries": value.retries,
        "timeout": value.timeout,
        "connections": value.connections,
        "directory": str(value.directory),
    }


def read_defaults(args: dict[str, Any]) -> Defaults:
    """`Defaults` from a request's arguments; `InputError` (from `Defaults`) if wrong."""
    directory = text(args, "directory")
    timeout = args.get("timeout")
    if not isinstance(timeout, _NUMBER) or isinstance(timeout, bool):
        raise BadArgs("'timeout' must be a number of seconds")
    return Defaults(
        integer(args, "retries"), float(timeout), integer(args, "connections"), Path(directory)
    )


def snapshot(manager: DownloadManager, role: str, state: str) -> dict[str, Any]:
    """The whole picture a client mirrors: downloads with logs, hosts, limits, settings."""
    command, timeout = manager.on_complete
    options = manager.options
    return {
        **hello(role, state),
        "directory": str(manager.directory),
        "downloads": [download(snap, log=True) for snap in manager.downloads()],
        "hosts": [HostUpdate(host).to_json()["host"] for host in manager.hosts()],
        "limits": limits(manager.limits),
        "speed": manager.speed,
        "on_complete": [list(command) if command else None, timeout],
        "hook_failures": sorted(manager.hook_failures),
        "options": {
            "connections": options.connections,
            "retries": options.retries,
            "timeout": options.timeout,
            "min_split_size": options.min_split_size,
            "overwrite": options.overwrite,
            "fsync": options.fsync,
        },
    }
