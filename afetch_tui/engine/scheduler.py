"""The queue: its order, the waiting list, and per host what is queued, running and connected.

One `Scheduler` owns all of it; nothing else writes ``Download.rank`` or a host's ``queued``,
``running_downloads``, ``reserved_connections`` or ``open_connections`` counts.

Choosing what to start costs O(log n) per start, however long the queue is and however
many of its downloads wait for a busy host:

- each host has its own heap of waiting downloads, ordered by rank (queue order);
- the hosts that may start something now sit in one heap keyed by their first waiting
  download, so the next download to start is the top of that heap; a host at its
  connection cap or in a cooldown leaves it ("parks") until a slot comes back, the
  limits change, its lowered cap grows back (`Host.cap_raised`) or its cooldown ends
  (a timer heap);
- a retry that must wait (``not_before``) sits in a timer heap, not in its host's heap.

Heaps are cleaned lazily: an entry whose download left the queue or changed rank is
dropped when it comes to the top, and a heap holding more stale entries than live ones is
rebuilt. ``work`` counts heap steps, so a test can check that the cost per download stays
flat.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial

from sortedcontainers import SortedList

from afetch_tui.engine.download import Download
from afetch_tui.engine.events import Limits
from afetch_tui.engine.hosts import Host

_Key = tuple[float, int]
"""(rank, download id): the queue order; the id breaks ties."""

_SLACK = 64
"""Stale heap entries tolerated beyond the live ones before a heap is rebuilt."""


class _Waiting:
    """One queued download: where it waits and from when it may start."""

    __slots__ = ("host", "not_before", "rank", "ready")

    def __init__(self, host: str, rank: float, not_before: float, ready: bool) -> None:
        self.host = host
        self.rank = rank
        self.not_before = not_before
        self.ready = ready
        """False while it waits for ``not_before`` (in the timer heap, not its host's heap)."""


class Scheduler:
    """Queue order, waiting list and per-host counts; see the module docstring."""

    def __init__(self, limits: Limits, downloads: Mapping[int, Download]) -> None:
        self.limits = limits
        self._downloads = downloads
        self.hosts: dict[str, Host] = {}
        self.work = 0
        """Heap steps taken so far (for complexity tests)."""
        self._holding: set[int] = set()
        """Started downloads that hold a slot (count against ``max_concurrent``)."""
        self.ceiling: int | None = None
        """Fewer than ``max_concurrent`` at once while the machine runs short (file
        descriptors); the manager lowers and raises it."""
        self._finishing: set[int] = set()
        """Started downloads whose bytes are all in, saving or verifying without a slot."""
        self._order: SortedList[_Key] = SortedList()
        self._waiting: dict[int, _Waiting] = {}
        self._queues: dict[str, list[_Key]] = {}
        self._ready: list[tuple[float, int, str]] = []
        self._heads: dict[str, _Key | None] = {}
        self._parked: set[str] = set()
        self._delayed: list[tuple[float, int]] = []
        self._cooling: list[tuple[float, str]] = []

    # -- the order ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._order)

    def ids(self) -> Iterator[int]:
        """Every download's id, first in the queue first."""
        return (download_id for _, download_id in self._order)

    def add(self, d: Download, host: Host, *, waiting: bool) -> None:
        """Put a download at its rank in the order (and in the waiting list if ``waiting``)."""
        self._know(host)
        d.host = host.name  # one string per host, not one per download
        key = (d.rank, d.id)  # one tuple for the order and the host's heap (56 bytes each)
        self._order.add(key)
        if waiting:
            self.enqueue(d, key=key)

    def forget(self, d: Download) -> None:
        """Take a download out of the order and the waiting list."""
        self.dequeue(d)
        self._order.discard((d.rank, d.id))

    def position(self, d: Download) -> int:
        """A download's 0-based place in the order."""
        return self._order.index((d.rank, d.id))

    def next_rank(self) -> float:
        """A rank after every download in the order."""
        return self._order[-1][0] + 1.0 if self._order else 1.0

    def move(self, d: Download, offset: int) -> list[Download] | None:
        """Move ``offset`` places (negative: towards the front); None if it did not move.

        Returns the downloads whose rank changed (usually just ``d``; all of them in the
        rare case that two neighbours' ranks leave no room between them).
        """
        index = self._order.index((d.rank, d.id))
        target = max(0, min(len(self._order) - 1, index + offset))
        if target == index:
            return None
        return self._place(d, target)

    def move_to(self, d: Download, *, top: bool) -> list[Download] | None:
        """Move to the front (``top``) or the back of the queue; None if already there."""
        return self.move(d, -len(self._order) if top else len(self._order))

    def _place(self, d: Download, target: int) -> list[Download]:
        self._order.remove((d.rank, d.id))
        before = self._order[target - 1][0] if target > 0 else None
        after = self._order[target][0] if target < len(self._order) else None
        if before is None:
            rank = after - 1.0 if after is not None else 1.0
        elif after is None:
            rank = before + 1.0
        else:
            rank = (before + after) / 2
        if before is not None and after is not None and not before < rank < after:
            self._order.add((d.rank, d.id))
            return self._renumber(d, target)
        self._set_rank(d, rank)
        return [d]

    def _renumber(self, moved: Download, target: int) -> list[Download]:
        """Give every download a fresh whole rank, with ``moved`` at ``target``."""
        ids = [i for i in self.ids() if i != moved.id]
        ids.insert(target, moved.id)
        downloads = [self._downloads[i] for i in ids]
        for rank, d in enumerate(downloads, start=1):
            self._set_rank(d, float(rank))
        return downloads

    def _set_rank(self, d: Download, rank: float) -> None:
        self._order.discard((d.rank, d.id))
        d.rank = rank
        self._order.add((rank, d.id))
        entry = self._waiting.get(d.id)
        if entry is None:
            return
        entry.rank = rank
        if entry.ready:
            self._push(entry.host, (rank, d.id))

    # -- the waiting list -----------------------------------------------------------------

    @property
    def waiting(self) -> int:
        """How many downloads are queued (including retries waiting for their time)."""
        return len(self._waiting)

    def enqueue(
        self, d: Download, *, not_before: float = 0.0, now: float = 0.0, key: _Key | None = None
    ) -> None:
        """Queue a download; it may start from ``not_before`` (monotonic) on. ``key``: its
        (rank, id) if the caller has that tuple already."""
        if d.id in self._waiting:
            self.dequeue(d)
        host = self.hosts[d.host]
        host.queued += 1
        ready = not_before <= now
        self._waiting[d.id] = _Waiting(d.host, d.rank, not_before, ready)
        if ready:
            self._push(d.host, key or (d.rank, d.id))
        else:
            heapq.heappush(self._delayed, (not_before, d.id))
            self._compact_delayed()

    def dequeue(self, d: Download) -> bool:
        """Take a download off the waiting list; False if it was not on it."""
        entry = self._waiting.pop(d.id, None)
        if entry is None:
            return False
        self.hosts[entry.host].queued -= 1
        if entry.ready and self._heads.get(entry.host) == (entry.rank, d.id):
            self._refresh(entry.host)
        return True

    @property
    def active(self) -> int:
        """Started downloads holding a slot."""
        return len(self._holding)

    def take(self, now: float) -> tuple[list[int], float | None]:
        """The downloads to start now, in queue order, as far as the limits allow.

        Each one is counted as running (and no longer queued) on its host at once. Also
        returns when something that cannot start now may start (monotonic), if ever.
        """
        free = self._most() - len(self._holding)
        if free <= 0 or not self._waiting:
            return [], None
        self._release_due(now)
        started: list[int] = []
        ready = self._ready
        while free > 0 and ready:
            self.work += 1
            rank, download_id, name = ready[0]
            if self._heads.get(name) != (rank, download_id):
                heapq.heappop(ready)
                continue
            host = self.hosts[name]
            if host.cooling(now) or host.reserved_connections >= host.cap(self.limits):
                heapq.heappop(ready)
                self._park(host, now)
                continue
            heapq.heappop(ready)
            del self._waiting[download_id]
            host.queued -= 1
            host.running_downloads += 1
            host.reserved_connections += 1
            self._holding.add(download_id)
            started.append(download_id)
            free -= 1
            self._refresh(name)
        wake = min(
            self._delayed[0][0] if self._delayed else float("inf"),
            self._cooling[0][0] if self._cooling else float("inf"),
        )
        return started, wake if wake != float("inf") else None

    # -- slots and connections ------------------------------------------------------------

    def finished(self, d: Download) -> None:
        """A started download stopped: its slot is free again (if `network_done` kept it)."""
        self._finishing.discard(d.id)
        self._release(d)

    def network_done(self, d: Download) -> bool:
        """``d`` has every byte and only saves or verifies them now: its slot may go to the
        next download. Only as many may finish this way as may run at once, so that a slow
        disk holds the queue back instead of piling bodies up in memory."""
        if d.id not in self._holding or len(self._finishing) >= self._most():
            return False
        self._finishing.add(d.id)
        self._release(d)
        return True

    def _most(self) -> int:
        """How many may run (and, apart, finish) at once now."""
        if self.ceiling is None:
            return self.limits.max_concurrent
        return min(self.limits.max_concurrent, self.ceiling)

    def _release(self, d: Download) -> None:
        if d.id not in self._holding:
            return
        self._holding.discard(d.id)
        host = self.hosts[d.host]
        host.running_downloads -= 1
        host.reserved_connections -= 1
        self._unpark(host.name)

    def take_extra(self, host: Host) -> bool:
        """An extra connection for a split download: only if no queued download wants it."""
        if host.reserved_connections < host.cap(self.limits) and not host.queued:
            host.reserved_connections += 1
            return True
        return False

    def give_extra(self, host: Host) -> None:
        host.reserved_connections -= 1
        self._unpark(host.name)

    def hosts_changed(self, hosts: Iterable[Host] | None = None) -> None:
        """Caps or cooldowns may have changed: look at these hosts (default: all) again."""
        names = list(self._parked) if hosts is None else [host.name for host in hosts]
        for name in names:
            self._unpark(name)

    def move_host(self, d: Download, host: Host, now: float) -> None:
        """The download's URL now points at ``host``; it keeps its place in the queue."""
        self._know(host)
        entry = self._waiting.get(d.id)
        if entry is not None:
            self.dequeue(d)
        d.host = host.name
        if entry is not None:
            self.enqueue(d, not_before=entry.not_before, now=now)

    def _know(self, host: Host) -> None:
        """Count ``host``'s downloads here, and hear when its lowered cap grows back (after
        a success, or with time): parked at the old cap, it would wait for one of its own
        downloads to give a slot back ('waiting: starting' beside 1 running at cap 2)."""
        self.hosts.setdefault(host.name, host)
        host.cap_raised = partial(self._unpark, host.name)

    # -- heaps ----------------------------------------------------------------------------

    def _push(self, name: str, key: _Key) -> None:
        queue = self._queues.setdefault(name, [])
        heapq.heappush(queue, key)
        self.work += 1
        if len(queue) > 2 * self.hosts[name].queued + _SLACK:
            self._compact(name)
        self._refresh(name)

    def _live(self, name: str, key: _Key) -> bool:
        entry = self._waiting.get(key[1])
        return entry is not None and entry.ready and entry.host == name and entry.rank == key[0]

    def _refresh(self, name: str) -> None:
        """Drop stale entries off the host's heap and announce its first download."""
        queue = self._queues.get(name, [])
        while queue and not self._live(name, queue[0]):
            heapq.heappop(queue)
            self.work += 1
        head = queue[0] if queue else None
        if name in self._parked:
            return
        if head != self._heads.get(name):
            self._heads[name] = head
            if head is not None:
                heapq.heappush(self._ready, (head[0], head[1], name))
                self.work += 1
                if len(self._ready) > 2 * len(self.hosts) + _SLACK:
                    self._compact_ready()

    def _park(self, host: Host, now: float) -> None:
        self._parked.add(host.name)
        self._heads[host.name] = None
        if host.cooling(now):
            heapq.heappush(self._cooling, (host.cooldown_until, host.name))

    def _unpark(self, name: str) -> None:
        if name in self._parked:
            self._parked.discard(name)
            self._refresh(name)

    def _release_due(self, now: float) -> None:
        while self._cooling and self._cooling[0][0] <= now:
            _, name = heapq.heappop(self._cooling)
            self.work += 1
            self._unpark(name)
        while self._delayed and self._delayed[0][0] <= now:
            not_before, download_id = heapq.heappop(self._delayed)
            self.work += 1
            entry = self._waiting.get(download_id)
            if entry is not None and not entry.ready and entry.not_before == not_before:
                entry.ready = True
                self._push(entry.host, (entry.rank, download_id))

    def _compact(self, name: str) -> None:
        queue = self._queues[name]
        queue[:] = {key for key in queue if self._live(name, key)}  # a set: no duplicates
        heapq.heapify(queue)
        self.work += len(queue)

    def _compact_ready(self) -> None:
        ready = self._ready
        ready[:] = [entry for entry in ready if self._heads.get(entry[2]) == entry[:2]]
        heapq.heapify(ready)

    def _compact_delayed(self) -> None:
        if len(self._delayed) <= 2 * len(self._waiting) + _SLACK:
            return
        delayed = [
            item
            for item in self._delayed
            if (entry := self._waiting.get(item[1])) is not None
            and not entry.ready
            and entry.not_before == item[0]
        ]
        heapq.heapify(delayed)
        self._delayed[:] = delayed


class HostSlots:
    """What a transfer may do with its host's counts: extra connections, open connections."""

    __slots__ = ("_download", "_host", "_open", "_scheduler", "_wake")

    def __init__(
        self, scheduler: Scheduler, download: Download, host: Host, wake: Callable[[], None]
    ) -> None:
        self._scheduler = scheduler
        self._download = download
        self._host = host
        self._wake = wake
        self._open = 0
        """Connections of this attempt counted open on the host."""

    @property
    def short_of_descriptors(self) -> bool:
        """While true, connections are closed after each answer: idle pooled sockets would
        hold the file descriptors the running downloads need."""
        return self._scheduler.ceiling is not None

    def network_done(self) -> None:
        """Every byte is in: let the next download have this one's slot while it saves.

        Its connection is no longer counted either: the body has been read to its end, so
        the socket is back in the pool, though the request's bracket closes only after
        the save (an fsync can take seconds). Counted until then, the host showed more
        connections than its cap (``4/3``) while the next download ran in the slot."""
        d = self._download
        self._host.open_connections -= self._open
        d.connections -= self._open
        self._open = 0
        if self._scheduler.network_done(d):
            self._wake()

    def take_extra(self) -> bool:
        """Reserve one more connection to this host, if the limits leave one free."""
        return self._scheduler.take_extra(self._host)

    def give_extra(self) -> None:
        self._scheduler.give_extra(self._host)
        self._wake()

    def opened(self, d: Download) -> None:
        """``d`` opened a connection to this host (count it until `closed`)."""
        self._open += 1
        self._host.open_connections += 1
        d.connections += 1

    def closed(self, d: Download) -> None:
        if not self._open:  # `network_done` stopped counting it already
            return
        self._open -= 1
        self._host.open_connections -= 1
        d.connections -= 1
