"""The download manager: the commands, what there is to read, and the wiring between.

Every command a UI or script can give is a public coroutine here; everything there is to
show is in ``downloads()``, ``hosts()`` and the event stream from ``subscribe()``. The work
is done by the parts wired up in ``__init__``: the `Scheduler` (queue order and per-host
counts), the `Runner` (running each download and what follows an attempt), the
`Announcer` (events, and what the journal records), `LimitSettings`, `Claims` (file names)
and the `Tally` behind ``summary()``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from afetch_tui.engine import file_ops
from afetch_tui.engine.announcer import Announcer
from afetch_tui.engine.client import Client
from afetch_tui.engine.disk_threads import DiskThreads
from afetch_tui.engine.display import unmask_password
from afetch_tui.engine.download import Download, from_spec
from afetch_tui.engine.errors import InputError
from afetch_tui.engine.events import (
    Added,
    DownloadSnapshot,
    Event,
    HandedOff,
    HostSnapshot,
    HostUpdate,
    Limits,
    QueueSummary,
    Removed,
    Reordered,
    State,
    StoreProblem,
)
from afetch_tui.engine.held_names import HeldNames
from afetch_tui.engine.hooks import CompletionHooks
from afetch_tui.engine.journal import Journal
from afetch_tui.engine.limit_settings import LimitSettings, check_rate
from afetch_tui.engine.link_match import MAX_PAGE_BYTES
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.records import Record
from afetch_tui.engine.restore import restore_queue
from afetch_tui.engine.runner import Runner
from afetch_tui.engine.scheduler import Scheduler
from afetch_tui.engine.spec import Defaults, DownloadSpec, check_directory
from afetch_tui.engine.store import Store
from afetch_tui.engine.subscription import Subscription
from afetch_tui.engine.tally import Tally
from afetch_tui.engine.urls import validate_url

if TYPE_CHECKING:
    from afetch_tui.engine.links import Link


class DownloadManager:
    """Runs downloads on the current event loop. Use ``async with`` or start()/close()."""

    owner: str | None = None
    """Downloads run in this process (`engine.api.Manager`: a remote manager names its owner)."""

    def __init__(
        self,
        directory: Path | str = ".",
        *,
        limits: Limits | None = None,
        options: ManagerOptions | None = None,
        store: Store | None = None,
        restore_only: Callable[[Record], bool] | None = None,
        limit_changes: Mapping[str, Any] | None = None,
    ) -> None:
        """``limits=None`` takes the limits saved in ``store`` (else the defaults), with
        ``limit_changes`` (`Limits` fields: ``-j`` ...) over them before anything starts.

        With ``restore_only``, only the stored downloads it accepts are taken up (queued
        again even if failed; the others stay stored, untouched): how ``afetch get``
        resumes what an earlier run of the same URLs left."""
        self.directory = check_directory(directory)
        self.options = options or ManagerOptions()
        self.store = store
        self._journal = Journal(store, self._store_problem) if store else None
        self._restore_only = restore_only
        self._downloads: dict[int, Download] = {}
        self._scheduler = Scheduler(limits or Limits(), self._downloads)
        self._settings = LimitSettings(
            self._scheduler, given=limits is not None, changes=limit_changes
        )
        self._tally = Tally()
        self._next_id = 1
        self._client = Client(self.options, self._settings.host)
        self._disk = DiskThreads()
        """The threads for file work (started by start, shut by close)."""
        self._names = HeldNames(self.options, self._disk)
        self._idle = asyncio.Event()
        self._idle.set()
        self._events = Announcer(self._downloads, self._tally, self._journal, self._update_idle)
        self._hooks = CompletionHooks(
            self.options.on_complete,
            self.options.on_complete_timeout,
            log=self._events.log,
            finished=self._events.hook_finished,
        )
        self._runner = Runner(
            self.options,
            self._downloads,
            client=self._client,
            scheduler=self._scheduler,
            settings=self._settings,
            tally=self._tally,
            events=self._events,
            names=self._names,
            hooks=self._hooks,
            disk=self._disk,
            idle=self._update_idle,
        )

    # -- lifetime -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._client.started:
            return
        file_ops.raise_open_file_limit()
        self._disk.start()
        await self._client.start()
        if self.store is not None:
            first_free = await restore_queue(
                self.store, self._settings, self._names, self._admit, self._restore_only
            )
            self._next_id = max(self._next_id, first_free)
            self._restore_only = None  # it holds a key per URL asked for: no longer needed
            self._update_idle()
        self._events.start_ticker(
            self.options.progress_interval, self._tally.running, self._settings, self._runner
        )
        self._runner.schedule()

    async def close(self) -> None:
        """Stop every transfer (their ``.part`` files stay) and release the network."""
        await self._runner.close()
        try:
            await self._hooks.close()
            if self._journal:
                await self._journal.close()  # may fail (a full disk): the rest still closes
        finally:
            await self._events.stop_ticker()
            await self._client.close()
            await self._disk.close()  # every transfer has ended above
            self._events.close()

    async def __aenter__(self) -> DownloadManager:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait(self) -> None:
        """Return once no download is queued, running or waiting to retry."""
        while not self._is_idle():
            await self._idle.wait()
            await asyncio.sleep(0)

    # -- reading --------------------------------------------------------------------------

    @property
    def limits(self) -> Limits:
        return self._settings.limits

    def downloads(self) -> list[DownloadSnapshot]:
        return [self._downloads[i].snapshot() for i in self._scheduler.ids()]

    def download(self, download_id: int) -> DownloadSnapshot:
        return self._get(download_id).snapshot()

    def running(self) -> list[DownloadSnapshot]:
        """The downloads started and not yet finished, in queue order."""
        return [d.snapshot() for d in sorted(self._tally.running.values(), key=lambda d: d.rank)]

    def summary(self) -> QueueSummary:
        """Counts and bytes by state, without a snapshot of every download."""
        return self._tally.summary()

    def downloads_in(self, *states: State) -> list[DownloadSnapshot]:
        """The downloads in these states, in queue order (a snapshot of those only)."""
        wanted = frozenset(states)
        downloads = self._downloads
        ids = self._scheduler.ids()
        return [downloads[i].snapshot() for i in ids if downloads[i].state in wanted]

    def hosts(self) -> list[HostSnapshot]:
        now, limits = time.monotonic(), self._settings.limits
        return [host.snapshot(now, limits) for host in self._settings.hosts.values()]

    @property
    def speed(self) -> float:
        """Bytes a second now, all hosts together: their Now added up (one meter, so the
        total always agrees with the hosts)."""
        return sum(host.speed_now for host in self._settings.hosts.values())

    def subscribe(
        self,
        maxsize: int = 10_000,
        *,
        lossless: bool = False,
        kinds: Collection[type[Event]] | None = None,
        states: Collection[State] | None = None,
    ) -> Subscription:
        """Events from now on; ``lossless``: every one, in order (see `Subscription`);
        ``kinds``: only events of these classes, ``states``: only state changes into these
        (the others are then not even built)."""
        return self._events.subscribe(maxsize, lossless=lossless, kinds=kinds, states=states)

    async def room(self) -> None:
        """Wait until every lossless subscriber has room for more events: what a caller
        queueing thousands of URLs awaits between batches, so none of them is dropped."""
        await self._events.room()

    # -- commands -------------------------------------------------------------------------

    async def add(
        self,
        url: str,
        *,
        directory: Path | str | None = None,
        name: str | None = None,
        headers: Mapping[str, str] | None = None,
        paused: bool = False,
        limit_rate: float | None = None,
        connections: int | None = None,
        checksum: tuple[str, str] | None = None,
    ) -> int:
        """Queue one URL; ``checksum`` is (algorithm, hex) the finished file must match."""
        spec = DownloadSpec(
            (url,),
            directory=directory,
            name=name,
            headers=headers,
            paused=paused,
            limit_rate=limit_rate,
            connections=connections,
            checksum=checksum,
        )
        (download_id,) = await self.add_many(spec)
        return download_id

    async def add_many(self, spec: DownloadSpec) -> list[int]:
        """Queue every URL of ``spec`` (checked when it was made), in order."""
        target = spec.directory or self.directory
        try:
            await asyncio.to_thread(target.mkdir, parents=True, exist_ok=True)
        except OSError as exc:  # e.g. a dangling link on the way: nothing is queued
            raise InputError(f"cannot create directory {target}: {exc.strerror or exc}") from None
        after = self._scheduler.next_rank() - 1.0
        downloads = from_spec(spec, self._next_id, after, target, self.options.connections)
        self._next_id += len(downloads)
        for d in downloads:
            self._admit(d, not spec.paused)
            if self._events.wants(Added):
                self._events.emit(Added(d.snapshot()))
            self._events.persist(d)
        if self._journal:
            await self._journal.save_now()
        self._update_idle()
        self._runner.schedule()
        return [d.id for d in downloads]

    def handed_off(self, ids: Iterable[int], source: str) -> None:
        """Tell subscribers (once) that ``source`` queued ``ids`` from another program."""
        self._events.emit(HandedOff(tuple(ids), source))

    async def pause(self, download_id: int) -> None:
        await self._runner.pause(self._get(download_id))

    async def resume(self, download_id: int) -> None:
        self._runner.resume(self._get(download_id))

    async def retry(self, download_id: int) -> None:
        """Start a failed or cancelled download again (from the bytes on disk, if any).

        After a checksum mismatch the bytes on disk are not trusted: it starts from zero.
        """
        await self._runner.retry(self._get(download_id))

    async def cancel(self, download_id: int) -> None:
        """Stop a download and delete its partial file; completed downloads are kept."""
        await self._runner.cancel(self._get(download_id))

    async def remove(self, download_id: int, *, delete_file: bool = False) -> None:
        """Forget a download; with ``delete_file`` also delete what it wrote to disk."""
        d = self._get(download_id)
        await self._runner.discard(d, delete_file=delete_file)
        self._scheduler.forget(d)
        self._tally.count(d, -1)
        del self._downloads[d.id]
        if self._journal:
            self._journal.deleted(d.id)
        self._events.emit(Removed(d.id))
        self._update_idle()

    async def move(self, download_id: int, offset: int) -> None:
        """Move a download ``offset`` places in the queue (negative is towards the front)."""
        moved = self._get(download_id)
        changed = self._scheduler.move(moved, offset)  # whose rank changed for it, if any
        if changed is None:
            return
        for d in changed:
            self._events.persist(d)
        self._events.emit(Reordered(moved.id, self._scheduler.position(moved)))
        self._runner.schedule()

    async def pause_all(self) -> None:
        for d in list(self._downloads.values()):
            if not d.state.is_finished and d.state is not State.PAUSED:
                await self.pause(d.id)

    async def resume_all(self) -> None:
        for d in list(self._downloads.values()):
            self._runner.resume(d)

    async def clear_finished(self) -> list[int]:
        """Forget completed and cancelled downloads (their files stay)."""
        finished = (State.COMPLETED, State.CANCELLED)
        done = [i for i in self._scheduler.ids() if self._downloads[i].state in finished]
        for download_id in done:
            await self.remove(download_id)
        return done

    async def replace_url(self, download_id: int, url: str) -> None:
        """Point a download at a new URL, keeping its progress.

        The next attempt revalidates with If-Range (or the overlap check), so bytes from
        the old URL are kept only if the new one serves the same entity. A password shown
        masked (``bob:***@``, as every front end shows it) keeps the one the download has.
        """
        d = self._get(download_id)
        await self._runner.repoint(d, validate_url(unmask_password(url, d.url)))

    async def set_limits(self, limits: Limits) -> Limits:
        """Apply new manager-wide limits (a `Limits` checks itself when it is made)."""
        self._settings.apply(limits)
        self._events.limits_changed(limits, self._settings.hosts.values())
        self._runner.schedule()
        await self._save_settings()
        return limits

    @property
    def defaults(self) -> Defaults:
        """The folder, connections, retries and timeout that downloads get from now on."""
        return Defaults.of(self.options, self.directory)

    async def set_defaults(self, defaults: Defaults) -> Defaults:
        """Apply new `Defaults` (checked when made): new downloads go to its folder with its
        connections; every attempt from now on has its retries and timeout (one running
        keeps the timeout it started with). For this run only: the command line's ``-d``,
        ``-x``, ``--retries`` and ``--timeout`` say what a start begins with."""
        self.options = defaults.applied_to(self.options)
        self._client.options = self.options  # its page reads and probes: the new timeout
        self._runner.options = self.options
        self.directory = defaults.directory
        return defaults

    async def set_host_limit(self, host: str, rate: float | None) -> None:
        """Give one host its own bandwidth cap (``None``: unlimited for that host)."""
        entry = self._settings.set_host(host, rate)
        self._events.emit(HostUpdate(entry.snapshot(time.monotonic(), self._settings.limits)))
        await self._save_settings()

    async def set_download_limit(self, download_id: int, rate: float | None) -> None:
        check_rate(rate, "a download's")
        d = self._get(download_id)
        d.bucket.rate = rate
        self._events.changed(d)

    # -- pages and sizes ------------------------------------------------------------------

    async def harvest(
        self,
        page_url: str,
        *,
        match: str | None = None,
        same_host: bool | None = None,
        max_bytes: int = MAX_PAGE_BYTES,
        headers: Mapping[str, str] | None = None,
    ) -> list[Link]:
        """The links on an HTML page that pass the filters, in page order (maybe none).

        ``match`` is a glob on the file name or URL, or ``re:REGEX``; ``same_host`` True
        keeps links on the page's host, False the others. Raises `PageError` (an
        `InputError`) when the page cannot be used: unreachable, an error status, not
        HTML, or larger than ``max_bytes``. Nothing is queued: pass the chosen links'
        ``url`` to `add_many`.
        """
        return await self._client.harvest(
            page_url, match=match, same_host=same_host, max_bytes=max_bytes, headers=headers
        )

    async def probe_sizes(
        self, urls: Iterable[str], *, headers: Mapping[str, str] | None = None
    ) -> dict[str, int | None]:
        """Each URL's size (None when unknown): `Client.probe_sizes` under the limits."""
        return await self._client.probe_sizes(urls, limits=self._settings.limits, headers=headers)

    def set_on_complete(self, command: tuple[str, ...] | None, time_limit: float = 60.0) -> None:
        """Change the command run for each file completed from now on (None: no command).

        Check a user's text with `hooks.parse_command` first.
        """
        self._hooks.configure(command, time_limit)

    @property
    def on_complete(self) -> tuple[tuple[str, ...] | None, float]:
        """The command run for each completed file, and its timeout in seconds."""
        return self._hooks.argv, self._hooks.timeout

    @property
    def hook_failures(self) -> frozenset[int]:
        """Ids of completed downloads whose ``on_complete`` command failed."""
        return frozenset(self._hooks.failed)

    # -- internals: state -----------------------------------------------------------------

    def _get(self, download_id: int) -> Download:
        try:
            return self._downloads[download_id]
        except KeyError:
            raise InputError(f"no download with id {download_id}") from None

    def _admit(self, d: Download, waiting: bool) -> None:
        """Take ``d`` into the queue (counted; on the waiting list if ``waiting``)."""
        self._downloads[d.id] = d
        self._tally.count(d, 1)
        self._scheduler.add(d, self._settings.host(d.host), waiting=waiting)

    async def _save_settings(self) -> None:
        if self.store:
            await self.store.save_settings(self._settings.saved())

    def _store_problem(self, message: str) -> None:
        self._events.emit(StoreProblem(message))

    def _is_idle(self) -> bool:
        return not self._tally.running and not self._scheduler.waiting and not self._hooks.running

    def _update_idle(self) -> None:
        (self._idle.set if self._is_idle() else self._idle.clear)()
