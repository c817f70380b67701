"""The manager's events: built from its downloads, handed to every subscriber, journalled.

This is the manager's `DownloadEvents`: a state change, a changed download or a log line
is announced to the subscribers and, where it changes what is stored, recorded in the
journal. The ticker's progress and host updates are built here too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Protocol

from afetch_tui.engine.download import Download
from afetch_tui.engine.events import (
    Event,
    HookFinished,
    HostUpdate,
    Limits,
    LimitsChanged,
    LogEntry,
    Logged,
    Progress,
    State,
    StateChanged,
    Updated,
)
from afetch_tui.engine.hooks import HookResult
from afetch_tui.engine.hosts import Host
from afetch_tui.engine.journal import Journal
from afetch_tui.engine.limit_settings import LimitSettings
from afetch_tui.engine.subscription import Subscribers, Subscription
from afetch_tui.engine.tally import Tally

_RESTORED_AS_QUEUED = frozenset(
    {State.QUEUED, State.CONNECTING, State.DOWNLOADING, State.VERIFYING}
)
"""States a stored download comes back from as queued, with no error: a step between two of
them leaves its stored row as it is (for 1000 small files, 3000 rows fewer to write)."""


class Schedules(Protocol):
    """What starts waiting downloads when the limits allow (the manager's `Runner`)."""

    def schedule(self) -> None: ...


class Announcer:
    """Tells subscribers what happens to the manager's downloads, and the journal what to save."""

    def __init__(
        self,
        downloads: Mapping[int, Download],
        tally: Tally,
        journal: Journal | None,
        idle: Callable[[], None],
    ) -> None:
        """``idle`` is called after every state change (the manager's idle flag)."""
        self.subscribers = Subscribers()
        """Who listens, and to what: an event nobody wants is not built (`Subscribers`)."""
        self._ticker: asyncio.Task[None] | None = None
        self._downloads = downloads
        self._tally = tally
        self._journal = journal
        self._idle = idle

    def subscribe(
        self,
        maxsize: int,
        *,
        lossless: bool,
        kinds: Collection[type[Event]] | None = None,
        states: Collection[State] | None = None,
    ) -> Subscription:
        sub = Subscription(
            maxsize, self.subscribers.remove, lossless=lossless, kinds=kinds, states=states
        )
        self.subscribers.add(sub)
        return sub

    def wants(self, kind: type[Event]) -> bool:
        """Whether an event of class ``kind`` has a reader (else do not build it)."""
        return self.subscribers.wants(kind)

    async def room(self) -> None:
        """Wait until every lossless subscriber has room for more events."""
        for sub in list(self.subscribers):
            if sub.lossless:
                await sub.room()

    def close(self) -> None:
        """End every subscription (each reader gets what is pending, then the end)."""
        for sub in list(self.subscribers):
            sub.close()

    def emit(self, event: Event) -> None:
        self.subscribers.push(event)

    def limits_changed(self, limits: Limits, hosts: Iterable[Host]) -> None:
        """New limits, and every host's snapshot: each cap may change, an idle host's too
        (the ticker sends only hosts with something new; an idle one read ``0/4`` on)."""
        self.emit(LimitsChanged(limits))
        if self.subscribers.wants(HostUpdate):
            now = time.monotonic()
            for host in hosts:
                self.emit(HostUpdate(host.snapshot(now, limits)))

    def persist(self, d: Download) -> None:
        """Record ``d`` in the journal (if it is still one of the manager's)."""
        if self._journal and d.id in self._downloads:
            self._journal.changed(d)

    def checkpointed(self, d: Download) -> None:
        self.persist(d)

    def changed(self, d: Download) -> None:
        if self.subscribers.wants(Updated):
            self.emit(Updated(d.snapshot()))
        self.persist(d)

    def log(self, d: Download, message: str) -> None:
        entry = LogEntry(time.time(), message)
        d.add_log(entry)
        if d.id in self._downloads and self.subscribers.wants(Logged):
            self.emit(Logged(d.id, entry))

    def set_state(
        self, d: Download, state: State, error: str | None = None, *, quiet: bool = False
    ) -> None:
        """Count, announce and save ``d``'s new state; ``quiet``: count it only."""
        old = d.state
        if old == state and error == d.error:
            return
        self._tally.moved(d, old, state)
        d.state = state
        d.error = error
        if state.is_finished:
            d.finished_at = time.time()
        if not quiet:
            if self.subscribers.wants_state(state):
                retry_at = d.retry_at if state is State.RETRYING else None
                self.emit(
                    StateChanged(
                        d.id,
                        state,
                        error,
                        d.retries,
                        d.done,
                        d.finished_at,
                        retry_at,
                        d.checksum_ok,
                    )
                )
            if not (old in _RESTORED_AS_QUEUED and state in _RESTORED_AS_QUEUED and error is None):
                self.persist(d)
        self._idle()

    def hook_finished(self, d: Download, result: HookResult) -> None:
        if d.id not in self._downloads:  # removed while its hook ran
            return
        self.emit(HookFinished(d.id, result.ok, result.exit_code, result.message))
        self.persist(d)

    def progress(self, d: Download) -> None:
        if not self.subscribers.wants(Progress):
            return
        running = d.state.is_running
        self.emit(
            Progress(
                d.id,
                d.done,
                d.total,
                d.meter.smoothed if running else 0.0,
                d.meter.now if running else 0.0,
                d.eta() if running else None,
                d.connections,
                d.region_infos(),
            )
        )

    def tick(
        self,
        running: Iterable[Download],
        hosts: Collection[Host],
        limits: Limits,
    ) -> bool:
        """Move the rate meters on, announce progress and due host updates; True if a
        host came back from a pushback (the scheduler may start more)."""
        now = time.monotonic()
        for d in running:
            d.meter.tick(now)
            self.progress(d)
        recovered = False
        for host in hosts:
            host.meter.tick(now)
            recovered = host.recover(now, limits) or recovered
            if self.subscribers.wants(HostUpdate) and host.update_due(now):
                self.emit(HostUpdate(host.snapshot(now, limits)))
        return recovered

    def start_ticker(
        self,
        interval: float,
        running: Mapping[int, Download],
        settings: LimitSettings,
        scheduler: Schedules,
    ) -> None:
        """`tick` every ``interval`` seconds, until `stop_ticker`; when a host came back
        from a pushback, ``scheduler`` may start more."""

        async def tick_forever() -> None:
            while True:
                await asyncio.sleep(interval)
                if self.tick(running.values(), settings.hosts.values(), settings.limits):
                    scheduler.schedule()

        self._ticker = asyncio.create_task(tick_forever(), name="afetch-ticker")

    async def stop_ticker(self) -> None:
        if self._ticker:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
