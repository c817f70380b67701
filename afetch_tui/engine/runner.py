"""Running downloads: start what the scheduler lets run, run each attempt, decide what next.

Stopping one is here too (pause, cancel, a new URL): a task cancelled mid-publish may
complete instead, and whatever it held is given back exactly once. An attempt ends in
success (completed, its ``--on-complete`` command started), or in a `DownloadError` that
`retry.decide` turns into a retry after a backoff, a pause, or a failure; a host that
pushed back is held meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from afetch_tui.engine import retry as retry_rules
from afetch_tui.engine.announcer import Announcer
from afetch_tui.engine.claims import Claims
from afetch_tui.engine.client import Client
from afetch_tui.engine.disk_threads import DiskThreads
from afetch_tui.engine.download import Download
from afetch_tui.engine.errors import DownloadError
from afetch_tui.engine.events import State
from afetch_tui.engine.held_names import HeldNames
from afetch_tui.engine.hooks import CompletionHooks
from afetch_tui.engine.hosts import Host
from afetch_tui.engine.limit_settings import LimitSettings
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.scheduler import HostSlots, Scheduler
from afetch_tui.engine.tally import Tally
from afetch_tui.engine.transfer import Transfer
from afetch_tui.engine.transfer_context import TransferContext
from afetch_tui.engine.urls import host_of
from afetch_tui.engine.verifier import Verifier


class Runner:
    """Starts, runs, stops and settles the manager's downloads (one task each)."""

    def __init__(
        self,
        options: ManagerOptions,
        downloads: Mapping[int, Download],
        *,
        client: Client,
        scheduler: Scheduler,
        settings: LimitSettings,
        tally: Tally,
        events: Announcer,
        names: HeldNames,
        hooks: CompletionHooks,
        disk: DiskThreads,
        idle: Callable[[], None],
    ) -> None:
        """``idle`` is called when a completion command ends (the manager's idle flag)."""
        self._verifier = Verifier(events)
        self.claims = Claims(names, options, events, self._verifier)
        """The file names downloads claim, publish and delete."""
        self.options = options
        self.closing = False
        """Set once the manager closes: nothing starts any more."""
        self._downloads = downloads
        self._client = client
        self._scheduler = scheduler
        self._settings = settings
        self._tally = tally
        self._events = events
        self._hooks = hooks
        self._disk = disk
        self._idle = idle
        self._wake_handle: asyncio.TimerHandle | None = None

    @property
    def options(self) -> ManagerOptions:
        """What attempts start with (the manager replaces it when its defaults change)."""
        return self._options

    @options.setter
    def options(self, options: ManagerOptions) -> None:
        self._options = self.claims.options = options

    async def close(self) -> None:
        """Start nothing more, and stop every download running (their ``.part`` stay)."""
        self.closing = True
        if self._wake_handle:
            self._wake_handle.cancel()
        tasks = [d.task for d in self._tally.running.values() if d.task]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- starting -------------------------------------------------------------------------

    def schedule(self) -> None:
        """Start waiting downloads, in queue order, as far as the limits allow."""
        if self.closing or not self._client.started:
            return
        started, wake_at = self._scheduler.take(time.monotonic())
        for download_id in started:
            d = self._downloads[download_id]
            self._start(d, self._settings.hosts[d.host])
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
        self._wake_handle = asyncio.get_running_loop().call_at(when, self.schedule)

    def requeue(self, d: Download, *, not_before: float = 0.0, retrying: bool = False) -> None:
        """Put ``d`` back on the waiting list (to start no sooner than ``not_before``)."""
        now = time.monotonic()
        self._scheduler.enqueue(d, not_before=not_before, now=now)
        d.retry_at = time.time() + (not_before - now) if not_before > now else None
        self._events.set_state(
            d, State.RETRYING if retrying else State.QUEUED, d.error if retrying else None
        )
        self.schedule()

    async def stop(self, d: Download) -> None:
        """Stop whatever the download is doing and take it off the waiting list."""
        task = d.task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if d.id in self._tally.running:
            self._finish(d)
            self.schedule()
        self._scheduler.dequeue(d)

    async def pause(self, d: Download) -> None:
        if d.state.is_finished or d.state is State.PAUSED:
            return
        await self.stop(d)
        if d.state.is_finished:  # it was publishing and got to the end
            return
        self._events.set_state(d, State.PAUSED)
        self._events.log(d, "paused")

    def resume(self, d: Download) -> None:
        if d.state is State.PAUSED:
            self.requeue(d)

    async def retry(self, d: Download) -> None:
        """Queue a failed or cancelled ``d`` again, with its retries back to none."""
        if d.state in (State.FAILED, State.CANCELLED):
            d.retries = 0
            d.error = None
            if d.state is State.CANCELLED:
                d.name = None  # it holds no name (see cancel): it claims one again
            self.requeue(d)

    async def cancel(self, d: Download) -> None:
        """Stop ``d`` and delete its ``.part``, unless it is (or just got) completed."""
        if d.state in (State.COMPLETED, State.CANCELLED):
            return
        await self.stop(d)
        if _completed(d):  # it was publishing and got to the end
            return
        await self.delete_part(d)
        self.claims.held.release(d)  # nothing on disk holds it now: another may take it
        self._events.set_state(d, State.CANCELLED)
        self._events.log(d, "cancelled; partial file deleted")

    async def discard(self, d: Download, *, delete_file: bool) -> None:
        """Stop ``d`` for good (it is being removed): its ``.part`` goes unless it
        finished, its published file only with ``delete_file``, and its name is free."""
        await self.stop(d)
        if d.state is not State.CANCELLED and (delete_file or not d.state.is_finished):
            await self.delete_part(d)  # a cancelled one's went with its name
        if delete_file and d.state is State.COMPLETED:
            await self.claims.delete_file(d)
        self._events.set_state(d, State.CANCELLED, quiet=True)
        self.claims.held.release(d)

    async def repoint(self, d: Download, url: str) -> None:
        """Point ``d`` at ``url`` (checked), keeping its progress; a running one restarts."""
        running = d.state.is_running
        if running:
            await self.stop(d)
        self._scheduler.move_host(d, self._settings.host(host_of(url)), time.monotonic())
        d.url = url
        self._events.log(d, f"URL replaced with {url}")
        self._events.changed(d)
        if running:
            self.requeue(d)

    async def delete_part(self, d: Download) -> None:
        """Delete ``d``'s ``.part``: it has no bytes any more, and starts from zero."""
        await self.claims.delete_part(d)
        self._tally.emptied(d)
        d.done = d.checkpoint = d.synced = 0
        d.restart = True

    def _start(self, d: Download, host: Host) -> None:
        """Run a download the scheduler has just counted as running on ``host``."""
        self._tally.started(d)
        d.meter.restart(time.monotonic())
        d.task = asyncio.create_task(self._run(d, host), name=f"afetch-download-{d.id}")

    # -- one attempt ----------------------------------------------------------------------

    async def _run(self, d: Download, host: Host) -> None:
        context = TransferContext(
            client=self._client,
            options=self.options,
            host=host,
            buckets=(self._settings.bucket, host.bucket, d.bucket),
            proxy=self._client.proxy_for(d.url, d.host),
            events=self._events,
            names=self.claims,
            verifier=self._verifier,
            slots=HostSlots(self._scheduler, d, host, self.schedule),
            disk=self._disk.pool,
        )
        outcome: DownloadError | None = None
        try:
            if not await self.claims.published_before(d):
                await self._verifier.prepare(d)
                self._events.set_state(d, State.CONNECTING)  # no longer queued, even paced
                await Transfer(d, context).run()
        except DownloadError as exc:
            outcome = exc
        except asyncio.CancelledError:
            self._finish(d)
            raise
        except Exception as exc:  # a bug must fail one download, not the manager
            outcome = DownloadError(f"internal error: {type(exc).__name__}: {exc}")
        self._finish(d)
        if outcome is None:
            self._succeeded(d, host)
        else:
            self._failed(d, host, outcome)
        self.schedule()

    def _finish(self, d: Download) -> None:
        """Give back what `_start` took; safe to call twice (a task cancelled before it
        ran never reaches its own cleanup, so `stop` calls this too)."""
        if not self._tally.stopped(d):
            return
        self._scheduler.finished(d)
        d.task = None
        self._events.progress(d)
        d.settle()

    # -- what follows ---------------------------------------------------------------------

    def _succeeded(self, d: Download, host: Host) -> None:
        now = time.monotonic()
        limits = self._settings.limits
        if self._scheduler.ceiling is not None:  # descriptors came back: grow again
            self._scheduler.ceiling += 1
            if self._scheduler.ceiling >= limits.max_concurrent:
                self._scheduler.ceiling = None
        host.completed += 1
        host.succeeded(now, limits)
        # Its name stays held (until it is removed): no later download may replace it.
        self._events.log(d, f"completed: {d.final_path}")
        self._events.changed(d)  # the final name and checksum result, before "completed"
        self._hooks.schedule(d, done=self._idle)  # --on-complete, in the background
        self._events.set_state(d, State.COMPLETED)

    def _failed(self, d: Download, host: Host, error: DownloadError) -> None:
        now = time.monotonic()
        attempt = retry_rules.Attempt(d.retries, d.backoff_step)
        if error.restart:
            d.restart = True
        policy = self._retry_policy
        hold = retry_rules.host_hold(error, attempt, policy)
        if hold is not None:
            reason = error.message.removesuffix(f" from {d.host}")
            host.pushback(hold, now, self._settings.limits, reason)
            self._events.log(d, f"{d.host} pushed back: holding it for {hold:.1f} s")
        match retry_rules.decide(error, attempt, policy):
            case retry_rules.Pause(message):
                self._events.log(d, f"paused: {message}")
                self._events.set_state(d, State.PAUSED, message)
            case retry_rules.Fail(message):
                host.failed += 1
                host.note(f"{d.name or d.url.rsplit('/', 1)[-1]} failed: {message}")
                self._events.log(d, f"failed: {message}")
                self._events.set_state(d, State.FAILED, message)
            case retry_rules.Retry(delay, spend):
                d.backoff_step += 1
                if spend:
                    d.retries += 1
                    host.retries += 1
                    self._events.log(
                        d,
                        f"{error.message}; retry {d.retries}/{self.options.retries}"
                        f" in {delay:.1f} s",
                    )
                else:
                    self._fewer_at_once(d, error)
                d.error = error.message
                self.requeue(d, not_before=now + delay, retrying=True)

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
            self._events.log(d, f"{error.message} (at most {ceiling} at once for now)")


def _completed(d: Download) -> bool:
    """Whether ``d`` is completed now (a check after an await, which mypy cannot see
    may have changed the state)."""
    return d.state is State.COMPLETED
