"""A subscriber's bounded event queue: coalescing, or lossless with back-pressure."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable
from itertools import count

from afetch_tui.engine.events import Event, HostUpdate, Progress, Resync


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
        self, maxsize: int, on_close: Callable[[Subscription], None], *, lossless: bool = False
    ) -> None:
        """``lossless`` (``--json``, a contract for scripts): no event is coalesced or
        dropped; a producer of many events at once (queueing thousands of URLs) waits for
        `room` instead, so memory stays bounded by back-pressure."""
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
