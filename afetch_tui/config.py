"""What every front end shares: the checked `Config` of a run, exit codes, usage errors, and
queueing what the command line asked for."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from afetch_tui.engine import (
    MAX_PAGE_BYTES,
    AfetchError,
    Defaults,
    DownloadSpec,
    InputEntry,
    InputError,
    Limits,
    ManagerOptions,
    checksum,
    compile_match,
    parse_command,
    parse_header,
    parse_input,
    parse_size,
    validate_url,
)
from afetch_tui.usage import (  # re-exported: the front ends take them from here
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
)

if TYPE_CHECKING:  # the manager (and aiohttp) is loaded only by a run, not by its checks
    import asyncio

    from afetch_tui.engine import DownloadManager, DownloadSnapshot

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Backlog",
    "Config",
    "UsageError",
    "build_config",
    "on_termination",
    "queue_entries",
    "target_directory",
]


@dataclass
class Config:
    """Everything a run needs, checked: nothing is queued or written before this exists."""

    directory: Path
    entries: list[InputEntry]
    name: str | None
    limits: Limits
    """The limits for this run: defaults, with what the command line gave."""
    limit_overrides: dict[str, Any]
    """Only the limits given on the command line (the dashboard keeps the rest it saved)."""
    options: ManagerOptions
    json: bool = False
    quiet: bool = False
    state: Path | None = None
    headers: dict[str, str] = field(default_factory=dict)
    pages: list[str] = field(default_factory=list)
    """``--from-page``: HTML pages whose links are queued too."""
    match: str | None = None
    same_host: bool | None = None
    """True: only links on the page's host; False: only links elsewhere; None: both."""
    max_page_bytes: int = MAX_PAGE_BYTES
    checksum: tuple[str, str] | None = None
    """``--checksum`` for the single URL given."""

    def has_own_options(self, entry: InputEntry) -> bool:
        """Whether ``entry`` needs a spec of its own (else it joins the one plain batch)."""
        return bool(
            entry.out
            or entry.dir
            or entry.headers
            or entry.limit_rate
            or self.name
            or self.checksum
        )


def build_config(args: argparse.Namespace, *, need_urls: bool) -> Config:
    """The checked run. Values with a rule of their own (`Limits`, `Defaults`) are checked
    by it: its `InputError` names the setting, which the command line says as its flag."""
    min_split = parse_size(args.min_split_size, what="-k")
    if min_split is None or min_split < 1024 * 1024:
        raise UsageError("-k must be at least 1M")
    given: dict[str, Any] = {
        "max_concurrent": args.max_concurrent,
        "max_per_host": args.max_per_host,
        "rate": parse_size(args.limit_rate, what="--limit-rate") if args.limit_rate else None,
        "rate_per_host": (
            parse_size(args.limit_rate_per_host, what="--limit-rate-per-host")
            if args.limit_rate_per_host
            else None
        ),
        "host_request_rate": args.host_request_rate,
    }
    limit_overrides = {
        key: value
        for key, value in given.items()
        if value is not None
        or (key == "rate" and args.limit_rate)
        or (key == "rate_per_host" and args.limit_rate_per_host)
    }
    limits = replace(Limits(), **limit_overrides)
    headers = dict(parse_header(h) for h in args.header)
    if args.proxy:
        validate_url(args.proxy)
    entries = [InputEntry(validate_url(url), 0) for url in args.urls]
    if args.input_file:
        entries += read_input_file(args.input_file)
    pages = [validate_url(page) for page in getattr(args, "from_page", None) or []]
    if need_urls and not entries and not pages:
        raise UsageError("no URLs given (see 'afetch get --help')")
    name = getattr(args, "output", None)
    if name is not None and (len(entries) != 1 or pages):
        raise UsageError("-o/--output names one file, but several URLs were given")
    page_options = _page_options(args, pages)
    after = _after_download(args, entries, pages)
    defaults = Defaults(
        retries=args.retries,
        timeout=args.timeout,
        connections=1 if args.connections is None else args.connections,
        directory=Path(args.dir or "."),
    )
    directory = defaults.directory
    config = Config(
        directory=directory,
        entries=entries,
        name=name,
        limits=limits,
        limit_overrides=limit_overrides,
        options=ManagerOptions(
            retries=defaults.retries,
            timeout=defaults.timeout,
            headers=headers,
            overwrite=args.overwrite,
            proxy=args.proxy,
            fsync=not args.no_fsync,
            connections=defaults.connections,
            min_split_size=int(min_split),
            checksums=after.pop("checksums"),
            on_complete=after.pop("on_complete"),
            on_complete_timeout=after.pop("on_complete_timeout"),
        ),
        json=getattr(args, "json", False),
        quiet=getattr(args, "quiet", False),
        state=Path(args.state).expanduser().absolute() if args.state else None,
        pages=pages,
        checksum=after.pop("checksum"),
        **page_options,
    )
    for entry in filter(config.has_own_options, entries):
        try:
            entry_spec(config, entry)  # checked now: nothing is queued before all are good
        except InputError as exc:
            raise UsageError(f"line {entry.line}: {exc}" if entry.line else str(exc)) from None
    return config


def _page_options(args: argparse.Namespace, pages: list[str]) -> dict[str, Any]:
    """``--from-page``'s filters, checked (a bad pattern is a usage error)."""
    match = getattr(args, "match", None)
    same_host = True if getattr(args, "same_host", False) else None
    if getattr(args, "other_hosts", False):
        same_host = False
    if not pages and (match is not None or same_host is not None):
        raise UsageError("--match, --same-host and --other-hosts filter --from-page links")
    compile_match(match)
    max_bytes = parse_size(getattr(args, "max_page_size", "5M"), what="--max-page-size")
    if not max_bytes:
        raise UsageError("--max-page-size must be positive")
    return {"match": match, "same_host": same_host, "max_page_bytes": int(max_bytes)}


def _after_download(
    args: argparse.Namespace, entries: list[InputEntry], pages: list[str]
) -> dict[str, Any]:
    """``--checksum(s)`` and ``--on-complete``, checked before anything starts."""
    value = None
    if getattr(args, "checksum", None):
        if len(entries) != 1 or pages:
            raise UsageError("--checksum applies to one URL; use --checksums FILE for several")
        value = checksum.parse_checksum(args.checksum)
    table = checksum.read_checksums(args.checksums) if getattr(args, "checksums", None) else {}
    command = None
    if getattr(args, "on_complete", None) is not None:
        command = parse_command(args.on_complete)
    time_limit = getattr(args, "on_complete_timeout", 60.0)
    if time_limit <= 0:
        raise UsageError("--on-complete-timeout must be positive")
    return {
        "checksum": value,
        "checksums": table,
        "on_complete": command,
        "on_complete_timeout": time_limit,
    }


def read_input_file(path: str) -> list[InputEntry]:
    # Lines end at LF only: a CR inside a line is part of the URL, and is refused there.
    if path == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:
            return parse_input(sys.stdin, source="stdin")
        text = stdin.read().decode("utf-8", errors="replace")
        return parse_input(text.split("\n"), source="stdin")
    try:
        with open(path, encoding="utf-8", errors="replace", newline="\n") as file:
            return parse_input(file, source=path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def entry_spec(config: Config, entry: InputEntry) -> DownloadSpec:
    """What queues ``entry`` with the command line's options (`InputError` if unusable)."""
    return DownloadSpec(
        (entry.url,),
        name=config.name or entry.out,
        directory=target_directory(config, entry),
        headers=entry.headers,
        limit_rate=parse_size(entry.limit_rate, what="max-download-limit")
        if entry.limit_rate
        else None,
        checksum=config.checksum,
    )


def target_directory(config: Config, entry: InputEntry) -> Path:
    return config.directory / entry.dir if entry.dir else config.directory


Listed = frozenset[tuple[str, Path]]
"""What is in the list: each download's URL and folder (`listed`)."""


def listed(downloads: Iterable[DownloadSnapshot]) -> Listed:
    return frozenset((d.url, d.directory) for d in downloads)


def already_listed(url: str, directory: Path, in_list: Listed) -> bool:
    """Whether a download of ``url`` into ``directory`` is in the list already, in any
    state. It is not queued again without asking (queued again, it downloads again, as
    ``name (1)``): the add dialog asks, and the command line leaves it out and says so.
    What names its own file or options is always queued."""
    return (url, directory) in in_list


async def queue_entries(
    manager: DownloadManager,
    config: Config,
    *,
    skip: Collection[int] = (),
    skip_listed: bool = False,
) -> int:
    """Queue every entry whose place in ``config.entries`` is not in ``skip``, and with
    ``skip_listed`` none `already_listed` (the dashboard started again with the same
    list): how many that left out. See `Backlog`, which the dashboard runs behind its
    window instead."""
    backlog = Backlog(manager, config, skip=skip, skip_listed=skip_listed)
    await backlog.run()
    return backlog.left_out


class Backlog:
    """The command line's entries still to queue, queued in order by `run`.

    Made at once (which entries are left out, as `already_listed`, is known before any is
    queued: `left_out`); `run` then queues them. Entries with options of their own go one
    by one, the others in batches of `QUEUE_BATCH` (between them, a lossless subscriber
    such as ``--json`` catches up: `manager.room`). The first batch is only as many as
    may run at once: they start as soon as their rows are written, and the network works
    while the rest of a long list is queued and saved.

    `stop` ends `run` between two batches, so every URL is either queued and saved (its
    batch is written before `run` returns) or not queued at all; started again with the
    same list, ``skip_listed`` then queues the rest. Until it is queued, a URL `pending`
    here is as good as in the list: an add of it elsewhere leaves it out as listed.
    """

    def __init__(
        self,
        manager: DownloadManager,
        config: Config,
        *,
        skip: Collection[int] = (),
        skip_listed: bool = False,
    ) -> None:
        self._manager = manager
        self._config = config
        in_list = listed(manager.downloads()) if skip_listed and config.entries else frozenset()
        self._own: list[InputEntry] = []
        self._plain: list[str] = []
        self.left_out = 0
        """Entries left out as already listed."""
        for place, entry in enumerate(config.entries):
            if place in skip:
                continue
            if config.has_own_options(entry):
                self._own.append(entry)
            elif already_listed(entry.url, config.directory, in_list):
                self.left_out += 1
            else:
                self._plain.append(entry.url)
        self.total = len(self._own) + len(self._plain)
        """URLs to queue."""
        self.queued = 0
        """URLs queued so far (`run` counts them once their batch is in the list)."""
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.error: AfetchError | None = None
        """What stopped the task of `start` (a folder that cannot be made)."""

    @property
    def done(self) -> bool:
        return self.queued == self.total

    def stop(self) -> None:
        """End `run` before its next batch (the one under way is queued and saved)."""
        self._stopping = True

    def pending(self, urls: Collection[str], directory: Path) -> set[str]:
        """Which of ``urls`` (into ``directory``) this is still to queue: one pass over what
        is left, not a set of 100,000 kept for it."""
        if self.done or not urls:
            return set()
        wanted = set(urls)
        found: set[str] = set()
        own_done = min(self.queued, len(self._own))
        for entry in self._own[own_done:]:
            if entry.url in wanted and target_directory(self._config, entry) == directory:
                found.add(entry.url)
        if directory == self._config.directory:
            plain_done = self.queued - own_done
            found.update(url for url in self._plain[plain_done:] if url in wanted)
        return found

    async def run(self, until: int | None = None) -> None:
        """Queue what is left, until all are queued or `stop` (see the class); with
        ``until``, return once at least that many are queued."""
        manager, config = self._manager, self._config
        own = len(self._own)
        while not self._stopping and self.queued < self.total:
            if until is not None and self.queued >= until:
                return
            await manager.room()
            if self.queued < own:
                await manager.add_many(entry_spec(config, self._own[self.queued]))
                self.queued += 1
                continue
            start = self.queued - own
            size = QUEUE_BATCH if start else min(QUEUE_BATCH, manager.limits.max_concurrent)
            batch = self._plain[start : start + size]
            await manager.add_many(DownloadSpec(batch))
            self.queued += len(batch)

    def start(self) -> None:
        """`run` the rest in a task of its own (`close` ends it); an `AfetchError` it
        meets stops it and is kept in `error`."""
        import asyncio  # as in `on_termination`: not for a usage error

        if self._task is None and not self.done:
            self._task = asyncio.create_task(self._run_kept(), name="afetch-backlog")

    async def _run_kept(self) -> None:
        try:
            await self.run()
        except AfetchError as exc:
            self.error = exc

    @property
    def running(self) -> bool:
        """Whether the task `start` made is queueing."""
        return self._task is not None and not self._task.done()

    async def close(self) -> None:
        """`stop`, and wait for the batch under way to be queued and saved; raise the
        `error` that stopped it, if one did."""
        self.stop()
        if self._task is not None:
            await self._task
        if self.error is not None:
            raise self.error


def listed_notice(count: int) -> str:
    """What the dashboard and ``serve`` say of the URLs `queue_entries` left out (one
    line that fits the downloads box's border at 80 columns)."""
    return f"{count} URL{'s' * (count != 1)} already listed: not queued again (a: add anyway)"


QUEUE_BATCH = 1000
"""URLs queued at once (each batch is one write to the state file, and one burst of events)."""


TERMINATION_SIGNALS = {signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}
"""Signals that end a run like Ctrl-C does (exit code 128 + the signal's number)."""


EXIT_GRACE = 10.0
"""Seconds a signalled dashboard has to leave its screen before it is ended at once."""


@contextlib.contextmanager
def on_termination(stop: Callable[[int], None], grace: float | None = None) -> Iterator[None]:
    """While the block runs, SIGTERM or SIGHUP calls ``stop(signum)`` once, on the loop
    (a signal ignored when the block began, as under ``nohup``, stays ignored).

    With ``grace`` (a Textual app runs in the block), the process ends, 128 + the signal's
    number, if the block has not ended ``grace`` seconds after the signal: once its
    terminal is gone, Textual's output thread dies on the first failed write and the
    next write waits for it for ever, so the loop never runs again (a Python signal
    handler still runs in the main thread while it waits on a lock; asyncio's would not).
    Only the block is watched: what follows it (closing the queue) runs to its end."""
    import asyncio  # here, not at the top: a usage error must not load asyncio (~30 ms)
    import os
    import threading

    loop = asyncio.get_running_loop()
    received: list[int] = []
    enders: list[threading.Timer] = []

    def handle(signum: int, frame: object) -> None:
        if received:
            return
        received.append(signum)
        if grace is not None:
            ender = threading.Timer(grace, os._exit, (128 + signum,))
            ender.daemon = True
            enders.append(ender)
            ender.start()
        loop.call_soon_threadsafe(stop, signum)

    before = {}
    for signum in TERMINATION_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            before[signum] = signal.signal(signum, handle)
    try:
        yield
    finally:
        for ender in enders:
            ender.cancel()
        for signum, handler in before.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
