"""The dashboard's view model: the latest snapshot of every download and host.

Events from the manager are folded in here (cheaply, as they arrive) and the rows they
touch are marked dirty; the widgets read the dirty sets on their own timer and repaint
only those rows. Nothing here imports Textual.
"""

from __future__ import annotations

import enum
import gc
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from operator import attrgetter
from pathlib import Path
from typing import Any

from afetch_tui.config import Listed
from afetch_tui.engine import (
    Added,
    DownloadSnapshot,
    Event,
    HostSnapshot,
    HostUpdate,
    Limits,
    LimitsChanged,
    Logged,
    Progress,
    QueueOrder,
    Removed,
    Reordered,
    Resync,
    State,
    StateChanged,
    Updated,
    waiting_reason,
)
from afetch_tui.ui.elide import SimilarNames

SPEED_SAMPLES = 16
"""How many one-second speed samples each row keeps for its sparkline."""

LOG_LIMIT = 200
"""The details pane shows at most this many of a download's most recent log lines."""


_COMMON = (
    "host",
    "directory",
    "speed",
    "speed_now",
    "eta",
    "retries",
    "error",
    "connections",
    "limit_rate",
    "checksum",
    "checksum_ok",
    "max_connections",
    "regions",
    "retry_at",
)
"""A snapshot's fields that most rows not running share (the same host, folder, no
speed, no error): kept once, as one tuple for all the rows with the same values."""

_common_of = attrgetter(*_COMMON)


class Shared:
    """The `_COMMON` fields of rows, each combination kept once."""

    __slots__ = ("_last", "_seen")

    def __init__(self) -> None:
        self._seen: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._last: tuple[Any, ...] = ()

    def intern(self, fields: tuple[Any, ...]) -> tuple[Any, ...]:
        # the last one first: a tuple of the same objects compares without hashing them
        # (a Path hashes in Python code), and a long list is mostly alike
        if fields == self._last:
            return self._last
        self._last = self._seen.setdefault(fields, fields)
        return self._last


_own_of = attrgetter("done", "etag", "last_modified", "added_at", "finished_at", "log")
_RUNNING = frozenset(state for state in State if state.is_running)


class DownloadRow:
    """One download as the UI sees it: what its line shows and a sort or a filter reads
    (kept, so 100,000 rows are not re-described per keystroke), and recent speed samples.

    A row that runs keeps the snapshot it was given. One that does not (most of a long
    list: waiting, or done) keeps its own fields and a tuple of those it shares with the
    others (`_COMMON`, interned by the model), and `snap` builds its snapshot again when
    asked (for a line on screen, the details pane): a snapshot kept for each of 100,000
    rows was ~230 bytes of the ~800 a row cost."""

    __slots__ = (
        "_common",
        "_snap",
        "added_at",
        "done",
        "etag",
        "finished_at",
        "haystack",
        "id",
        "label",
        "last_modified",
        "log",
        "name",
        "progress_key",
        "samples",
        "size_key",
        "sort_name",
        "speed_key",
        "state",
        "state_key",
        "ticks",
        "total",
        "url",
    )

    def __init__(self, snap: DownloadSnapshot, shared: Shared) -> None:
        self.id = snap.id
        self.samples: deque[float] | None = None
        """One-second speed samples for the sparkline (made once the row first runs)."""
        self.ticks = 0
        """How many samples were taken (tells a repaint that the sparkline moved)."""
        self.label = ""
        """The name shown (`display_name`)."""
        self.sort_name = ""
        """`label` case-folded: what a sort by name compares."""
        self.haystack = ""
        """What the filter searches: name, shown URL and host, case-folded (the shown
        URL alone when it holds the other two, as it mostly does)."""
        self.name: str | None = None
        self.url = ""
        self._common: tuple[Any, ...] = ()
        self.update(snap, shared)

    @property
    def snap(self) -> DownloadSnapshot:
        """The download's latest snapshot."""
        if self._snap is not None:
            return self._snap
        common = self._common
        fields: tuple[Any, ...] = (
            self.id,
            self.url,
            *common[:2],  # host, directory
            self.name,
            self.state,
            self.done,
            self.total,
            *common[2:8],  # speed ... connections
            self.etag,
            self.last_modified,
            common[8],  # limit_rate
            self.added_at,
            self.finished_at,
            self.log,
            *common[9:],  # checksum ... retry_at
        )
        return DownloadSnapshot(*fields)

    @property
    def host(self) -> str:
        host: str = self._common[0]
        return host

    @property
    def directory(self) -> Path:
        directory: Path = self._common[1]
        return directory

    def update(self, snap: DownloadSnapshot, shared: Shared) -> None:
        """Take a newer snapshot of the download: recompute what sorts read from it.
        `shared`: the tuples of `_COMMON` fields the model's rows share."""
        name, url = snap.name, snap.url
        renamed = name is not self.name or url is not self.url or not self.label
        state = snap.state
        total = snap.total
        (
            self.done,
            self.etag,
            self.last_modified,
            self.added_at,
            self.finished_at,
            self.log,
        ) = _own_of(snap)
        self.state, self.url, self.name, self.total = state, url, name, total
        self._common = shared.intern(_common_of(snap))
        self._snap = snap if state in _RUNNING else None
        if total:
            self.size_key = -total
            self.progress_key = -min(1.0, snap.done / total) if snap.done else 0.0
        else:
            self.size_key = 0
            self.progress_key = -1.0 if state is State.COMPLETED else 0.0
        speed = snap.speed
        self.speed_key = -speed if speed else 0.0
        self.state_key = _STATE_RANK[state]
        if renamed:
            self.describe(snap)

    def describe(self, snap: DownloadSnapshot) -> None:
        """Recompute `label`, `sort_name` and `haystack` (the name or the URL changed)."""
        shown_url = snap.shown_url
        self.label = snap.name or _url_tail(shown_url)
        folded = self.label.casefold()
        self.sort_name = self.label if folded == self.label else folded  # one string, not two
        url = shown_url.casefold()
        if url == shown_url:
            url = shown_url
        name = (snap.name or "").casefold()
        host = snap.host.casefold()
        # "name\nurl\nhost" holds a text (without a newline) iff one of the three does
        self.haystack = url if name in url and host in url else f"{name}\n{url}\n{host}"


@dataclass(frozen=True, slots=True)
class Counts:
    """How many downloads are in each group, and what is left, for the status bar."""

    active: int = 0
    transferring: int = 0
    """Of `active`, those connecting or downloading: the ones the limit counts (one that
    saves its file, verifying, has given its slot to the next already)."""
    queued: int = 0
    retrying: int = 0
    paused: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    speed: float = 0.0
    left: int = 0
    """Bytes still to fetch for unfinished downloads of known size."""
    unknown: int = 0
    """Unfinished downloads whose size is not known yet (not in `left`)."""

    @property
    def unfinished(self) -> int:
        return self.active + self.queued + self.retrying + self.paused

    @property
    def finished(self) -> int:
        return self.completed + self.failed + self.cancelled

    @property
    def eta(self) -> float | None:
        """Seconds until the queue is done at the current speed (sizes known so far)."""
        if not self.left or self.speed <= 1 or self.paused == self.unfinished:
            return None
        return self.left / self.speed


class Sort(enum.Enum):
    """Orders the table can be shown in (`o` cycles through them)."""

    QUEUE = "queue"
    NAME = "name"
    SIZE = "size"
    PROGRESS = "progress"
    SPEED = "speed"
    STATE = "state"

    @property
    def column(self) -> str:
        """The column whose header shows the order."""
        return {"queue": "pos", "progress": "percent"}.get(self.value, self.value)

    @property
    def moving(self) -> bool:
        """Orders that change as downloads run (re-sorted at most once a second)."""
        return self in (Sort.PROGRESS, Sort.SPEED, Sort.STATE)


class Show(enum.Enum):
    """Quick filters by state (`v` cycles through them)."""

    ALL = "all"
    ACTIVE = "active"
    QUEUED = "waiting"
    FAILED = "failed"
    DONE = "done"

    def admits(self, state: State) -> bool:
        return state in _ADMITTED[self]


_ADMITTED: dict[Show, frozenset[State]] = {
    Show.ALL: frozenset(State),
    Show.ACTIVE: frozenset(state for state in State if state.is_running),
    Show.QUEUED: frozenset({State.QUEUED, State.RETRYING, State.PAUSED}),
    Show.FAILED: frozenset({State.FAILED, State.CANCELLED}),
    Show.DONE: frozenset({State.COMPLETED}),
}
"""The states each quick filter shows (a set: the filter runs over 100,000 rows)."""

_STATE_RANK: dict[State, int] = {state: rank for rank, state in enumerate(State)}
"""Where a sort by state puts each state (the enum's order)."""


RESORT_EVERY = 1.0
"""Seconds between re-sorts of an order that moves (speed, progress, state)."""


@dataclass(slots=True)
class Changes:
    """What changed since the widgets last looked; handed over and reset by `take`."""

    reset: bool = False
    added: set[int] = field(default_factory=set)
    removed: set[int] = field(default_factory=set)
    dirty: set[int] = field(default_factory=set)
    order: bool = False
    hosts: set[str] = field(default_factory=set)
    limits: bool = False
    view: bool = False
    """The rows shown (filter, sort, marks) changed."""
    names: bool = False
    """A name was added or changed (others may elide differently next to it)."""

    def __bool__(self) -> bool:
        return bool(
            self.reset
            or self.added
            or self.removed
            or self.dirty
            or self.order
            or self.hosts
            or self.limits
            or self.view
            or self.names
        )


class ViewModel:
    """Folds manager events into rows and remembers which ones changed."""

    def __init__(self) -> None:
        self.rows: dict[int, DownloadRow] = {}
        self._shared = Shared()
        """The `_COMMON` fields of rows, each combination once (see `DownloadRow`)."""
        self.order = QueueOrder()
        """Every download's id in queue order (O(log n) to add, remove, move or place)."""
        self.hosts: dict[str, HostSnapshot] = {}
        self.limits = Limits()
        self.changes = Changes()
        self._last_sample = float("-inf")
        self.sample_every = 1.0
        """Seconds between speed samples (tests set `inf` to freeze the sparklines)."""
        self.on_finished: Callable[[DownloadSnapshot], None] | None = None
        """Called when a download reaches completed or failed (for notifications)."""
        self.filter_text = ""
        self.show = Show.ALL
        self.sort = Sort.QUEUE
        self.marks: set[int] = set()
        self._shown: list[int] | None = None
        self._narrowed: tuple[str, list[DownloadRow]] | None = None
        """The rows the last filter text matched (queue order), narrowed while typing on."""
        self._queue_ids: tuple[int, ...] | None = None
        """Every id in queue order (what a filter or a sort starts from; Escape goes back
        to it without walking the order again), kept until the order changes. A tuple of
        ints: the garbage collector stops walking it after its first look (a list of
        100,000 rows or ids kept here was walked by every full collection, while a key
        waited)."""
        self._moved = False
        """A row's state or size changed so that the view may have to follow (it does at
        most once a second, `refresh_view`)."""
        self._shown_at = float("-inf")
        self._tally: Counter[State] = Counter()
        self._left = 0
        self._unknown = 0
        self._running: set[int] = set()
        self._trailing: set[int] = set()
        self._names = SimilarNames(lambda: (row.label for row in self.rows.values()))

    # -- loading -------------------------------------------------------------------

    def load(
        self,
        downloads: Iterable[DownloadSnapshot],
        hosts: Iterable[HostSnapshot],
        limits: Limits,
    ) -> None:
        """Replace everything with fresh snapshots (start-up and after a `Resync`).

        The collector is held off meanwhile: building 100,000 rows otherwise triggers
        full collections over every object built so far (most of the time it took), and
        what was built is then frozen out of later collections."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._load(downloads, hosts, limits)
        finally:
            # What was loaded lives as long as the rows: keep it out of every later
            # collection too, or each full one walks 100,000 rows (a key then takes 0.5 s).
            gc.freeze()
            if collecting:
                gc.enable()

    def _load(
        self,
        downloads: Iterable[DownloadSnapshot],
        hosts: Iterable[HostSnapshot],
        limits: Limits,
    ) -> None:
        old = self.rows
        self.rows = {}
        self._shared = Shared()
        self._tally.clear()
        self._left = self._unknown = 0
        self._running.clear()
        for snap in downloads:
            row = old.get(snap.id)
            if row is None:
                row = DownloadRow(snap, self._shared)
            else:
                row.update(snap, self._shared)
            self.rows[snap.id] = row
            self._account(row, 1)
        self.order.reset(self.rows)
        self._names.reset()
        self.marks &= self.rows.keys()
        self.hosts = {h.host: h for h in sorted(hosts, key=lambda h: h.host)}
        self.limits = limits
        self._stale()
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
                    self._set(
                        row,
                        replace(
                            row.snap,
                            done=event.done,
                            total=event.total,
                            speed=event.speed,
                            speed_now=event.speed_now,
                            eta=event.eta,
                            connections=event.connections,
                            regions=event.regions,
                        ),
                    )
                    self.changes.dirty.add(i)
            case StateChanged(id=i):
                self._state_changed(event)
            case Added(download=snap) | Updated(download=snap):
                self._upsert(snap)
            case Logged(id=i, entry=entry):
                row = self.rows.get(i)
                if row is not None:
                    log = (*row.log[-(LOG_LIMIT - 1) :], entry)
                    row.update(replace(row.snap, log=log), self._shared)
                    self.changes.dirty.add(i)
            case Removed(id=i):
                row = self.rows.pop(i, None)
                if row is not None:
                    self._account(row, -1)
                    self.order.remove(i)
                    self.marks.discard(i)
                    self._stale()
                    self.changes.dirty.discard(i)
                    if i in self.changes.added:
                        self.changes.added.discard(i)
                    else:
                        self.changes.removed.add(i)
            case Reordered(id=i, position=position):
                if self.order.move(i, position):
                    self._stale()
                    self.changes.order = True
            case HostUpdate(host=host):
                if host.host not in self.hosts:
                    self.hosts[host.host] = host
                    self.hosts = dict(sorted(self.hosts.items()))  # stable: by name
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
            self.rows[snap.id] = DownloadRow(snap, self._shared)
            self._account(self.rows[snap.id], 1)
            self._names.add(self.rows[snap.id].label)
            self.changes.names = True
            self.order.append(snap.id)
            self._stale()
            self.changes.added.add(snap.id)
            self.changes.removed.discard(snap.id)
        else:
            renamed = snap.name != row.name or snap.url != row.url
            self._set(row, snap)
            if renamed:
                self._renamed()
                self._names.add(row.label)
                self.changes.names = True
            self.changes.dirty.add(snap.id)

    def _state_changed(self, event: StateChanged) -> None:
        row = self.rows.get(event.id)
        if row is None:
            return
        previous = row.state
        running = event.state.is_running
        old = row.snap
        snap = replace(
            old,
            state=event.state,
            error=event.error,
            retries=event.retries,
            done=event.done,
            finished_at=event.finished_at,
            retry_at=event.retry_at,
            checksum_ok=event.checksum_ok,
            speed=old.speed if running else 0.0,
            speed_now=old.speed_now if running else 0.0,
            eta=old.eta if running else None,
        )
        self._set(row, snap)
        self.changes.dirty.add(event.id)
        admitted = _ADMITTED[self.show]
        if (previous in admitted) is not (event.state in admitted):
            self._moved = True  # the view follows at most once a second (`refresh_view`)
        if (
            event.state is not previous
            and event.state in (State.COMPLETED, State.FAILED)
            and self.on_finished is not None
        ):
            self.on_finished(snap)

    # -- derived -------------------------------------------------------------------

    def position(self, download_id: int) -> int:
        """The 0-based place of a download in the queue."""
        return self.order.index(download_id)

    def sample_speeds(self, now: float | None = None) -> None:
        """Record one speed sample per active row, at most once per `sample_every` s."""
        now = time.monotonic() if now is None else now
        if now - self._last_sample < self.sample_every:
            return
        self._last_sample = now
        trailing, self._trailing = self._trailing, set()
        for download_id in self._running | trailing:
            row = self.rows.get(download_id)
            if row is None:
                continue
            running = row.state.is_running
            sample = row.snap.speed_now if running else 0.0
            if row.samples is None:
                row.samples = deque(maxlen=SPEED_SAMPLES)
            row.samples.append(sample)
            row.ticks += 1
            if running or any(row.samples):
                self._trailing.add(download_id)  # until its sparkline has drawn down to 0
            self.changes.dirty.add(download_id)

    def counts(self) -> Counts:
        """Counts by state, the total speed and what is left (kept as events arrive).

        The total speed is the hosts' Now summed: one meter and one window for the status
        bar and the hosts panel (the rows' own meters start afresh with each attempt and
        drop out as a file ends, so their sum read differently)."""
        tally = self._tally
        return Counts(
            active=sum(tally[state] for state in State if state.is_running),
            transferring=tally[State.CONNECTING] + tally[State.DOWNLOADING],
            queued=tally[State.QUEUED],
            retrying=tally[State.RETRYING],
            paused=tally[State.PAUSED],
            completed=tally[State.COMPLETED],
            failed=tally[State.FAILED],
            cancelled=tally[State.CANCELLED],
            speed=sum(host.speed_now for host in self.hosts.values()),
            left=self._left,
            unknown=self._unknown,
        )

    def _set(self, row: DownloadRow, snap: DownloadSnapshot) -> None:
        """Replace a row's snapshot, keeping the tallies right."""
        size = row.size_key
        self._account(row, -1)
        row.update(snap, self._shared)
        self._account(row, 1)
        if row.size_key != size and self.sort is Sort.SIZE:
            self._moved = True  # its size is known now: to its place within a second

    def _account(self, row: DownloadRow, sign: int) -> None:
        state = row.state
        self._tally[state] += sign
        if state.is_running:
            if sign > 0:
                self._running.add(row.id)
            else:
                self._running.discard(row.id)
        if not state.is_finished:
            if row.total is None:
                self._unknown += sign
            else:
                self._left += sign * max(0, row.total - row.done)

    # -- what is shown -------------------------------------------------------------

    def shown(self) -> list[int]:
        """The ids the table shows, in the order it shows them (filter and sort applied)."""
        if self._shown is None:
            self._shown = self._compute_shown()
            self._shown_at = time.monotonic()
            self._moved = False
        return self._shown

    def refresh_view(self, now: float | None = None) -> None:
        """Re-sort a moving order, and let the state filter follow rows whose state
        changed, at most once a second (called on the repaint timer)."""
        now = time.monotonic() if now is None else now
        if (
            (self._moved or (self.sort.moving and self.changes.dirty))
            and self._shown is not None
            and now - self._shown_at >= RESORT_EVERY
        ):
            self._shown = None
        if self._shown is None:
            self.changes.view = True

    def _stale(self) -> None:
        """The order changed (rows added, removed or moved): everything shown is recomputed."""
        self._shown = None
        self._narrowed = None
        self._queue_ids = None

    def _renamed(self) -> None:
        """A row's name or URL changed: only a filter or a sort by name may place it
        elsewhere, and the view follows within a second (`refresh_view`). Names arrive
        as downloads start, several a second: recomputing the view over 100,000 rows for
        each was most of the dashboard's time while they ran."""
        if self.filter_text:
            self._narrowed = None  # it may match now, or no longer
            self._moved = True
        elif self.sort is Sort.NAME:
            self._moved = True

    def set_view(
        self, *, text: str | None = None, show: Show | None = None, sort: Sort | None = None
    ) -> None:
        """Change the filter text, the state filter or the order."""
        if text is not None:
            self.filter_text = text
        if show is not None:
            self.show = show
        if sort is not None:
            self.sort = sort
        self._shown = None
        self.changes.view = True

    def toggle_mark(self, download_id: int) -> None:
        if download_id in self.marks:
            self.marks.discard(download_id)
        elif download_id in self.rows:
            self.marks.add(download_id)
        self.changes.dirty.add(download_id)

    def mark_all_shown(self) -> None:
        """Mark every row shown; if all of them already are, clear the marks instead."""
        shown = self.shown()
        if self.marks.issuperset(shown):
            self.changes.dirty |= self.marks
            self.marks.clear()
        else:
            self.marks.update(shown)
            self.changes.dirty.update(shown)

    def targets(self, selected: int | None) -> list[int]:
        """What an action applies to: the marked rows in queue order, else the selected."""
        if self.marks:
            marks = self.marks
            return [i for i in self._in_queue_order() if i in marks]
        return [selected] if selected is not None and selected in self.rows else []

    def _compute_shown(self) -> list[int]:
        """Filter, then sort, over row objects in queue order (no per-row lookups or
        property calls: this runs over 100,000 rows per keystroke)."""
        text = self.filter_text.casefold()
        show = self.show
        sort = self.sort
        if not text and show is Show.ALL and sort is Sort.QUEUE:
            return list(self._in_queue_order())
        in_order = map(self.rows.__getitem__, self._in_queue_order())
        narrowed = self._narrowed
        if text and narrowed is not None and text.startswith(narrowed[0]):
            matching = [r for r in narrowed[1] if text in r.haystack]  # typing on
        elif text:
            matching = [r for r in in_order if text in r.haystack]
        else:
            matching = None
        self._narrowed = (text, matching) if matching is not None else None
        rows = in_order if matching is None else matching
        if show is Show.ALL:
            chosen = list(rows)  # sorted below: the kept list stays in queue order
        else:
            admitted = _ADMITTED[show]
            chosen = [r for r in rows if r.state in admitted]
        if sort is Sort.NAME:
            chosen.sort(key=attrgetter("sort_name"))
        elif sort is Sort.SIZE:
            chosen.sort(key=attrgetter("size_key"))
        elif sort is Sort.PROGRESS:
            chosen.sort(key=attrgetter("progress_key"))
        elif sort is Sort.SPEED:
            chosen.sort(key=attrgetter("speed_key"))
        elif sort is Sort.STATE:
            chosen.sort(key=attrgetter("state_key"))
        return [r.id for r in chosen]

    def _in_queue_order(self) -> tuple[int, ...]:
        """Every id in queue order (kept until the order changes)."""
        if self._queue_ids is None:
            self._queue_ids = tuple(self.order.ids())
        return self._queue_ids

    def waiting(self, snap: DownloadSnapshot, now: float | None = None) -> str | None:
        """Why a queued or retrying download waits (see `engine.waiting`)."""
        return waiting_reason(
            snap,
            self.hosts.get(snap.host),
            self.limits,
            len(self._running),
            time.time() if now is None else now,
        )

    def listed(self) -> Listed:
        """Every download's URL and folder (what `config.already_listed` reads), without
        a snapshot of each."""
        return frozenset((row.url, row.directory) for row in self.rows.values())

    def similar_names(self, name: str) -> tuple[str, ...]:
        """The names `name` must stay distinguishable from when shortened (see
        `elide.SimilarNames`)."""
        return self._names.of(name)


def display_name(snap: DownloadSnapshot) -> str:
    """The file name, or the last part of the URL until the name is known."""
    return snap.name or _url_tail(snap.shown_url)


def _url_tail(url: str) -> str:
    """The last part of a URL's path (the whole URL if that is empty)."""
    tail = url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    return tail or url
