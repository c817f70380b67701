"""``afetch get``: the manager without the dashboard.

Progress goes to stderr (live bars on a terminal, a plain line every few seconds
otherwise), ``--json`` events to stdout, and the exit code says how it went.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shutil
import signal
import sqlite3
import stat
import sys
import time
from collections import defaultdict
from dataclasses import replace
from typing import Any, TextIO
from urllib.parse import urlsplit

from afetch_tui import format as fmt
from afetch_tui.config import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    TERMINATION_SIGNALS,
    Config,
    on_termination,
    queue_entries,
    target_directory,
)
from afetch_tui.engine import (
    PART_SUFFIX,
    Added,
    Client,
    DownloadManager,
    DownloadSnapshot,
    Event,
    HookFinished,
    InputEntry,
    InputError,
    PageError,
    Record,
    State,
    StateChanged,
    Store,
    StoreError,
    StoreProblem,
    Subscription,
    checksum,
    headless_path,
    inert,
    json_line,
    take_up_under,
)

PLAIN_INTERVAL = 5.0
LIVE_INTERVAL = 0.25
LIVE_ROWS = 8
LINE_KINDS = (StateChanged, HookFinished, StoreProblem)
"""The events `Reporter` makes stderr lines of (with ``--json`` it reads every kind)."""
LINE_STATES = (State.COMPLETED, State.FAILED, State.CANCELLED, State.PAUSED, State.RETRYING)
"""The states a `StateChanged` may tell `Reporter` of for a line (or the count of them)."""


class _Terminated(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def run_headless(config: Config) -> int:
    try:
        return asyncio.run(_run_until_signalled(config))
    except KeyboardInterrupt:
        print("afetch: interrupted; partial files kept as .part", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _Terminated as exc:
        with contextlib.suppress(OSError):  # a hung-up terminal may take no more output
            why = TERMINATION_SIGNALS[signal.Signals(exc.signum)]
            print(f"afetch: {why}; partial files kept as .part", file=sys.stderr)
        return 128 + exc.signum
    except InputError as exc:
        print(f"afetch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (StoreError, sqlite3.Error) as exc:
        print(f"afetch: cannot save resume state: {exc}", file=sys.stderr)
        return EXIT_FAILED


async def _run_until_signalled(config: Config) -> int:
    """`_run`, ended by SIGTERM or SIGHUP as by Ctrl-C: the run is cancelled, so every
    transfer checkpoints, ``--on-complete`` commands are killed and the queue is saved."""
    main = asyncio.current_task()
    assert main is not None
    signalled: list[int] = []

    def stop(signum: int) -> None:
        signalled.append(signum)
        main.cancel()

    with on_termination(stop):
        try:
            return await _run(config)
        except asyncio.CancelledError:
            if signalled:
                raise _Terminated(signalled[0]) from None
            raise


async def _run(config: Config) -> int:
    try:
        config = await _with_page_links(config)
    except PageError as exc:
        print(f"afetch: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    store = await _open_store(config)
    take_up = TakeUp(config)
    manager = DownloadManager(
        config.directory,
        limits=config.limits,
        options=config.options,
        store=store,
        restore_only=take_up,
    )
    # Every line and --json event, in order; without --json only the kinds lines come from.
    subscription = manager.subscribe(
        lossless=True,
        kinds=None if config.json else LINE_KINDS,
        states=None if config.json else LINE_STATES,
    )
    reporter = Reporter(
        manager, sys.stderr, json_out=sys.stdout if config.json else None, quiet=config.quiet
    )
    try:
        await manager.start()
        # What start-up made (modules, aiohttp, the session) lives as long as the run: out
        # of the collector's sight, a full collection no longer walks it all (15-50 ms of a
        # stalled loop, once or twice a run of 1000 files, with every connection waiting).
        gc.freeze()
        consumer = asyncio.create_task(reporter.consume(subscription))
        painter = None if config.quiet else asyncio.create_task(reporter.paint_forever())
        skip = take_up.taken
        del take_up  # the manager has let go of it too: its index of every entry is garbage
        try:
            for d in manager.downloads():  # not kept: 100,000 snapshots weigh ~100 MB
                reporter.resumed(d)
            await queue_entries(manager, config, skip=skip)
            await manager.wait()
        finally:
            subscription.close()
            await consumer
            if painter:
                painter.cancel()
                await asyncio.gather(painter, return_exceptions=True)
            reporter.clear_live()
        code = reporter.finish()
        if code == EXIT_OK:  # else a rerun finishes this run's work: see `TakeUp`
            await manager.clear_finished()
        return code
    finally:
        await manager.close()
        if store is not None:
            await store.close()


async def _with_page_links(config: Config) -> Config:
    """``config`` with the links of its ``--from-page`` pages added to its URLs.

    Pages are read before the queue is opened, so links queued by an interrupted run are
    resumed like any other URL. Every page must yield at least one link.
    """
    if not config.pages:
        return config
    entries = list(config.entries)
    known = {entry.url for entry in entries}
    async with Client(config.options, limits=config.limits) as client:
        for page in config.pages:
            links = await client.harvest(
                page,
                match=config.match,
                same_host=config.same_host,
                max_bytes=config.max_page_bytes,
            )
            if not links:
                raise PageError(f"no links on {page}{_filters(config)}")
            fresh = [link.url for link in links if link.url not in known]
            known.update(fresh)
            entries += [InputEntry(url, 0) for url in fresh]
            if not config.quiet:
                line = f"page    {page}: {len(links)} links{_filters(config)}"
                print(inert(line), file=sys.stderr)
    return replace(config, entries=entries)


def _filters(config: Config) -> str:
    parts = [f"match {config.match!r}"] if config.match else []
    if config.same_host is not None:
        parts.append("on the same host" if config.same_host else "on other hosts")
    return f" ({', '.join(parts)})" if parts else ""


class TakeUp:
    """Which stored downloads this run takes up, each for one entry of the command line.

    A stored download is taken up by an entry of the same URL into the same directory,
    asked for with the same name and checksum, if it is unfinished, or completed with its
    file still there at its size: an earlier run that was interrupted or had failures
    (a run that completes everything forgets it all) left it, and its rerun finishes that
    run's work rather than fetch the same files again as ``name (1).ext``. Else the entry
    starts afresh, under a new name, rather than skip what the command line asks for. Each
    entry takes up at most one stored download and each stored download serves one entry:
    the same URL given twice under two ``out=`` names is two downloads, and neither is
    skipped because the other was resumed. `taken` holds the places (in
    ``config.entries``) of the entries that were taken up.

    A stored download whose URL differs only in its query (an expiring CDN signature:
    ``f.iso?sig=1`` then ``?sig=2``) and that has a name on disk is taken up too, pointed
    at the new URL, keeping its bytes only if a validator can prove they are the new
    URL's (`take_up_under`).
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        self._wanted_list: list[tuple[str, str, str]] | None = None
        self._exact: dict[tuple[str, ...], list[int]] | None = None
        self._index: dict[tuple[str, ...], list[int]] | None = None
        self.taken: set[int] = set()

    @property
    def _wanted(self) -> list[tuple[str, str, str]]:
        """Each entry's (directory, name, checksum), by place; one tuple for entries alike.

        Made when the first stored download is offered, so a fresh run (nothing stored)
        never builds it: at 100,000 URLs this class costs ~30 MB."""
        if self._wanted_list is None:
            config = self._config
            wanted_checksum = checksum.format_checksum(config.checksum) or ""
            alike: dict[tuple[str, str, str], tuple[str, str, str]] = {}
            self._wanted_list = []
            for entry in config.entries:
                directory = str(target_directory(config, entry))
                wanted = (directory, config.name or entry.out or "", wanted_checksum)
                self._wanted_list.append(alike.setdefault(wanted, wanted))
        return self._wanted_list

    @property
    def _open(self) -> dict[tuple[str, ...], list[int]]:
        """(url, directory, name, checksum) → places of the entries not yet taken up."""
        if self._exact is None:
            self._exact = defaultdict(list)
            for place, entry in enumerate(self._config.entries):
                self._exact[(entry.url, *self._wanted[place])].append(place)
        return self._exact

    @property
    def _by_path(self) -> dict[tuple[str, ...], list[int]]:
        """The same without the URL's query and fragment, made only when a stored download
        does not match exactly (a URL split per entry is most of the cost of this class)."""
        if self._index is None:
            self._index = defaultdict(list)
            for place, entry in enumerate(self._config.entries):
                if place not in self.taken:
                    self._index[(*_without_query(entry.url), *self._wanted[place])].append(place)
        return self._index

    def __call__(self, record: Record) -> bool:
        if record.state == State.COMPLETED.value and not _still_there(record):
            return False
        if self._config.options.checksums and record.checksum is None:
            return False
        wanted = (record.directory, record.requested_name or "", record.checksum or "")
        places = self._open.get((record.url, *wanted))
        if not places and record.name is not None:
            places = self._by_path.get((*_without_query(record.url), *wanted))
        if not places:
            return False
        place = places[0]
        entry = self._config.entries[place]
        self._open[(entry.url, *wanted)].remove(place)
        if self._index is not None:
            self._index[(*_without_query(entry.url), *wanted)].remove(place)
        self.taken.add(place)
        if record.url != entry.url:
            take_up_under(record, entry.url)
        return True


def _still_there(record: Record) -> bool:
    """Whether a completed download's file is where it was put, at the size it had (a
    file deleted, replaced or grown since is fetched again)."""
    if record.name is None or record.total is None:
        return False
    try:
        info = os.stat(os.path.join(record.directory, record.name), follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size == record.total


def _without_query(url: str) -> tuple[str, str, str]:
    """Scheme, host (with port) and path: a URL without its query and fragment."""
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.netloc.rpartition("@")[2]).lower(), parts.path


async def _open_store(config: Config) -> Store | None:
    """The resume state for this directory; without it the run goes on, just not resumable."""
    try:
        store = await Store.open(config.state or headless_path(config.directory))
    except StoreError as exc:
        print(f"afetch: {exc}; this run cannot be resumed later", file=sys.stderr)
        return None
    for notice in store.notices:
        print(f"afetch: {notice}", file=sys.stderr)
    return store


class Reporter:
    """Turns events into stderr lines and (with --json) JSON lines on stdout."""

    def __init__(
        self,
        manager: DownloadManager,
        err: TextIO,
        *,
        json_out: TextIO | None = None,
        quiet: bool = False,
    ) -> None:
        """``quiet`` keeps only failures and the summary on stderr."""
        self.manager = manager
        self.quiet = quiet
        self.err = err
        self.json_out = json_out
        self.live = err.isatty()
        self.started = time.monotonic()
        self.counts: defaultdict[State, int] = defaultdict(int)
        self.earlier = 0
        """Downloads an earlier run completed, taken up by this one (not fetched again)."""
        self.earlier_bytes = 0
        self._live_lines = 0
        self._last_plain = time.monotonic()

    async def consume(self, subscription: Subscription) -> None:
        async for event in subscription:
            self._handle(event)
            for later in subscription.drain():
                self._handle(later)
            self._json(None)

    def _json(self, data: dict[str, Any] | None) -> None:
        """Write one JSON line (``None``: flush). A reader that went away (``| head``) ends
        the JSON output, not the downloads."""
        if self.json_out is None:
            return
        try:
            if data is None:
                self.json_out.flush()
            else:
                self.json_out.write(json_line(data) + "\n")
        except BrokenPipeError:
            self.json_out = None
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

    def resumed(self, d: DownloadSnapshot) -> None:
        """A download taken up from an earlier run (completed by it, or to finish)."""
        self._handle(Added(d))
        if d.state is State.COMPLETED:
            self.earlier += 1
            self.earlier_bytes += d.done
        elif d.done and not self.quiet:
            name = d.name or d.url
            self._print_above_live(f"resume  {name} from {fmt.size(d.done)}")

    def _handle(self, event: Event) -> None:
        if self.json_out is not None:
            self._json(event.to_json())
        if isinstance(event, StateChanged):  # the most frequent kind first
            if event.state.is_finished:
                self.counts[event.state] += 1
                self._announce(event)
            elif event.state is State.PAUSED and event.error:
                self._paused_by_engine(event)
            elif event.state is State.RETRYING and not self.quiet:
                snap = self.manager.download(event.id)
                self._print_above_live(f"retry   {snap.name or snap.url}: {event.error}")
        elif isinstance(event, HookFinished):
            self._hook_finished(event)
        elif isinstance(event, StoreProblem):
            self._print_above_live(f"afetch: {event.message}")

    def _paused_by_engine(self, event: StateChanged) -> None:
        """A download the engine had to stop (a full disk): the run is not complete."""
        snap = self.manager.download(event.id)
        kept = ""
        if snap.done and snap.name:
            kept = f": {fmt.size(snap.done)} kept in {inert(snap.name)}{PART_SUFFIX}"
        self._print_above_live(
            f"{event.error}{kept}; free space and run the same command to resume"
        )

    def _hook_finished(self, event: HookFinished) -> None:
        if event.ok and self.quiet:
            return
        snap = self.manager.download(event.id)
        label = "hook   " if event.ok else "HOOK FAILED"
        self._print_above_live(f"{label} {snap.name or snap.url}: on-complete {event.message}")

    def _announce(self, event: StateChanged) -> None:
        if self.quiet and event.state is not State.FAILED:
            return
        snap = self.manager.download(event.id)
        name = snap.name or snap.url
        if event.state is State.FAILED:
            line = f"FAILED  {snap.url}: {event.error}"
        elif self.quiet:
            return
        elif event.state is State.COMPLETED:
            line = f"done    {name} ({fmt.size(snap.total)})"
        else:
            line = f"cancelled {name}"
        self._print_above_live(line)

    def _print_above_live(self, line: str) -> None:
        self.clear_live()
        self._say(line)

    def _say(self, line: str) -> None:
        """Every line this reporter prints passes here: it may quote servers and URLs."""
        print(inert(line), file=self.err)

    async def paint_forever(self) -> None:
        while True:
            await asyncio.sleep(LIVE_INTERVAL if self.live else 1.0)
            if self.live:
                self._paint_live()
            elif time.monotonic() - self._last_plain >= PLAIN_INTERVAL:
                self._last_plain = time.monotonic()
                self._say(self._status_line())
                self.err.flush()

    def _status_line(self) -> str:
        summary = self.manager.summary()
        running = self.manager.running()
        waiting = summary.counts[State.QUEUED] + summary.counts[State.RETRYING]
        done = summary.done
        parts = [
            f"[{fmt.rate(self.manager.speed):>12}]",
            f"{len(running)} active, {waiting} waiting,",
            f"{summary.counts[State.COMPLETED]} done, {summary.counts[State.FAILED]} failed,",
            f"{fmt.size(done)} in {fmt.duration(time.monotonic() - self.started)}",
        ]
        if len(running) == 1:
            d = running[0]
            percent = f" {d.fraction:.0%}" if d.fraction is not None else ""
            parts.append(f"| {d.name or d.url}{percent} ETA {fmt.duration(d.eta)}")
        return " ".join(parts)

    def _paint_live(self) -> None:
        width = max(40, shutil.get_terminal_size((100, 20)).columns - 1)
        rows = self.manager.running()[:LIVE_ROWS]
        lines = [_bar_line(d, width) for d in rows]
        lines.append(inert(self._status_line())[:width])
        self.clear_live()
        self.err.write("\n".join(lines) + "\n")
        self.err.flush()
        self._live_lines = len(lines)

    def clear_live(self) -> None:
        if self._live_lines:
            self.err.write(f"\x1b[{self._live_lines}F\x1b[J")
            self._live_lines = 0

    def finish(self) -> int:
        """Print the summary; return the exit code."""
        tally = self.manager.summary()  # not a snapshot of each of 100,000 downloads
        failed = self.manager.downloads_in(State.FAILED)
        stopped = [d for d in self.manager.downloads_in(State.PAUSED) if d.error]
        completed = tally.counts[State.COMPLETED]
        elapsed = time.monotonic() - self.started
        total = tally.completed_bytes - self.earlier_bytes  # what this run fetched
        hook_failures = self.manager.hook_failures
        if self.json_out is not None:
            summary = {
                "event": "summary",
                "completed": completed,
                "earlier": self.earlier,
                "failed": len(failed),
                "bytes": total,
                "seconds": round(elapsed, 3),
                "failures": [{"id": d.id, "url": d.shown_url, "error": d.error} for d in failed],
                "hook_failures": len(hook_failures),
                "paused": [{"id": d.id, "url": d.shown_url, "error": d.error} for d in stopped],
            }
            self._json(summary)
            self._json(None)
        paused = f", {len(stopped)} not finished" if stopped else ""
        earlier = f" ({self.earlier} by the earlier run)" if self.earlier else ""
        self._say(
            f"{completed} completed{earlier}, {len(failed)} failed{paused}: {fmt.size(total)} "
            f"in {fmt.duration(elapsed)} ({fmt.rate(total / elapsed if elapsed else 0)})"
        )
        for d in failed:
            self._say(f"  failed: {d.url}: {d.error}")
        for d in self.manager.downloads_in(State.COMPLETED) if hook_failures else ():
            if d.id in hook_failures:
                self._say(f"  on-complete failed for {d.path}")
        return EXIT_FAILED if failed or stopped or hook_failures else EXIT_OK


def _bar_line(d: DownloadSnapshot, width: int) -> str:
    name = inert(d.name or d.url)[:30].ljust(30)
    info = f" {fmt.size(d.done):>10}/{fmt.size(d.total):<10} {fmt.rate(d.speed_now):>12}"
    info += f" ETA {fmt.duration(d.eta):>6}"
    bar_width = max(10, width - len(name) - len(info) - 8)
    fraction = d.fraction or 0.0
    filled = int(bar_width * fraction)
    bar = "█" * filled + "░" * (bar_width - filled)
    percent = f"{fraction:4.0%}" if d.fraction is not None else "  ? "
    return f"{name} {bar} {percent}{info}"[:width]
