"""``afetch``: open the persistent queue, queue the command line's URLs, run the dashboard.

The window shows once the first batch of a long list is queued; the rest is queued behind
it (`Backlog`), and a quit or a signal meanwhile stops between two batches, every URL then
queued and saved or not queued at all.

While it runs, it owns the state file: ``listen`` (the control socket, passed in by the
command line) lets other afetch commands hand it URLs and steer it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from afetch_tui.config import (
    EXIT_FAILED,
    EXIT_GRACE,
    EXIT_OK,
    EXIT_USAGE,
    TERMINATION_SIGNALS,
    Backlog,
    Config,
    listed_notice,
    on_termination,
)
from afetch_tui.engine import (
    AfetchError,
    DownloadManager,
    InputError,
    Store,
    StoreBusy,
    StoreError,
)


class Listener(Protocol):
    async def close(self) -> None: ...


Listen = Callable[..., Awaitable[Listener]]
"""``listen(manager, state_path, role=..., backlog=...)``: serve the manager to other afetch
processes."""


def open_dashboard(
    config: Config,
    *,
    listen: Listen | None = None,
    on_busy: Callable[[int | None], int | None] | None = None,
) -> int:
    """Run the dashboard as the state file's owner. If another afetch owns it (it won a
    race to start), ``on_busy(its pid)`` may reach it instead (hand off the URLs, or
    attach): its exit code, or None to report the state file busy."""
    try:
        return asyncio.run(_run(config, listen))
    except StoreBusy as exc:
        code = on_busy(exc.pid) if on_busy is not None else None
        if code is not None:
            return code
        print(f"afetch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (StoreError, sqlite3.Error) as exc:
        print(f"afetch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except InputError as exc:
        print(f"afetch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


async def _run(config: Config, listen: Listen | None) -> int:
    from afetch_tui.ui.app import AfetchApp

    store = await Store.open(config.state)
    for notice in store.notices:
        print(f"afetch: {notice}", file=sys.stderr)
    manager = DownloadManager(
        config.directory,
        options=config.options,
        store=store,
        limit_changes=config.limit_overrides,
    )
    listener: Listener | None = None
    signalled: list[int] = []
    try:
        await manager.start()
        backlog = Backlog(manager, config, skip_listed=True)
        await backlog.run(until=1)  # the first batch: a folder that cannot be made, now
        if listen is not None:
            listener = await _listen(listen, manager, store.path, backlog)
        app = AfetchApp(
            manager,
            notice=listed_notice(backlog.left_out) if backlog.left_out else None,
            backlog=backlog,  # the rest is queued once the window shows
        )

        def stop(signum: int) -> None:  # SIGTERM, SIGHUP: quit as `q` would, without asking
            signalled.append(signum)
            app.exit()

        try:
            with on_termination(stop, grace=EXIT_GRACE):
                await app.run_async()
        finally:
            await backlog.close()  # the batch under way is queued and saved; no more
    finally:
        if listener is not None:
            await listener.close()
        await manager.close()
        await store.close()
    if signalled:
        with contextlib.suppress(OSError):  # hung up: the terminal may be gone
            print(
                f"afetch: {TERMINATION_SIGNALS[signal.Signals(signalled[0])]}; the queue is saved",
                file=sys.stderr,
            )
        return 128 + signalled[0]
    return EXIT_OK


async def _listen(
    listen: Listen, manager: DownloadManager, state: Path, backlog: Backlog
) -> Listener | None:
    """The control socket; without one the dashboard still runs (it says why on stderr).
    While ``backlog`` queues, what it holds counts as listed for an add over the socket."""
    try:
        return await listen(manager, state, role="dashboard", backlog=backlog)
    except AfetchError as exc:
        print(f"afetch: other afetch commands cannot reach this one: {exc}", file=sys.stderr)
        return None
