"""Typed events the manager emits, and the state every download is in.

Events are frozen dataclasses; ``to_json`` gives the documented ``--json`` form.

This is where text leaves the engine, so the fields meant to be read (errors, log lines,
hook messages, names, validators) are made `inert` here, once, as each value is built: a
widget, a toast, a log or a terminal line can show them as they are. URLs stay usable (a
resume and a replace need them whole): show them as ``shown_url``, and ``to_json`` masks
their passwords.
"""

from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from afetch_tui.engine.display import inert, mask_password
from afetch_tui.engine.errors import InputError
from afetch_tui.engine.limits import MIN_RATE, MIN_REQUEST_RATE


class State(enum.StrEnum):
    QUEUED = "queued"
    CONNECTING = "connecting"
    DOWNLOADING = "downloading"
    PAUSED = "paused"
    RETRYING = "retrying"
    VERIFYING = "verifying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_running(self) -> bool:
        """Holds a connection slot right now."""
        return self in _RUNNING

    @property
    def is_pending(self) -> bool:
        """Will make progress without the user doing anything."""
        return self in _PENDING

    @property
    def is_finished(self) -> bool:
        return self in _FINISHED


_RUNNING = frozenset({State.CONNECTING, State.DOWNLOADING, State.VERIFYING})
_PENDING = _RUNNING | {State.QUEUED, State.RETRYING}
_FINISHED = frozenset({State.COMPLETED, State.FAILED, State.CANCELLED})


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line of a download's attempt log (shown in the details pane)."""

    time: float
    message: str

    def __post_init__(self) -> None:
        _make_inert(self, "message")


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits that apply to the whole manager; all can change while it runs.

    Rates are bytes per second; ``None`` means unlimited.
    """

    max_concurrent: int = 5
    max_per_host: int = 4
    rate: float | None = None
    rate_per_host: float | None = None
    host_request_rate: float | None = None

    def __post_init__(self) -> None:
        """Refuse what no limit can mean: `InputError` names the field."""
        for name in ("max_concurrent", "max_per_host"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError.of(name, "must be a whole number, at least 1")
        for name in ("rate", "rate_per_host", "host_request_rate"):
            value = getattr(self, name)
            if value is None:
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (math.isfinite(value) and value > 0)
            ):
                raise InputError.of(name, "must be positive (or unlimited)")
            floor, unit = (
                (MIN_REQUEST_RATE, "/s") if name == "host_request_rate" else (MIN_RATE, " B/s")
            )
            if value < floor:
                raise InputError.of(name, f"must be at least {floor:g}{unit}")


@dataclass(frozen=True, slots=True)
class RegionInfo:
    """One part of a split download: bytes ``[start, end)``, ``done`` of them written."""

    start: int
    end: int
    done: int
    active: bool
    speed: float


@dataclass(frozen=True, slots=True)
class DownloadSnapshot:
    """Everything there is to show about one download at one moment."""

    id: int
    url: str
    host: str
    directory: Path
    name: str | None
    state: State
    done: int
    total: int | None
    speed: float
    speed_now: float
    eta: float | None
    retries: int
    error: str | None
    connections: int
    etag: str | None
    last_modified: str | None
    limit_rate: float | None
    added_at: float
    finished_at: float | None
    log: tuple[LogEntry, ...]
    checksum: tuple[str, str] | None = None
    """(algorithm, hex digest) the file is verified against, if one was given."""
    checksum_ok: bool | None = None
    """None until verified; True once the file matched, False on a mismatch."""
    max_connections: int = 1
    regions: tuple[RegionInfo, ...] = ()
    """The parts of a download split over several connections."""
    retry_at: float | None = None
    """When (wall-clock time) a waiting download may start again after a failure."""

    def __post_init__(self) -> None:
        _make_inert(self, "name", "error", "etag", "last_modified")

    @property
    def shown_url(self) -> str:
        """The URL as it may be shown: password masked (``bob:***@``)."""
        return inert(self.url)

    @property
    def path(self) -> Path | None:
        """The final path (the file exists there only once completed)."""
        return self.directory / self.name if self.name else None

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return 1.0 if self.state is State.COMPLETED else None
        return min(1.0, self.done / self.total)


@dataclass(frozen=True, slots=True)
class QueueSummary:
    """How many downloads are in each state, and the bytes they hold: what a status line
    needs, read in O(1) however long the queue."""

    counts: dict[State, int]
    done: int
    """Bytes downloaded, summed over every download."""
    completed_bytes: int
    """Bytes of the completed downloads."""


@dataclass(frozen=True, slots=True)
class HostSnapshot:
    """Per-host rate statistics and limits."""

    host: str
    speed_now: float
    speed: float
    speed_avg: float
    bytes: int
    connections: int
    connection_cap: int
    active: int
    queued: int
    completed: int
    failed: int
    retries: int
    status_429: int
    status_5xx: int
    cooldown_remaining: float
    ttfb_mean: float | None
    limit_rate: float | None
    request_rate: float | None
    history: tuple[float, ...]
    """Bytes of each of the last 60 seconds, oldest first, always 60: the newest is the
    second under way (its bytes so far, or the speed now while downloads run)."""
    log: tuple[LogEntry, ...] = ()
    """Its latest pushbacks, connection-cap changes and failures, oldest first."""


def _make_inert(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None:
            object.__setattr__(obj, name, inert(value))


class Event:
    """Base of all events."""

    __slots__ = ()

    kind: str = "event"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"event": self.kind}
        for field in fields(self):  # type: ignore[arg-type]
            data[field.name] = _jsonable(getattr(self, field.name))
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, DownloadSnapshot | HostSnapshot | LogEntry | Limits | RegionInfo):
        data = asdict(value)
        if isinstance(value, DownloadSnapshot):
            data["path"] = value.path
            del data["log"]
        return {k: _jsonable(v) for k, v in data.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, str):
        return mask_password(value)
    return value


@dataclass(frozen=True, slots=True)
class Added(Event):
    kind = "added"
    download: DownloadSnapshot


@dataclass(frozen=True, slots=True)
class StateChanged(Event):
    kind = "state"
    id: int
    state: State
    error: str | None = None
    retries: int = 0
    done: int = 0
    """Bytes on disk now (a cancel resets them to 0)."""
    finished_at: float | None = None
    retry_at: float | None = None
    """For ``retrying``: when (Unix time) the next attempt may start."""
    checksum_ok: bool | None = None
    """Whether the file matched its checksum, once verified (None until then)."""

    def __post_init__(self) -> None:
        if self.error is not None:  # `_make_inert`, inline: four of these a file
            object.__setattr__(self, "error", inert(self.error))


@dataclass(frozen=True, slots=True)
class Progress(Event):
    kind = "progress"
    id: int
    done: int
    total: int | None
    speed: float
    speed_now: float
    eta: float | None
    connections: int = 0
    regions: tuple[RegionInfo, ...] = ()
    """A split download's parts (empty for one connection)."""


@dataclass(frozen=True, slots=True)
class Updated(Event):
    """A download's metadata changed: name resolved, size learnt, validators, URL, limit."""

    kind = "updated"
    download: DownloadSnapshot


@dataclass(frozen=True, slots=True)
class Logged(Event):
    kind = "log"
    id: int
    entry: LogEntry


@dataclass(frozen=True, slots=True)
class Removed(Event):
    kind = "removed"
    id: int


@dataclass(frozen=True, slots=True)
class Reordered(Event):
    """A download moved in the queue: it is now at ``position`` (0 is the front), and the
    others keep their order among themselves. One event per move, whatever the queue's
    length (a mirror applies it with `engine.order.QueueOrder.move`)."""

    kind = "reordered"
    id: int
    position: int


@dataclass(frozen=True, slots=True)
class HostUpdate(Event):
    kind = "host"
    host: HostSnapshot


@dataclass(frozen=True, slots=True)
class LimitsChanged(Event):
    kind = "limits"
    limits: Limits


@dataclass(frozen=True, slots=True)
class HookFinished(Event):
    """The ``--on-complete`` command ran for a completed download.

    ``ok`` is False when it exited non-zero, timed out or could not start; ``message``
    is one line saying how it went. Its output is in the download's log.
    """

    kind = "hook"
    id: int
    ok: bool
    exit_code: int | None
    message: str

    def __post_init__(self) -> None:
        _make_inert(self, "message")


@dataclass(frozen=True, slots=True)
class HandedOff(Event):
    """Another program queued these downloads here (``afetch add`` in another terminal).

    One event for each hand-off, after the downloads' own ``Added`` events, so a UI can
    say so once.
    """

    kind = "handoff"
    ids: tuple[int, ...]
    source: str


@dataclass(frozen=True, slots=True)
class StoreProblem(Event):
    """Saving the queue failed (said once until it works again), or works again."""

    kind = "store"
    message: str

    def __post_init__(self) -> None:
        _make_inert(self, "message")


@dataclass(frozen=True, slots=True)
class Resync(Event):
    """The subscriber fell too far behind and events were dropped: re-read the snapshots."""

    kind = "resync"
