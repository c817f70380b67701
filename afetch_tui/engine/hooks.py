"""``--on-complete``: run a command for each completed file.

The command is split once, with `shlex.split`, when it is given; the file's absolute path
is appended as one more argument and the program is started directly, never through a
shell, so a server-chosen name holding spaces, quotes, ``;`` or ``$(...)`` is just text.
Each run has a timeout (the process group is killed past it); its exit status and the
head of its output go to the download's log, and a `HookFinished` event says how it went.
A failed hook never un-completes a download.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from afetch_tui.engine.errors import InputError
from afetch_tui.engine.hook_command import parse_command as parse_command

if TYPE_CHECKING:
    from afetch_tui.engine.download import Download

OUTPUT_BYTES = 4096
"""Output kept per run (the rest is read and dropped)."""
OUTPUT_LINES = 20
LINE_CHARS = 200
MAX_PARALLEL = max(2, min(8, os.cpu_count() or 2))


@dataclass(frozen=True, slots=True)
class HookResult:
    ok: bool
    exit_code: int | None
    message: str
    output: list[str]


async def run_command(
    argv: tuple[str, ...], path: Path, *, time_limit: float, env: dict[str, str] | None = None
) -> HookResult:
    """Run ``argv + (path,)``: its exit status and output, killed after ``time_limit`` s."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            str(path),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a timeout kills its children too
            env={**os.environ, **(env or {})},
        )
    except OSError as exc:
        return HookResult(False, None, f"cannot run {argv[0]}: {exc.strerror or exc}", [])
    assert process.stdout is not None
    reader = asyncio.create_task(_read_head(process.stdout))
    timed_out = False
    try:
        await asyncio.wait_for(process.wait(), time_limit)
    except TimeoutError:
        timed_out = True
        _kill_group(process)
        await process.wait()
    except asyncio.CancelledError:
        _kill_group(process)
        with contextlib.suppress(Exception):
            await asyncio.shield(process.wait())
        reader.cancel()
        raise
    try:
        head = await asyncio.wait_for(reader, 1.0)  # a grandchild may hold the pipe open
    except TimeoutError:
        head = b""
    output = _lines(head)
    if timed_out:
        return HookResult(False, None, f"timed out after {time_limit:g} s; killed", output)
    code = process.returncode
    if code == 0:
        return HookResult(True, 0, "exited with 0", output)
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return HookResult(False, code, f"killed by {name}", output)
    return HookResult(False, code, f"exited with {code}", output)


async def _read_head(stream: asyncio.StreamReader) -> bytes:
    head = bytearray()
    while chunk := await stream.read(65536):
        if len(head) < OUTPUT_BYTES:
            head += chunk[: OUTPUT_BYTES - len(head)]
    return bytes(head)


def _lines(head: bytes) -> list[str]:
    lines = head.decode("utf-8", errors="replace").splitlines()
    kept = [line[:LINE_CHARS] for line in lines[:OUTPUT_LINES]]
    if len(lines) > OUTPUT_LINES or len(head) >= OUTPUT_BYTES:
        kept.append("… (output truncated)")
    return kept


def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


class CompletionHooks:
    """Runs the manager's ``on_complete`` command for completed downloads, a few at a time."""

    def __init__(
        self,
        argv: tuple[str, ...] | None,
        timeout: float,
        *,
        log: Callable[[Download, str], None],
        finished: Callable[[Download, HookResult], None],
    ) -> None:
        self.argv = argv
        self.timeout = timeout
        self._log = log
        self._finished = finished
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_PARALLEL)
        self.failed: set[int] = set()
        """Ids of downloads whose hook failed."""

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def configure(self, argv: tuple[str, ...] | None, timeout: float) -> None:
        """The command (None: none) and time limit for every file completed from now on."""
        if timeout <= 0:
            raise InputError("the on-complete timeout must be positive")
        self.argv = tuple(argv) if argv else None
        self.timeout = timeout

    def schedule(self, d: Download, done: Callable[[], None]) -> None:
        """Run the command for ``d`` (if there is one) in the background; ``done`` after."""
        if self.argv is None or d.final_path is None:
            return
        task = asyncio.create_task(self._run(d, d.final_path), name=f"afetch-hook-{d.id}")
        self._tasks.add(task)

        def forget(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            done()

        task.add_done_callback(forget)

    async def _run(self, d: Download, path: Path) -> None:
        assert self.argv is not None
        async with self._slots:
            self._log(d, f"on-complete: running {shlex.join(self.argv)} <file>")
            result = await run_command(
                self.argv,
                path,
                time_limit=self.timeout,
                env={"AFETCH_URL": d.url, "AFETCH_ID": str(d.id)},
            )
        for line in result.output:
            self._log(d, f"on-complete | {line}")
        self._log(d, f"on-complete: {result.message}")
        if not result.ok:
            self.failed.add(d.id)
        self._finished(d, result)

    async def close(self) -> None:
        """Stop every running command (killing it) and wait for them."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
