"""What a front end asks to download, checked once when it is made.

The command line, the dashboard's dialogs and the control socket all build a `DownloadSpec`
and show the `InputError` it raises; the manager takes only specs, so no front end repeats
the rules.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from afetch_tui.engine import checksum as checksums
from afetch_tui.engine import name_rules
from afetch_tui.engine.errors import InputError
from afetch_tui.engine.limits import MIN_RATE
from afetch_tui.engine.urls import checked_url

if TYPE_CHECKING:
    from afetch_tui.engine.options import ManagerOptions

MAX_CONNECTIONS = 16
"""The most connections one download may use (``-x``)."""


@dataclass(frozen=True, slots=True)
class DownloadSpec:
    """One or more URLs to queue with the same options; `InputError` if any is unusable.

    ``directory`` None means the manager's; ``connections`` None means its ``-x``.
    ``name`` and ``checksum`` apply to a single URL only.
    """

    urls: tuple[str, ...]
    hosts: tuple[str, ...]
    """Each URL's host key (``host:port``), in the same order."""
    directory: Path | None = None
    name: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    paused: bool = False
    limit_rate: float | None = None
    connections: int | None = None
    checksum: tuple[str, str] | None = None

    def __init__(
        self,
        urls: Iterable[str],
        *,
        directory: Path | str | None = None,
        name: str | None = None,
        headers: Mapping[str, str] | None = None,
        paused: bool = False,
        limit_rate: float | None = None,
        connections: int | None = None,
        checksum: tuple[str, str] | None = None,
    ) -> None:
        checked = tuple(checked_url(url) for url in ([urls] if isinstance(urls, str) else urls))
        if checksum is not None:
            if len(checked) != 1:
                raise InputError("a checksum can only be given with a single URL")
            checksum = checksums.checked(*checksum)
        if name is not None:
            if len(checked) != 1:
                raise InputError("a file name (-o) can only be given with a single URL")
            if name_rules.safe_basename(name) != name.strip():
                raise InputError(f"not a usable file name: {name!r}")
            name = name.strip()
        if limit_rate is not None and not (math.isfinite(limit_rate) and limit_rate >= MIN_RATE):
            raise InputError("a download's rate limit must be at least 1 B/s")
        if connections is not None:
            check_connections(connections)
        setattr_ = object.__setattr__
        setattr_(self, "urls", tuple(url for url, _ in checked))
        setattr_(self, "hosts", tuple(host for _, host in checked))
        setattr_(self, "directory", check_directory(directory) if directory is not None else None)
        setattr_(self, "name", name)
        setattr_(self, "headers", dict(headers or {}))
        setattr_(self, "paused", paused)
        setattr_(self, "limit_rate", limit_rate)
        setattr_(self, "connections", connections)
        setattr_(self, "checksum", checksum)


def check_directory(directory: Path | str) -> Path:
    """The directory as an absolute path, or `InputError` if we cannot write there."""
    try:
        return _writable_directory(Path(directory).expanduser().absolute())
    except OSError as exc:  # a name too long, a loop of links, ...
        raise InputError(f"unusable directory {directory}: {exc.strerror or exc}") from None


def _writable_directory(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise InputError(f"not a directory: {path}")
    if not path.exists():
        parent = next((p for p in path.parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise InputError(f"cannot create directory {path}: {parent} is not a directory")
        if parent is None or not os.access(parent, os.W_OK | os.X_OK):
            raise InputError(f"cannot create directory {path}: permission denied")
    elif not os.access(path, os.W_OK | os.X_OK):
        raise InputError(f"cannot write to directory {path}: permission denied")
    return path


MAX_RETRIES = 100
MAX_TIMEOUT = 3600.0


@dataclass(frozen=True, slots=True)
class Defaults:
    """What the settings change besides `Limits`, for downloads from now on: the folder
    and connections a new download gets when its spec names none, and how many failed
    attempts and how many seconds without a byte each attempt is allowed.

    Checked when made, like `Limits`: `InputError` says what is wrong in one line."""

    retries: int
    timeout: float
    connections: int
    directory: Path

    def __post_init__(self) -> None:
        if _not_whole(self.retries) or not 0 <= self.retries <= MAX_RETRIES:
            raise InputError.of("retries", f"must be a whole number from 0 to {MAX_RETRIES}")
        if (
            isinstance(self.timeout, bool)
            or not isinstance(self.timeout, int | float)
            or not 1 <= self.timeout <= MAX_TIMEOUT
        ):
            raise InputError.of("timeout", f"must be 1 to {MAX_TIMEOUT:g} seconds")
        check_connections(self.connections)
        if not str(self.directory).strip():
            raise InputError("the download folder cannot be empty")
        object.__setattr__(self, "directory", check_directory(self.directory))

    @classmethod
    def of(cls, options: ManagerOptions, directory: Path) -> Defaults:
        """The defaults a manager with these options and folder applies."""
        return cls(options.retries, options.timeout, options.connections, directory)

    def applied_to(self, options: ManagerOptions) -> ManagerOptions:
        """``options`` with these retries, timeout and connections (the folder is apart)."""
        return replace(
            options, retries=self.retries, timeout=self.timeout, connections=self.connections
        )


def check_connections(value: object) -> int:
    """``value`` as connections per file, or `InputError` about ``connections``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONNECTIONS:
        raise InputError.of(
            "connections", f"must be 1 to {MAX_CONNECTIONS}", label="connections per file"
        )
    return value


def _not_whole(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int)
