"""``afetch serve``: the manager and its control socket, no UI, in the foreground.

For a terminal multiplexer or a service manager: one line per finished or failed download
on stdout, until SIGINT, SIGTERM or SIGHUP (downloads then stop and resume at the next
start; exit 0, a stop being the normal end of a service).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import TextIO

from afetch_tui import format as fmt
from afetch_tui.config import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Backlog,
    Config,
    listed_notice,
    on_termination,
    queue_entries,
)
from afetch_tui.control.paths import ControlError, socket_path
from afetch_tui.control.server import ControlServer
from afetch_tui.engine import (
    DownloadManager,
    InputError,
    State,
    StateChanged,
    Store,
    StoreError,
    Subscription,
    inert,
)

_ANNOUNCED = (State.COMPLETED, State.FAILED)


async def listen(
    manager: DownloadManager, state: Path, *, role: str, backlog: Backlog | None = None
) -> ControlServer:
    """Serve ``manager`` on the socket of ``state`` (whose lock this process holds);
    ``backlog``: the command line's URLs still being queued (they count as listed)."""
    server = ControlServer(manager, socket_path(state), role=role, state=state, backlog=backlog)
    await server.start()
    return server


def run_serve(config: Config) -> int:
    try:
        return asyncio.run(_serve(config))
    except (StoreError, sqlite3.Error, ControlError) as exc:
        print(f"afetch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except InputError as exc:
        print(f"afetch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


async def _serve(config: Config) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    store = await Store.open(config.state)
    if store.notice:
        print(f"afetch: {store.notice}", file=sys.stderr)
    manager = DownloadManager(
        config.directory,
        options=config.options,
        store=store,
        limit_changes=config.limit_overrides,
    )
    server: ControlServer | None = None
    try:
        await manager.start()
        if listed := await queue_entries(manager, config, skip_listed=True):
            print(f"afetch: {listed_notice(listed)}", file=sys.stderr)
        with manager.subscribe() as subscription:
            server = await listen(manager, store.path, role="serve")
            print(
                f"afetch serve: {len(manager.downloads())} downloads in {store.path}; "
                f"listening on {server.path} (pid {os.getpid()})",
                file=sys.stderr,
                flush=True,
            )
            announcer = asyncio.create_task(_announce(manager, subscription, sys.stdout))
            with on_termination(lambda signum: stop.set()):
                await stop.wait()
            announcer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await announcer
    finally:
        if server is not None:
            await server.close()
        await manager.close()
        await store.close()
    print("afetch serve: stopped; unfinished downloads resume at the next start", file=sys.stderr)
    return EXIT_OK


async def _announce(manager: DownloadManager, subscription: Subscription, out: TextIO) -> None:
    """One line per download that completed or failed."""
    async for event in subscription:
        if not isinstance(event, StateChanged) or event.state not in _ANNOUNCED:
            continue
        try:
            snap = manager.download(event.id)
        except InputError:  # removed since
            continue
        if event.state is State.COMPLETED:
            line = f"done    {inert(snap.path or snap.url)} ({fmt.size(snap.total)})"
        else:
            line = f"FAILED  {inert(snap.url)}: {inert(event.error or 'failed')}"
        print(line, file=out, flush=True)
