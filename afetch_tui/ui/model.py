"""The dashboard's view model: the latest snapshot of every download and host.

Events from the manager are folded in here (cheaply, as they arrive) and the rows they
touch are marked dirty; the widgets read the dirty sets on their own timer and repaint
only those rows. Nothing here imports Textual.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from afetch_tui.engine.events import (
    Added,
    DownloadSnapshot,
    Event,
    HostSnapshot,
    HostUpdate,
    Limits,
    LimitsChanged,
    Logged,
    Progress,
    Removed,
    Reordered,
    Resync,
    State,
    StateChanged,
    Updated,
)

SPEED_SAMPLES = 16
"""How many one-second speed samples each row keeps for its sparkline."""

LOG_LIMIT = 200
"""The details pane shows at most this many of a download's most recent log lines."""


@dataclass(slots=True)
class DownloadRow:
    """One download as the UI sees it: its snapshot plus recent speed samples."""

    snap: DownloadSnapshot
    samples: deque[float] = field(default_factory=lambda: deque(maxlen=SPEED_SAMPLES))


@dataclass(frozen=True, slots=True)
class Counts:
    """How many downloads are in each group, for the status bar."""

    active: int = 0
    queued: int = 0
    paused: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    speed: float = 0.0


@dataclass(slots=True)
class Changes:
    """What changed since the widgets last looked; handed over and reset by `take`."""

    reset: bool = False
    added: list[int] = field(default_factory=list)
    removed: set[int] = field(default_factory=set)
    dirty: set[int] = field(default_factory=set)
    order: bool = False
    hosts: set[str] = field(default_factory=set)
    limits: bool = False

    def __bool__(self) -> bool:
        return bool(
            self.reset
            or self.added
            or self.removed
            or self.dirty
            or self.order
            or self.hosts
            or self.limits
        )


class ViewModel:
    """Folds manager events into rows and remembers which ones changed."""

    def __init__(self) -> None:
        self.rows: dict[int, DownloadRow] = {}
        self.order: list[int] = []
        self.hosts: dict[str, HostSnapshot] = {}
        self.limits = Limits()
        self.changes = Changes()
        self._position: dict[int, int] | None = None
        self._last_sample = float("-inf")
        self.sample_every = 1.0
        """Seconds between speed samples (tests set `inf` to freeze the sparklines)."""
        self.on_finished: Callable[[DownloadSnapshot], None] | None = None
        """Called when a download reaches completed or failed (for notifications)."""
        self.fetch: Callable[[int], DownloadSnapshot | None] | None = None
        """Reads one download's full snapshot; used on state changes, which carry only
        the state, to pick up retries, finish time and a reset byte count."""

    # -- loading -------------------------------------------------------------------

    def load(
        self,
        downloads: Iterable[DownloadSnapshot],
        hosts: Iterable[HostSnapshot],
        limits: Limits,
    ) -> None:
        """Replace everything with fresh snapshots (start-up and after a `Resync`)."""
        old = self.rows
        self.rows = {}
        for snap in downloads:
            row = old.get(snap.id) or DownloadRow(snap)
            row.snap = snap
            self.rows[snap.id] = row
        self.order = list(self.rows)
        self.hosts = {h.host: h for h in hosts}
        self.limits = limits
        self._position = None
        self.changes = Changes(reset=True, hosts=set(self.hosts), limits=True)

    def take(self) -> Changes:
        """Hand over the pending changes and start collecting afresh."""
        changes, self.changes = self.changes, Changes()
        return changes

    # -- events --------------------------------------------------------------------

    def apply(self, event: Event) -> bool:
        """Fold one event in. Returns False for a `Resync` (the caller must `load`)."""
        match event:
            case Progress(id=i):
                row = self.rows.get(i)
                if row is not None:
                    row.snap = replace(
                        row.snap,
                        done=event.done,
                        total=event.total,
                        speed=event.speed,
                        speed_now=event.speed_now,
                        eta=event.eta,
                    )
                    self.changes.dirty.add(i)
            case StateChanged(id=i):
                self._state_changed(event)
            case Added(download=snap) | Updated(download=snap):
                self._upsert(snap)
            case Logged(id=i, entry=entry):
                row = self.rows.get(i)
                if row is not None:
                    log = (*row.snap.log[-(LOG_LIMIT - 1) :], entry)
                    row.snap = replace(row.snap, log=log)
                    self.changes.dirty.add(i)
            case Removed(id=i):
                if self.rows.pop(i, None) is not None:
                    self.order.remove(i)
                    self._position = None
                    self.changes.dirty.discard(i)
                    if i in self.changes.added:
                        self.changes.added.remove(i)
                    else:
                        self.changes.removed.add(i)
            case Reordered(order=order):
                known = [i for i in order if i in self.rows]
                rest = [i for i in self.order if i not in set(known)]
                if known + rest != self.order:
                    self.order = known + rest
                    self._position = None
                    self.changes.order = True
            case HostUpdate(host=host):
                self.hosts[host.host] = host
                self.changes.hosts.add(host.host)
            case LimitsChanged(limits=limits):
                self.limits = limits
                self.changes.limits = True
            case Resync():
                return False
        return True

    def _upsert(self, snap: DownloadSnapshot) -> None:
        row = self.rows.get(snap.id)
        if row is None:
            self.rows[snap.id] = DownloadRow(snap)
            self.order.append(snap.id)
            self._position = None
            self.changes.added.append(snap.id)
            self.changes.removed.discard(snap.id)
        else:
            row.snap = snap
            self.changes.dirty.add(snap.id)

    def _state_changed(self, event: StateChanged) -> None:
        row = self.rows.get(event.id)
        if row is None:
            return
        previous = row.snap.state
        fresh = self.fetch(event.id) if self.fetch is not None else None
        if fresh is not None and fresh.state is event.state:
            row.snap = fresh
        else:
            row.snap = replace(
                row.snap,
                state=event.state,
                error=event.error,
                retries=event.retries,
                done=event.done,
                finished_at=event.finished_at,
            )
        if not event.state.is_running:
            row.snap = replace(row.snap, speed=0.0, speed_now=0.0, eta=None)
        self.changes.dirty.add(event.id)
        if (
            event.state is not previous
            and event.state in (State.COMPLETED, State.FAILED)
            and self.on_finished is not None
        ):
            self.on_finished(row.snap)

    # -- derived -------------------------------------------------------------------

    def position(self, download_id: int) -> int:
        """The 0-based place of a download in the queue."""
        if self._position is None:
            self._position = {i: n for n, i in enumerate(self.order)}
        return self._position[download_id]

    def sample_speeds(self, now: float | None = None) -> None:
        """Record one speed sample per active row, at most once per `sample_every` s."""
        now = time.monotonic() if now is None else now
        if now - self._last_sample < self.sample_every:
            return
        self._last_sample = now
        for download_id, row in self.rows.items():
            if row.snap.state.is_running or (row.samples and row.samples[-1] > 0):
                row.samples.append(row.snap.speed_now if row.snap.state.is_running else 0.0)
                self.changes.dirty.add(download_id)

    def counts(self) -> Counts:
        """Counts by state and the total speed, for the status bar."""
        active = queued = paused = completed = failed = cancelled = 0
        speed = 0.0
        for row in self.rows.values():
            state = row.snap.state
            if state.is_running:
                active += 1
                speed += row.snap.speed_now
            elif state is State.QUEUED or state is State.RETRYING:
                queued += 1
            elif state is State.PAUSED:
                paused += 1
            elif state is State.COMPLETED:
                completed += 1
            elif state is State.FAILED:
                failed += 1
            else:
                cancelled += 1
        return Counts(active, queued, paused, completed, failed, cancelled, speed)
