"""A subscriber's bounded event queue: coalescing, or lossless with back-pressure."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Iterator
from itertools import count

from afetch_tui.engine.events import Event, HostUpdate, Progress, Resync, State, StateChanged


class Subscription:
    """``async for event in subscription`` yields the manager's events in order.

    The newest ``Progress`` for a download replaces an unread older one (likewise
    ``HostUpdate`` per host), so a slow reader costs memory bounded by the number of
    downloads. Other events are never coalesced; if more than ``maxsize`` of them pile up
    unread, they are dropped and the reader gets one ``Resync`` telling it to re-read the
    manager's snapshots. Either way the engine never buffers without bound.

    A ``lossless`` subscription (``afetch get``, whose ``--json`` is a contract for
    scripts) coalesces and drops nothing; whoever queues in bulk awaits `room` between
    batches, so it is bounded by back-pressure instead.
    """

    def __init__(
        self,
        maxsize: int,
        on_close: Callable[[Subscription], None],
        *,
        lossless: bool = False,
        kinds: Collection[type[Event]] | None = None,
        states: Collection[State] | None = None,
    ) -> None:
        """``lossless`` (``--json``, a contract for scripts): no event is coalesced or
        dropped; a producer of many events at once (queueing thousands of URLs) waits for
        `room` instead, so memory stays bounded by back-pressure. ``kinds``: only events
        of these classes are wanted (None: all); ``states``: of the `StateChanged` events,
        only those into these states (None: all); see `Subscribers`."""
        self.kinds = None if kinds is None else frozenset(kinds)
        self.states = None if states is None else frozenset(states)
        self._maxsize = maxsize
        self._pending: OrderedDict[Hashable, Event] = OrderedDict()
        self._sequence = count()
        self._wakeup = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._closed = False
        self._on_close = on_close
        self.lossless = lossless

    def push(self, event: Event) -> None:
        if self._closed:
            return
        key: Hashable
        if self.lossless:  # every event, in order; the producer of a burst waits for room
            self._pending[next(self._sequence)] = event
            if len(self._pending) >= self._maxsize:
                self._room.clear()
            self._wakeup.set()
            return
        if isinstance(event, Progress):
            key = ("progress", event.id)
        elif isinstance(event, HostUpdate):
            key = ("host", event.host.host)
        else:
            key = next(self._sequence)
        if key in self._pending:
            self._pending[key] = event
        elif len(self._pending) >= self._maxsize:
            self._pending.clear()
            self._pending["resync"] = Resync()
        else:
            self._pending[key] = event
        self._wakeup.set()

    def drain(self) -> list[Event]:
        """Every unread event, without waiting."""
        events = list(self._pending.values())
        self._pending.clear()
        self._wakeup.clear()
        self._room.set()
        return events

    async def room(self) -> None:
        """Return once fewer than ``maxsize`` events wait unread (or the reader is gone)."""
        while not self._room.is_set() and not self._closed:
            await self._room.wait()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._on_close(self)
            self._wakeup.set()
            self._room.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        while not self._pending:
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        event = self._pending.popitem(last=False)[1]
        if len(self._pending) < self._maxsize:
            self._room.set()
        return event

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Subscribers:
    """A manager's subscriptions, and which kinds of event any of them wants.

    An event is built only if `wants` (or, for a state change, `wants_state`) says
    someone will read it: ``afetch get`` without ``--json`` reads hook results, store
    problems and the state changes it prints a line for (finished, paused, retrying), and
    the snapshots, log lines, progress and other state changes of 1000 small files are
    then never made. `push` hands an event to each subscription that wants it.
    """

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._wanted: frozenset[type[Event]] = frozenset()
        self._all = False
        self._states: frozenset[State] = frozenset()
        self._all_states = False

    def add(self, sub: Subscription) -> None:
        self._subs.append(sub)
        self._update()

    def remove(self, sub: Subscription) -> None:
        self._subs.remove(sub)
        self._update()

    def _update(self) -> None:
        self._all = any(sub.kinds is None for sub in self._subs)
        self._wanted = frozenset().union(*(sub.kinds or () for sub in self._subs))
        readers = [sub for sub in self._subs if sub.kinds is None or StateChanged in sub.kinds]
        self._all_states = any(sub.states is None for sub in readers)
        self._states = frozenset().union(*(sub.states or () for sub in readers))

    def wants(self, kind: type[Event]) -> bool:
        """Whether some subscription reads events of class ``kind``."""
        return self._all or kind in self._wanted

    def wants_state(self, state: State) -> bool:
        """Whether some subscription reads a `StateChanged` into ``state``."""
        return self._all_states or state in self._states

    def push(self, event: Event) -> None:
        kind = type(event)
        state = event.state if isinstance(event, StateChanged) else None
        for sub in self._subs:
            if sub.kinds is not None and kind not in sub.kinds:
                continue
            if state is not None and sub.states is not None and state not in sub.states:
                continue
            sub.push(event)

    def __iter__(self) -> Iterator[Subscription]:
        return iter(list(self._subs))

    def __len__(self) -> int:
        return len(self._subs)
