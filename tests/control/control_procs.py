"""Real afetch processes for the control tests: one-shot commands and a running serve."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

AFETCH = (sys.executable, "-m", "afetch_tui")


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def afetch(*args: str, cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run one afetch command to its end."""
    return subprocess.run(
        [*AFETCH, *args],
        cwd=cwd,
        env=environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Serve:
    """``afetch serve`` in a process of its own; ``stop`` or ``kill`` it."""

    def __init__(self, state: Path, directory: Path, *extra: str) -> None:
        self.log = directory.parent / f"serve-{time.monotonic_ns()}.err"
        self.out = directory.parent / f"serve-{time.monotonic_ns()}.out"
        with open(self.log, "w") as err, open(self.out, "w") as out:
            self.proc = subprocess.Popen(
                [
                    *AFETCH,
                    "serve",
                    "--state",
                    str(state),
                    "-d",
                    str(directory),
                    "--no-fsync",
                    *extra,
                ],
                env=environment(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        wait_for(lambda: "listening on" in self.log.read_text(), self.proc, what="serve to listen")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def lines(self) -> list[str]:
        return self.out.read_text().splitlines()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=15)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=15)


def wait_for(
    predicate: Callable[[], object],
    proc: subprocess.Popen[bytes] | None = None,
    *,
    timeout: float = 20,
    what: str = "condition",
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Terminal:
    """The real dashboard on a pseudo-terminal, as a user's terminal would run it."""

    def __init__(self, *args: str) -> None:
        master, slave = pty.openpty()
        env = environment()
        env.update(TERM="xterm-256color", COLUMNS="120", LINES="40")
        self.proc = subprocess.Popen(
            [*AFETCH, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        os.set_blocking(master, False)
        self.master = master
        self.output = b""

    def read(self) -> bytes:
        """Everything it wrote so far (read, so it never blocks on a full terminal)."""
        try:
            while chunk := os.read(self.master, 65536):
                self.output += chunk
        except (BlockingIOError, OSError):
            pass
        return self.output

    def wait_for(self, text: bytes, timeout: float = 20) -> None:
        wait_for(lambda: text in self.read(), self.proc, timeout=timeout, what=repr(text))

    def press(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def quit(self, attempts: int = 10) -> int:
        """Press q until it exits (a download that just finished may still count as running
        for a moment: then the quit dialog is closed with Escape and q pressed again)."""
        for _ in range(attempts):
            self.press(b"q")
            deadline = time.monotonic() + 1.5
            while self.proc.poll() is None and time.monotonic() < deadline:
                self.read()
                time.sleep(0.02)
            if self.proc.poll() is not None:
                return self.exit_code()
            self.press(b"\x1b")
            time.sleep(0.3)
        return self.exit_code()

    def exit_code(self, timeout: float = 15) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.read()
            time.sleep(0.02)
        self.read()
        return self.proc.wait(timeout=1)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
