"""The ``--json`` schema read back: JSON objects to the engine's snapshots and events.

`Event.to_json` writes the schema; this is its inverse, so a client in another process
sees the same typed events and snapshots as one in the manager's own process. Keys this
version does not know are ignored, and missing ones take the dataclass defaults.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from afetch_tui.engine import (
    DownloadSnapshot,
    Event,
    HostSnapshot,
    Limits,
    LogEntry,
    RegionInfo,
    State,
    Updated,
    events,
)

T = TypeVar("T")


def encode_download(snap: DownloadSnapshot) -> dict[str, Any]:
    """A download in the ``--json`` schema, with its log (which events carry one by one)."""
    data: dict[str, Any] = Updated(snap).to_json()["download"]
    data["log"] = [[round(entry.time, 3), entry.message] for entry in snap.log]
    return data


def decode_download(data: dict[str, Any]) -> DownloadSnapshot:
    """A download; without a ``log`` (events do not carry one) its log is empty."""
    return _build(DownloadSnapshot, {"log": [], **data}, _DOWNLOAD_FIELDS)


def decode_host(data: dict[str, Any]) -> HostSnapshot:
    return _build(HostSnapshot, data, {"history": tuple, "log": _host_log})


def decode_limits(data: dict[str, Any]) -> Limits:
    return _build(Limits, data, {})


def decode_event(data: dict[str, Any]) -> Event | None:
    """The event an ``{"event": KIND, ...}`` object stands for; None for a kind unknown here."""
    cls = _EVENT_KINDS.get(data.get("event"))  # type: ignore[arg-type]
    if cls is None:
        return None
    return _build(cls, data, _EVENT_FIELDS)


def _build(cls: type[T], data: dict[str, Any], convert: dict[str, Callable[[Any], Any]]) -> T:
    kwargs = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in data:
            value = data[field.name]
            to_type = convert.get(field.name)
            kwargs[field.name] = value if value is None or to_type is None else to_type(value)
    return cls(**kwargs)


def _host_log(entries: list[dict[str, Any]]) -> tuple[LogEntry, ...]:
    return tuple(LogEntry(float(e["time"]), str(e["message"])) for e in entries)


def _log(entries: list[list[Any]]) -> tuple[LogEntry, ...]:
    return tuple(LogEntry(float(time), str(message)) for time, message in entries)


_DOWNLOAD_FIELDS: dict[str, Callable[[Any], Any]] = {
    "directory": Path,
    "state": State,
    "log": _log,
    "checksum": tuple,
    "regions": lambda regions: tuple(_build(RegionInfo, r, {}) for r in regions),
}

_EVENT_FIELDS: dict[str, Callable[[Any], Any]] = {
    "download": decode_download,
    "state": State,
    "entry": lambda entry: _build(LogEntry, entry, {}),
    "ids": tuple,
    "host": decode_host,
    "limits": decode_limits,
    "regions": _DOWNLOAD_FIELDS["regions"],  # a split download's parts, on progress events
}


def _event_kinds() -> dict[str, type[Event]]:
    kinds = {}
    for name in dir(events):
        cls = getattr(events, name)
        if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event:
            kinds[cls.kind] = cls
    return kinds


_EVENT_KINDS = _event_kinds()
