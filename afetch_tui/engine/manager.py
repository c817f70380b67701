"""The download manager: queue, scheduler, limits, retries, host stats and events.

Every command a UI or script can give is a public coroutine here; everything there is to
show is in ``downloads()``, ``hosts()`` and the event stream from ``subscribe()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, replace
from pathlib import Path

from afetch_tui.engine import file_ops
from afetch_tui.engine import harvest as harvesting
from afetch_tui.engine import retry as retry_rules
from afetch_tui.engine.claims import Claims
from afetch_tui.engine.client import Client
from afetch_tui.engine.disk_threads import DiskThreads
from afetch_tui.engine.display import unmask_password
from afetch_tui.engine.download import Download
from afetch_tui.engine.errors import DownloadError, InputError
from afetch_tui.engine.events import (
    Added,
    DownloadSnapshot,
    Event,
    HandedOff,
    HookFinished,
    HostSnapshot,
    HostUpdate,
    Limits,
    LimitsChanged,
    LogEntry,
    Logged,
    Progress,
    QueueSummary,
    Removed,
    Reordered,
    State,
    StateChanged,
    StoreProblem,
    Updated,
)
from afetch_tui.engine.held_names import HeldNames
from afetch_tui.engine.hooks import CompletionHooks, HookResult
from afetch_tui.engine.hosts import Host
from afetch_tui.engine.journal import Journal, from_record
from afetch_tui.engine.limits import MIN_RATE, TokenBucket
from afetch_tui.engine.meter import RateMeter
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.records import Record
from afetch_tui.engine.scheduler import HostSlots, Scheduler
from afetch_tui.engine.spec import Defaults, DownloadSpec, check_directory
from afetch_tui.engine.store import Store
from afetch_tui.engine.subscription import Subscription
from afetch_tui.engine.transfer import Transfer
from afetch_tui.engine.transfer_context import TransferContext
from afetch_tui.engine.urls import host_of, validate_url
from afetch_tui.engine.verifier import Verifier

_DEFAULT_LIMITS = Limits()
_RESTORED_AS_QUEUED = frozenset(
    {State.QUEUED, State.CONNECTING, State.DOWNLOADING, State.VERIFYING}
)
"""States a stored download comes back from as queued, with no error: a step between two of
them leaves its stored row as it is (for 1000 small files, 3000 rows fewer to write)."""


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
    ) -> None:
        """``limits=None`` takes the limits saved in ``store``, else the defaults.

        With ``restore_only``, only the stored downloads it accepts are taken up (queued
        again even if they had failed), and the others stay in the store untouched: this
        is how ``afetch get`` resumes what an earlier run of the same URLs left.
        """
        self.directory = check_directory(directory)
        self.options = options or ManagerOptions()
        self._limits = limits or _DEFAULT_LIMITS
        self._limits_given = limits is not None
        self.store = store
        self._journal = Journal(store, self._store_problem) if store else None
        self._restore_only = restore_only
        self._disk = DiskThreads()
        """The threads for file work (started by start, shut by close)."""
        self._names = HeldNames(self.options, self._disk)
        self._downloads: dict[int, Download] = {}
        self._scheduler = Scheduler(self._limits, self._downloads)
        self._running: dict[int, Download] = {}
        self._counts: dict[State, int] = dict.fromkeys(State, 0)
        self._bytes: dict[State, int] = dict.fromkeys(State, 0)
        """``done`` summed by state over the downloads not running (running ones are
        summed live)."""
        self._hosts: dict[str, Host] = self._scheduler.hosts
        self._host_overrides: dict[str, float | None] = {}
        self._subscribers: list[Subscription] = []
        self._global_bucket = TokenBucket(self._limits.rate)
        self._meter = RateMeter(time.monotonic())
        self._next_id = 1
        self._client = Client(self.options, self._host)
        self._ticker: asyncio.Task[None] | None = None
        self._wake_handle: asyncio.TimerHandle | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._events = _Events(self)
        self._verifier = Verifier(self._events)
        self._claims = Claims(self._names, self.options, self._events, self._verifier)
        self._hooks = CompletionHooks(
            self.options.on_complete,
            self.options.on_complete_timeout,
            log=self._log,
            finished=self._hook_finished,
        )

    # -- lifetime -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._client.started:
            return
        file_ops.raise_open_file_limit()
        self._disk.start()
        await self._client.start()
        if self.store is not None:
            await self._restore(self.store)
        self._ticker = asyncio.create_task(self._tick_forever(), name="afetch-ticker")
        self._schedule()

    async def close(self) -> None:
        """Stop every transfer (their ``.part`` files stay) and release the network."""
        self._closing = True
        if self._wake_handle:
            self._wake_handle.cancel()
        tasks = [d.task for d in self._running.values() if d.task]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self._hooks.close()
            if self._journal:
                await self._journal.close()  # may fail (a full disk): the rest still closes
        finally:
            if self._ticker:
                self._ticker.cancel()
                await asyncio.gather(self._ticker, return_exceptions=True)
            await self._client.close()
            await self._disk.close()  # every transfer has ended above
            for sub in list(self._subscribers):
                sub.close()

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
        return self._limits

    def downloads(self) -> list[DownloadSnapshot]:
        return [self._downloads[i].snapshot() for i in self._scheduler.ids()]

    def download(self, download_id: int) -> DownloadSnapshot:
        return self._get(download_id).snapshot()

    def running(self) -> list[DownloadSnapshot]:
        """The downloads started and not yet finished, in queue order."""
        return [d.snapshot() for d in sorted(self._running.values(), key=lambda d: d.rank)]

    def summary(self) -> QueueSummary:
        """Counts and bytes by state, without a snapshot of every download."""
        done = sum(self._bytes.values()) + sum(d.done for d in self._running.values())
        return QueueSummary(dict(self._counts), done, self._bytes[State.COMPLETED])

    def downloads_in(self, *states: State) -> list[DownloadSnapshot]:
        """The downloads in these states, in queue order (a snapshot of those only)."""
        wanted = frozenset(states)
        downloads = self._downloads
        ids = self._scheduler.ids()
        return [downloads[i].snapshot() for i in ids if downloads[i].state in wanted]

    def hosts(self) -> list[HostSnapshot]:
        now = time.monotonic()
        return [host.snapshot(now, self._limits) for host in self._hosts.values()]

    @property
    def speed(self) -> float:
        return self._meter.now

    def subscribe(self, maxsize: int = 10_000, *, lossless: bool = False) -> Subscription:
        """Events from now on; ``lossless``: every one, in order (see `Subscription`)."""
        sub = Subscription(maxsize, self._subscribers.remove, lossless=lossless)
        self._subscribers.append(sub)
        return sub

    async def room(self) -> None:
        """Wait until every lossless subscriber has room for more events: what a caller
        queueing thousands of URLs awaits between batches, so none of them is dropped."""
        for sub in list(self._subscribers):
            if sub.lossless:
                await sub.room()

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
        ids = []
        last_rank = self._scheduler.next_rank() - 1.0
        for offset, (url, host) in enumerate(zip(spec.urls, spec.hosts, strict=True), start=1):
            d = Download(
                id=self._next_id,
                url=url,
                host=host,
                directory=target,
                requested_name=spec.name,
                headers=dict(spec.headers),
                state=State.PAUSED if spec.paused else State.QUEUED,
                rank=last_rank + offset,
                max_connections=spec.connections or self.options.connections,
                checksum=spec.checksum,
            )
            if spec.limit_rate is not None:
                d.bucket.rate = spec.limit_rate
            self._next_id += 1
            self._downloads[d.id] = d
            self._tally(d, 1)
            self._scheduler.add(d, self._host(d.host), waiting=not spec.paused)
            ids.append(d.id)
            self._emit(Added(d.snapshot()))
            self._persist(d)
        if self._journal:
            await self._journal.save_now()
        self._update_idle()
        self._schedule()
        return ids

    def handed_off(self, ids: Iterable[int], source: str) -> None:
        """Tell subscribers (once) that ``source`` queued ``ids`` from another program."""
        self._emit(HandedOff(tuple(ids), source))

    async def pause(self, download_id: int) -> None:
        d = self._get(download_id)
        if d.state.is_finished or d.state is State.PAUSED:
            return
        await self._stop(d)
        if d.state.is_finished:  # it was publishing and got to the end
            return
        self._set_state(d, State.PAUSED)
        self._log(d, "paused")

    async def resume(self, download_id: int) -> None:
        d = self._get(download_id)
        if d.state is State.PAUSED:
            self._requeue(d)

    async def retry(self, download_id: int) -> None:
        """Start a failed or cancelled download again (from the bytes on disk, if any).

        After a checksum mismatch the bytes on disk are not trusted: it starts from zero.
        """
        d = self._get(download_id)
        if d.state in (State.FAILED, State.CANCELLED):
            d.retries = 0
            d.error = None
            if d.state is State.CANCELLED:
                d.name = None  # it holds no name (see cancel): it claims one again
            self._requeue(d)

    async def cancel(self, download_id: int) -> None:
        """Stop a download and delete its partial file; completed downloads are kept."""
        d = self._get(download_id)
        if d.state in (State.COMPLETED, State.CANCELLED):
            return
        await self._stop(d)
        if _completed(d):  # it was publishing and got to the end
            return
        await self._delete_part(d)
        self._names.release(d)  # nothing on disk holds it now: another download may take it
        self._set_state(d, State.CANCELLED)
        self._log(d, "cancelled; partial file deleted")

    async def remove(self, download_id: int, *, delete_file: bool = False) -> None:
        """Forget a download; with ``delete_file`` also delete what it wrote to disk."""
        d = self._get(download_id)
        await self._stop(d)
        if d.state is not State.CANCELLED and (delete_file or not d.state.is_finished):
            await self._delete_part(d)  # a cancelled one's went with its name
        if delete_file and d.state is State.COMPLETED and d.final_path:
            await asyncio.to_thread(file_ops.unlink, d.final_path)
        self._set_state(d, State.CANCELLED, quiet=True)
        self._names.release(d)
        self._scheduler.forget(d)
        self._tally(d, -1)
        del self._downloads[d.id]
        if self._journal:
            self._journal.deleted(d.id)
        self._emit(Removed(d.id))
        self._update_idle()

    async def move(self, download_id: int, offset: int) -> None:
        """Move a download ``offset`` places in the queue (negative is towards the front)."""
        d = self._get(download_id)
        self._moved(d, self._scheduler.move(d, offset))

    def _moved(self, moved: Download, changed: list[Download] | None) -> None:
        """``moved`` went elsewhere in the queue; ``changed``: whose rank changed for it."""
        if changed is None:
            return
        for d in changed:
            self._persist(d)
        self._emit(Reordered(moved.id, self._scheduler.position(moved)))
        self._schedule()

    async def pause_all(self) -> None:
        for d in list(self._downloads.values()):
            if not d.state.is_finished and d.state is not State.PAUSED:
                await self.pause(d.id)

    async def resume_all(self) -> None:
        for d in list(self._downloads.values()):
            if d.state is State.PAUSED:
                self._requeue(d)

    async def clear_finished(self) -> list[int]:
        """Forget completed and cancelled downloads (their files stay)."""
        done = [
            i
            for i in self._scheduler.ids()
            if self._downloads[i].state in (State.COMPLETED, State.CANCELLED)
        ]
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
        new_url = validate_url(unmask_password(url, d.url))
        running = d.state.is_running
        if running:
            await self._stop(d)
        self._scheduler.move_host(d, self._host(host_of(new_url)), time.monotonic())
        d.url = new_url
        self._log(d, f"URL replaced with {new_url}")
        self._changed(d)
        if running:
            self._requeue(d)

    async def set_limits(self, limits: Limits) -> Limits:
        """Apply new manager-wide limits (a `Limits` checks itself when it is made)."""
        self._limits = self._scheduler.limits = limits
        self._global_bucket.rate = limits.rate
        for host in self._hosts.values():
            host.apply_limits(limits)
        self._scheduler.hosts_changed()
        self._emit(LimitsChanged(limits))
        self._schedule()
        await self._save_settings()
        return limits

    @property
    def defaults(self) -> Defaults:
        """The folder, connections, retries and timeout that downloads get from now on."""
        options = self.options
        return Defaults(options.retries, options.timeout, options.connections, self.directory)

    async def set_defaults(self, defaults: Defaults) -> Defaults:
        """Apply new `Defaults` (checked when made): new downloads go to its folder with its
        connections; every attempt from now on has its retries and timeout (one running
        keeps the timeout it started with). For this run only: the command line's ``-d``,
        ``-x``, ``--retries`` and ``--timeout`` say what a start begins with."""
        self.options = replace(
            self.options,
            retries=defaults.retries,
            timeout=defaults.timeout,
            connections=defaults.connections,
        )
        self._client.options = self.options  # its page reads and probes: the new timeout
        self._claims.options = self.options
        self.directory = defaults.directory
        return defaults

    async def set_host_limit(self, host: str, rate: float | None) -> None:
        """Give one host its own bandwidth cap (``None``: unlimited for that host)."""
        if rate is not None and not MIN_RATE <= rate < math.inf:
            raise InputError("a host's rate limit must be at least 1 B/s (and finite)")
        self._host_overrides[host] = rate
        entry = self._host(host)
        entry.apply_limits(self._limits)
        self._emit(HostUpdate(entry.snapshot(time.monotonic(), self._limits)))
        await self._save_settings()

    async def set_download_limit(self, download_id: int, rate: float | None) -> None:
        if rate is not None and not MIN_RATE <= rate < math.inf:
            raise InputError("a download's rate limit must be at least 1 B/s (and finite)")
        d = self._get(download_id)
        d.bucket.rate = rate
        self._changed(d)

    # -- pages and sizes ------------------------------------------------------------------

    async def harvest(
        self,
        page_url: str,
        *,
        match: str | None = None,
        same_host: bool | None = None,
        max_bytes: int = harvesting.MAX_PAGE_BYTES,
        headers: Mapping[str, str] | None = None,
    ) -> list[harvesting.Link]:
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
        """Each URL's size (None when unknown), from HEAD requests made concurrently.

        At most the host's connection cap of requests go to one host at a time, paced by
        its request rate limit.
        """
        return await self._client.probe_sizes(urls, limits=self._limits, headers=headers)

    def set_on_complete(self, command: tuple[str, ...] | None, time_limit: float = 60.0) -> None:
        """Change the command run for each file completed from now on (None: no command).

        Check a user's text with `hooks.parse_command` first.
        """
        if time_limit <= 0:
            raise InputError("the on-complete timeout must be positive")
        self._hooks.argv = tuple(command) if command else None
        self._hooks.timeout = time_limit

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

    def _host(self, name: str) -> Host:
        host = self._hosts.get(name)
        fresh = host is None
        if host is None:
            host = self._hosts[name] = Host(name, time.monotonic())
        if name in self._host_overrides:
            host.has_override = True
            host.limit_override = self._host_overrides[name]
        if fresh:
            host.apply_limits(self._limits)
        return host

    def _changed(self, d: Download) -> None:
        self._emit(Updated(d.snapshot()))
        self._persist(d)

    def _persist(self, d: Download) -> None:
        if self._journal and d.id in self._downloads:
            self._journal.changed(d)

    async def _save_settings(self) -> None:
        if self.store:
            await self.store.save_settings(
                {"limits": asdict(self._limits), "host_limits": self._host_overrides}
            )

    async def _restore(self, store: Store) -> None:
        """Bring back the stored queue: history as it was, paused stay paused, the rest queued."""
        records, settings = await store.load()
        if not self._limits_given and "limits" in settings:
            with contextlib.suppress(TypeError, InputError):
                self._limits = Limits(**settings["limits"])
                self._scheduler.limits = self._limits
                self._global_bucket.rate = self._limits.rate
        self._host_overrides.update(settings.get("host_limits", {}))
        for record in records:
            self._next_id = max(self._next_id, record.id + 1)
            if self._restore_only is not None:
                if not self._restore_only(record):
                    continue
                record.state, record.error, record.retries = State.QUEUED.value, None, 0
            d = from_record(record)
            self._downloads[d.id] = d
            host = self._host(d.host)
            host.completed += d.state is State.COMPLETED  # the panel's Done/Fail survive a restart
            host.failed += d.state is State.FAILED
            self._tally(d, 1)
            self._scheduler.add(d, host, waiting=d.state is State.QUEUED)
            if not d.state.is_finished or d.state is State.FAILED:  # a failed one keeps its .part
                self._names.hold(d)
        self._restore_only = None  # what it holds (a key per URL asked for) is no longer needed
        self._update_idle()

    def _store_problem(self, message: str) -> None:
        self._emit(StoreProblem(message))

    def _emit(self, event: Event) -> None:
        for sub in self._subscribers:
            sub.push(event)

    def _log(self, d: Download, message: str) -> None:
        entry = LogEntry(time.time(), message)
        d.add_log(entry)
        if d.id in self._downloads:
            self._emit(Logged(d.id, entry))

    def _set_state(
        self, d: Download, state: State, error: str | None = None, *, quiet: bool = False
    ) -> None:
        old = d.state
        if old == state and error == d.error:
            return
        self._counts[old] -= 1
        self._counts[state] += 1
        if d.id not in self._running:
            self._bytes[old] -= d.done
            self._bytes[state] += d.done
        d.state = state
        d.error = error
        if state.is_finished:
            d.finished_at = time.time()
        if not quiet:
            retry_at = d.retry_at if state is State.RETRYING else None
            self._emit(
                StateChanged(
                    d.id, state, error, d.retries, d.done, d.finished_at, retry_at, d.checksum_ok
                )
            )
            if not (old in _RESTORED_AS_QUEUED and state in _RESTORED_AS_QUEUED and error is None):
                self._persist(d)
        self._update_idle()

    def _tally(self, d: Download, sign: int) -> None:
        """Count a download in (``sign`` 1) or out (-1) of the summary."""
        self._counts[d.state] += sign
        if d.id not in self._running:
            self._bytes[d.state] += sign * d.done

    def _is_idle(self) -> bool:
        return not self._running and not self._scheduler.waiting and not self._hooks.running

    def _update_idle(self) -> None:
        if self._is_idle():
            self._idle.set()
        else:
            self._idle.clear()

    def _requeue(self, d: Download, *, not_before: float = 0.0, retrying: bool = False) -> None:
        now = time.monotonic()
        self._scheduler.enqueue(d, not_before=not_before, now=now)
        d.retry_at = time.time() + (not_before - now) if not_before > now else None
        self._set_state(
            d, State.RETRYING if retrying else State.QUEUED, d.error if retrying else None
        )
        self._schedule()

    async def _stop(self, d: Download) -> None:
        """Stop whatever the download is doing and take it off the waiting list."""
        task = d.task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if d.id in self._running:
            self._finish_run(d, self._host(d.host))
            self._schedule()
        self._scheduler.dequeue(d)

    async def _delete_part(self, d: Download) -> None:
        if d.part_path:
            await asyncio.to_thread(file_ops.unlink, d.part_path)
        if d.id not in self._running:
            self._bytes[d.state] -= d.done
        d.done = d.checkpoint = d.synced = 0
        d.restart = True

    # -- internals: scheduling ------------------------------------------------------------

    def _schedule(self) -> None:
        """Start waiting downloads, in queue order, as far as the limits allow."""
        if self._closing or not self._client.started:
            return
        started, wake_at = self._scheduler.take(time.monotonic())
        for download_id in started:
            d = self._downloads[download_id]
            self._start(d, self._hosts[d.host])
        if wake_at is not None:
            self._wake_at(wake_at)

    def _wake_at(self, when: float) -> None:
        """Run the scheduler again at ``when`` (monotonic), unless an earlier wake is set."""
        now = time.monotonic()
        handle = self._wake_handle
        if handle and not handle.cancelled() and now < handle.when() <= when:
            return
        if handle:
            handle.cancel()
        self._wake_handle = asyncio.get_running_loop().call_at(when, self._schedule)

    def _start(self, d: Download, host: Host) -> None:
        """Run a download the scheduler has just counted as running on ``host``."""
        self._running[d.id] = d
        self._bytes[d.state] -= d.done
        d.meter.restart(time.monotonic())
        d.task = asyncio.create_task(self._run(d, host), name=f"afetch-download-{d.id}")

    async def _run(self, d: Download, host: Host) -> None:
        context = TransferContext(
            client=self._client,
            options=self.options,
            host=host,
            buckets=(self._global_bucket, host.bucket, d.bucket),
            proxy=self._client.proxy_for(d.url, d.host),
            events=self._events,
            names=self._claims,
            verifier=self._verifier,
            slots=HostSlots(self._scheduler, d, host, self._schedule),
            disk=self._disk.pool,
        )
        outcome: DownloadError | None = None
        try:
            if not await self._claims.published_before(d):
                await self._verifier.prepare(d)
                self._set_state(d, State.CONNECTING)  # no longer queued, even while paced
                await Transfer(d, context).run()
        except DownloadError as exc:
            outcome = exc
        except asyncio.CancelledError:
            self._finish_run(d, host)
            raise
        except Exception as exc:  # a bug must fail one download, not the manager
            outcome = DownloadError(f"internal error: {type(exc).__name__}: {exc}")
        self._finish_run(d, host)
        if outcome is None:
            self._succeeded(d, host)
        else:
            self._failed(d, host, outcome)
        self._schedule()

    def _finish_run(self, d: Download, host: Host) -> None:
        """Give back what `_start` took; safe to call twice (a task cancelled before it
        ran never reaches its own cleanup, so `_stop` calls this too)."""
        if self._running.pop(d.id, None) is None:
            return
        self._bytes[d.state] += d.done
        self._scheduler.finished(d)
        d.task = None
        self._emit_progress(d)
        d.settle()

    def _succeeded(self, d: Download, host: Host) -> None:
        now = time.monotonic()
        if self._scheduler.ceiling is not None:  # descriptors came back: grow again
            self._scheduler.ceiling += 1
            if self._scheduler.ceiling >= self._limits.max_concurrent:
                self._scheduler.ceiling = None
        host.completed += 1
        host.succeeded(now, self._limits)
        # Its name stays held (until it is removed): no later download may replace it.
        self._log(d, f"completed: {d.final_path}")
        self._changed(d)  # the final name and checksum result, before "completed"
        self._hooks.schedule(d, done=self._update_idle)  # --on-complete, in the background
        self._set_state(d, State.COMPLETED)

    def _hook_finished(self, d: Download, result: HookResult) -> None:
        if d.id not in self._downloads:  # removed while its hook ran
            return
        self._emit(HookFinished(d.id, result.ok, result.exit_code, result.message))
        self._persist(d)

    def _failed(self, d: Download, host: Host, error: DownloadError) -> None:
        now = time.monotonic()
        attempt = retry_rules.Attempt(d.retries, d.backoff_step)
        if error.restart:
            d.restart = True
        hold = retry_rules.host_hold(error, attempt, self._retry_policy)
        if hold is not None:
            host.pushback(hold, now, self._limits, error.message.removesuffix(f" from {d.host}"))
            self._log(d, f"{d.host} pushed back: holding it for {hold:.1f} s")
        match retry_rules.decide(error, attempt, self._retry_policy):
            case retry_rules.Pause(message):
                self._log(d, f"paused: {message}")
                self._set_state(d, State.PAUSED, message)
            case retry_rules.Fail(message):
                host.failed += 1
                host.note(f"{d.name or d.url.rsplit('/', 1)[-1]} failed: {message}")
                self._log(d, f"failed: {message}")
                self._set_state(d, State.FAILED, message)
            case retry_rules.Retry(delay, spend):
                d.backoff_step += 1
                if spend:
                    d.retries += 1
                    host.retries += 1
                    self._log(
                        d,
                        f"{error.message}; retry {d.retries}/{self.options.retries}"
                        f" in {delay:.1f} s",
                    )
                else:
                    self._fewer_at_once(d, error)
                d.error = error.message
                self._requeue(d, not_before=now + delay, retrying=True)

    @property
    def _retry_policy(self) -> retry_rules.Policy:
        options = self.options
        return retry_rules.Policy(
            options.retries, options.retry_base, options.retry_cap, options.max_retry_after
        )

    def _fewer_at_once(self, d: Download, error: DownloadError) -> None:
        """Out of file descriptors: run no more at once than are running now (the retry
        does not spend ``d``'s retries: the machine ran short, not it).

        Meanwhile connections close after each answer (no idle pooled sockets); each
        success lets one more run at once, until the limit is back where it was.
        """
        ceiling = max(1, self._scheduler.active)
        if self._scheduler.ceiling is None or ceiling < self._scheduler.ceiling:
            self._scheduler.ceiling = ceiling
            self._log(d, f"{error.message} (at most {ceiling} at once for now)")

    # -- internals: the ticker ------------------------------------------------------------

    async def _tick_forever(self) -> None:
        interval = self.options.progress_interval
        while True:
            await asyncio.sleep(interval)
            self._tick()

    def _tick(self) -> None:
        now = time.monotonic()
        self._meter.total = sum(host.meter.total for host in self._hosts.values())
        self._meter.tick(now)
        for d in self._running.values():
            d.meter.tick(now)
            self._emit_progress(d)
        recovered = False
        for host in self._hosts.values():
            host.meter.tick(now)
            recovered = host.recover(now, self._limits) or recovered
            if self._subscribers and host.update_due(now):
                self._emit(HostUpdate(host.snapshot(now, self._limits)))
        if recovered:
            self._schedule()

    def _emit_progress(self, d: Download) -> None:
        if not self._subscribers:
            return
        running = d.state.is_running
        self._emit(
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


class _Events:
    """The manager's `DownloadEvents`, for its transfers and verifier."""

    def __init__(self, manager: DownloadManager) -> None:
        self._manager = manager

    def set_state(self, d: Download, state: State) -> None:
        self._manager._set_state(d, state)

    def changed(self, d: Download) -> None:
        self._manager._changed(d)

    def log(self, d: Download, message: str) -> None:
        self._manager._log(d, message)

    def checkpointed(self, d: Download) -> None:
        self._manager._persist(d)


def _completed(d: Download) -> bool:
    """Whether ``d`` is completed now (a check after an await, which mypy cannot see
    may have changed the state)."""
    return d.state is State.COMPLETED
