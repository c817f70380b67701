"""The page parser child is reaped once, by asyncio's child watcher, with its real status.

Under load (two busy cores) asyncio's watcher thread may be scheduled well after the child
has exited. Anyone else reaping the child in that gap (``Popen.poll``, which
``Process.kill`` calls) makes the watcher log "Unknown child process pid N, will report
returncode 255" to the user's terminal. `LateWatcher` makes that gap certain.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from afetch_tui.engine.errors import PageError
from afetch_tui.engine.links import DEADLINE_SIGNAL, parse_page

if not hasattr(asyncio, "ThreadedChildWatcher"):  # Python 3.14 has no pluggable watcher
    pytest.skip("needs asyncio.ThreadedChildWatcher", allow_module_level=True)

LISTING = b'<a href="a.iso">a</a> <a href="b.iso">b</a>'
DEEP = b"<div>" * 1_000_000  # parsing this would take about half an hour


def exited(pid: int) -> bool:
    """Whether child ``pid`` has ended (a zombie, or already reaped), without reaping it."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


class LateWatcher(asyncio.ThreadedChildWatcher):
    """asyncio's watcher, and this process, as two busy cores may run them: the child has
    ended before its answer is read (its stdout is not read until then), and the watcher
    starts reaping it only 0.2 s after. It keeps each child's reported exit status."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: dict[int, int] = {}

    def add_child_handler(self, pid: int, callback: Callable[..., object], *args: Any) -> None:
        loop = asyncio.get_running_loop()
        start = super().add_child_handler
        transport = args[0]  # asyncio passes the child's transport
        assert isinstance(transport, asyncio.SubprocessTransport)

        def reported(pid: int, returncode: int, *args: Any) -> None:
            self.statuses[pid] = returncode
            callback(pid, returncode, *args)

        def pause_stdout() -> None:  # as soon as asyncio has connected it
            try:
                stdout = transport.get_pipe_transport(1)
            except AttributeError:  # not yet connected
                stdout = None
            if stdout is None:
                loop.call_soon(pause_stdout)
                return
            assert isinstance(stdout, asyncio.ReadTransport)
            stdout.pause_reading()
            when_exited(stdout)

        def when_exited(stdout: asyncio.ReadTransport) -> None:
            if not exited(pid):
                loop.call_later(0.01, when_exited, stdout)
                return
            stdout.resume_reading()
            loop.call_later(0.2, start, pid, reported, *args)

        pause_stdout()


@pytest.fixture
def late_watcher() -> Iterator[LateWatcher]:
    policy = asyncio.get_event_loop_policy()
    watcher = LateWatcher()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # child watchers, Python 3.12+
        previous = policy.get_child_watcher()  # type: ignore[attr-defined]
        policy.set_child_watcher(watcher)  # type: ignore[attr-defined]
    yield watcher
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        policy.set_child_watcher(previous)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("page", "found"), [(LISTING, 2), (b"<p>no links</p>", 0)], ids=["links", "no-links"]
)
async def test_the_parser_child_is_reaped_by_the_watcher_alone(
    late_watcher: LateWatcher, caplog: pytest.LogCaptureFixture, page: bytes, found: int
) -> None:
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        # a long deadline: this child's answer is only read once it has exited
        links = await parse_page(page, "http://h/pub/", time_limit=30, total_limit=60)
    assert len(links) == found
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    [(pid, status)] = late_watcher.statuses.items()
    assert status == 0  # its real exit status, not the 255 of a child reaped by another
    with pytest.raises(ChildProcessError):  # reaped: no zombie left
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)  # noqa: ASYNC222


async def test_a_cancelled_or_overdue_parse_is_killed_and_reaped_by_the_watcher_alone(
    late_watcher: LateWatcher, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        with pytest.raises(PageError, match="nested too deeply"):
            await parse_page(DEEP, "http://h/", time_limit=0.5)
        task = asyncio.create_task(parse_page(DEEP, "http://h/", time_limit=60))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    # the overdue one ended itself at its deadline; the cancelled one was killed
    assert list(late_watcher.statuses.values()) == [-DEADLINE_SIGNAL, -signal.SIGKILL]
    for pid in late_watcher.statuses:
        with pytest.raises(ChildProcessError):  # reaped: no zombie left
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)  # noqa: ASYNC222
