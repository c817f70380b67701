"""One stored download as a row: written losslessly, read back only if it makes sense.

Text from servers may hold any bytes: aiohttp decodes header bytes that are not UTF-8 into
lone surrogates (``"caf\\udce9"``), which SQLite's UTF-8 text cannot hold. Such a value is
stored as a BLOB of the very bytes it stands for and read back to the same string, so a
validator goes back exactly as it came (JSON columns escape surrogates themselves).

A row that is valid SQLite but not a download afetch could have written (``headers='not
json'``, ``state='bogus'``, a region that is not three or four numbers) raises `BadRow`
with the reason, so the store can set that one row aside and keep the rest.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from afetch_tui.engine.events import State

COLUMNS = (
    "id",
    "url",
    "directory",
    "requested_name",
    "name",
    "headers",
    "state",
    "checkpoint",
    "total",
    "etag",
    "last_modified",
    "retries",
    "error",
    "rank",
    "limit_rate",
    "added_at",
    "finished_at",
    "log",
    "checksum",
    "connections",
    "regions",
    "boot_id",
    "synced",
)
_JSON_COLUMNS = frozenset({"headers", "log", "regions"})
_STATES = frozenset(state.value for state in State)


class BadRow(ValueError):
    """A stored row that does not describe a download."""


@dataclass(slots=True)
class Record:
    """One download as stored."""

    id: int
    url: str
    directory: str
    requested_name: str | None
    name: str | None
    headers: Mapping[str, str]
    """A dict (read-only: a stored download's headers may be shared with others)."""
    state: str
    checkpoint: int
    """Bytes written to the ``.part`` (trusted within the boot named by ``boot_id``)."""
    total: int | None
    etag: str | None
    last_modified: str | None
    retries: int
    error: str | None
    rank: float
    limit_rate: float | None
    added_at: float
    finished_at: float | None
    log: list[tuple[float, str]]
    checksum: str | None = None
    """``algo=hex`` the file must match, if one was given."""
    connections: int = 1
    regions: list[list[int]] | None = None
    """``[start, end, checkpoint, synced]`` for each region of a split download."""
    boot_id: str | None = None
    """The boot ``checkpoint`` was recorded in; after another boot only ``synced`` holds."""
    synced: int | None = None
    """Bytes known to be fsynced to the ``.part``: what survives a power cut (``None``:
    all of ``checkpoint``, as for records written before the two were kept apart)."""

    def row(self) -> tuple[Any, ...]:
        """The values of `COLUMNS`, as SQLite can hold them (see `to_column`)."""
        texts = (
            self.url,
            self.directory,
            self.requested_name or "",
            self.name or "",
            self.state,
            self.etag or "",
            self.last_modified or "",
            self.error or "",
            self.checksum or "",
            self.boot_id or "",
        )
        if not "".join(texts).isascii():  # rare: the slow path, value by value
            return self._row_by_column()
        return (  # the common case at ~1/5 of the cost: every text is ASCII as it is
            self.id,
            self.url,
            self.directory,
            self.requested_name,
            self.name,
            json.dumps(self.headers) if self.headers else "{}",
            self.state,
            self.checkpoint,
            self.total,
            self.etag,
            self.last_modified,
            self.retries,
            self.error,
            self.rank,
            self.limit_rate,
            self.added_at,
            self.finished_at,
            json.dumps(self.log) if self.log else "[]",
            self.checksum,
            self.connections,
            json.dumps(self.regions) if self.regions else None,
            self.boot_id,
            self.checkpoint if self.synced is None else self.synced,
        )

    def _row_by_column(self) -> tuple[Any, ...]:
        values: list[Any] = []
        for column in COLUMNS:
            value = getattr(self, column)
            if column == "synced" and value is None:
                value = self.checkpoint
            if column in _JSON_COLUMNS:
                value = json.dumps(value) if value or column != "regions" else None
            values.append(to_column(value))
        return tuple(values)

    @classmethod
    def from_row(cls, row: sqlite3.Row | tuple[Any, ...]) -> Record:
        """The record a row holds, or `BadRow` saying what is wrong with it."""
        record = _fast(cls, tuple(row))
        if record is not None:
            return record
        values = dict(zip(COLUMNS, row, strict=True))
        for column, check in _CHECKS:
            value = values[column]
            if type(value) is bytes:
                value = from_column(value)
            try:
                values[column] = check(value)
            except (ValueError, TypeError) as exc:
                raise BadRow(f"{column} {_shown(value)}: {exc}") from None
        return cls(**values)


def to_column(value: Any) -> Any:
    """``value`` as SQLite can hold it: text that is not valid UTF-8 becomes its bytes."""
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogateescape")
    return value


def from_column(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _integer(minimum: int | None = 0) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("not an integer")
        if minimum is not None and value < minimum:
            raise ValueError(f"below {minimum}")
        return value

    return check


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else check(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not text")
    return value


def _some_text(value: Any) -> str:
    if not _text(value):
        raise ValueError("empty")
    return str(value)


def _number(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise TypeError("not a finite number")
    return float(value)


def _positive(value: Any) -> float:
    if _number(value) <= 0:
        raise ValueError("not positive")
    return float(value)


def _state(value: Any) -> str:
    if value not in _STATES:
        raise ValueError("not a state")
    return str(value)


def _headers(value: Any) -> dict[str, str]:
    headers = json.loads(_text(value))
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise TypeError("not an object of strings")
    return headers


def _log(value: Any) -> list[tuple[float, str]]:
    entries = json.loads(_text(value))
    if not isinstance(entries, list):
        raise TypeError("not a list")
    try:
        log = [(float(when), message) for when, message in entries]
    except (TypeError, ValueError):
        raise TypeError("an entry is not [time, message]") from None
    for when, message in log:
        if type(message) is not str or not math.isfinite(when):
            raise TypeError("an entry is not [time, message]")
    return log


def _regions(value: Any) -> list[list[int]] | None:
    if value is None:
        return None
    regions = json.loads(_text(value))
    if not isinstance(regions, list):
        raise TypeError("not a list")
    checked = []
    for region in regions:
        if not isinstance(region, list) or len(region) not in (3, 4):
            raise TypeError("a region is not [start, end, checkpoint(, synced)]")
        start, end, checkpoint, *rest = (_integer()(n) for n in region)
        synced = rest[0] if rest else checkpoint  # written before synced was kept apart
        if not (start <= end and checkpoint <= end - start and synced <= checkpoint):
            raise ValueError("a region's numbers do not fit together")
        checked.append([start, end, checkpoint, synced])
    return checked


_CHECKS_BY_COLUMN: dict[str, Callable[[Any], Any]] = {
    "id": _integer(1),
    "url": _some_text,
    "directory": _some_text,
    "requested_name": _optional(_text),
    "name": _optional(_text),
    "headers": _headers,
    "state": _state,
    "checkpoint": _integer(),
    "total": _optional(_integer()),
    "etag": _optional(_text),
    "last_modified": _optional(_text),
    "retries": _integer(),
    "error": _optional(_text),
    "rank": _number,
    "limit_rate": _optional(_positive),
    "added_at": _number,
    "finished_at": _optional(_number),
    "log": _log,
    "checksum": _optional(_text),
    "connections": _integer(1),
    "regions": _regions,
    "boot_id": _optional(_text),
    "synced": _integer(),
}
_CHECKS = tuple(_CHECKS_BY_COLUMN.items())

_NONE = type(None)
_TYPES = tuple(
    {
        "id": (int,),
        "url": (str,),
        "directory": (str,),
        "headers": (str,),
        "state": (str,),
        "checkpoint": (int,),
        "total": (int, _NONE),
        "retries": (int,),
        "rank": (float, int),
        "limit_rate": (float, int, _NONE),
        "added_at": (float, int),
        "finished_at": (float, int, _NONE),
        "log": (str,),
        "connections": (int,),
        "regions": (str, _NONE),
        "synced": (int,),
    }.get(column, (str, _NONE))
    for column in COLUMNS
)
"""The types each column holds in a row afetch wrote (text that was not UTF-8 aside)."""
_AT = {column: index for index, column in enumerate(COLUMNS)}


def _fast(cls: type[Record], row: tuple[Any, ...]) -> Record | None:
    """The usual case, checked in one pass (reading 100,000 rows must stay quick); `None`
    for anything unusual, which the column-by-column checks then explain."""
    if len(row) != len(COLUMNS):
        return None
    for value, types in zip(row, _TYPES, strict=True):
        if type(value) not in types:
            return None
    at = _AT
    values = list(row)
    if not (
        values[at["id"]] >= 1
        and values[at["url"]]
        and values[at["directory"]]
        and values[at["state"]] in _STATES
        and min(values[at["checkpoint"]], values[at["retries"]], values[at["synced"]]) >= 0
        and values[at["connections"]] >= 1
        and (values[at["total"]] is None or values[at["total"]] >= 0)
        and (values[at["limit_rate"]] is None or values[at["limit_rate"]] > 0)
        and math.isfinite(values[at["rank"]] + values[at["added_at"]])
        and (values[at["finished_at"]] is None or math.isfinite(values[at["finished_at"]]))
    ):
        return None
    try:
        for column in _JSON_COLUMNS:
            values[at[column]] = _CHECKS_BY_COLUMN[column](values[at[column]])
    except (ValueError, TypeError):
        return None
    return cls(*values)
