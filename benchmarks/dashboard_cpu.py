#!/usr/bin/env python3
"""The dashboard's own CPU with many downloads running: the process's CPU time over a
window, with the app open and without it.

Usage::

    python benchmarks/dashboard_cpu.py [--active 50] [--rate 64] [--seconds 10] [--runs 3]
                                       [--terminal 200x50] [--queued 0]

A loopback server (aiohttp, in its own process, so its CPU is not counted) sends every
file slowly: ``--rate`` KiB/s each, in 16 KiB pieces, so ``--active`` downloads (run with
``-j`` and ``--max-per-host`` of that many) stay active for the whole window. Each run
starts a fresh `DownloadManager`, queues the files (plus ``--queued`` paused ones, rows
that only sit in the table), waits until all of them are downloading, then reads
``time.process_time`` over ``--seconds``: once with the engine alone, once with the real
`AfetchApp` running headless (``run_test``) over the same manager. The difference is
what the dashboard costs (target, issue 12: <= 10% of a core with 50 active downloads).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from afetch_tui.engine.events import Limits, State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.spec import DownloadSpec

TARGET = 0.10

SLOW_SERVER = """
import asyncio, sys
from aiohttp import web

rate, size = int(sys.argv[2]) * 1024, int(sys.argv[3])
piece = b"x" * 16384

async def slow(request):
    response = web.StreamResponse(headers={"Content-Length": str(size)})
    response.content_type = "application/octet-stream"
    await response.prepare(request)
    sent = 0
    while sent < size:
        chunk = piece[: size - sent]
        await response.write(chunk)
        sent += len(chunk)
        await asyncio.sleep(len(chunk) / rate)
    return response

app = web.Application()
app.router.add_get("/slow/{n}/{name}", slow)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


@contextmanager
def slow_server(rate_kib: int, size: int) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_SERVER, str(port), str(rate_kib), str(size)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # a client that leaves early is no news
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(base + "/slow/0/probe", timeout=1) as response:
                    response.read(1)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the slow server did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait()


async def one_run(base: str, args: argparse.Namespace, dashboard: bool) -> float:
    """CPU seconds per second of this process over the window."""
    out = Path(tempfile.mkdtemp(prefix="afetch-dash-cpu-", dir=out_root()))
    limits = Limits(max_concurrent=args.active, max_per_host=args.active)
    manager = DownloadManager(
        out, limits=limits, options=ManagerOptions(trust_env=False, fsync=False)
    )
    await manager.start()
    try:
        await manager.add_many(
            DownloadSpec([f"{base}/slow/{n}/f{n}.bin" for n in range(args.active)])
        )
        if args.queued:
            urls = [f"{base}/slow/q{n}/q{n}.bin" for n in range(args.queued)]
            await manager.add_many(DownloadSpec(urls, paused=True))

        async def window() -> float:
            deadline = time.monotonic() + 30
            while sum(d.state is State.DOWNLOADING for d in manager.downloads()) < args.active:
                if time.monotonic() > deadline:
                    raise SystemExit("the downloads did not all start")
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)  # past the start-up
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.sleep(args.seconds)
            return (time.process_time() - cpu) / (time.perf_counter() - wall)

        if not dashboard:
            return await window()
        from afetch_tui.ui.app import AfetchApp

        columns, rows = (int(n) for n in args.terminal.split("x"))
        async with AfetchApp(manager, cursor_blink=False).run_test(size=(columns, rows)):
            return await window()
    finally:
        await manager.close()
        shutil.rmtree(out, ignore_errors=True)


def out_root() -> Path:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() else Path(tempfile.gettempdir())


async def compare(base: str, args: argparse.Namespace) -> int:
    shares: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.runs):
        for dashboard in (False, True):
            shares[dashboard].append(await one_run(base, args, dashboard))
    for label, key in (("engine alone", False), ("with dashboard", True)):
        print(f"{label:>15}: " + " ".join(f"{s:.1%}" for s in shares[key]) + " of a core")
    alone, shown = statistics.median(shares[False]), statistics.median(shares[True])
    cost = shown - alone
    verdict = "pass" if cost <= TARGET else "FAIL"
    print(f"{args.active} active ({args.queued} more paused), {args.rate} KiB/s each:"
          f" engine {alone:.1%}, with the dashboard {shown:.1%}; the dashboard costs"
          f" {cost:.1%} of a core (target <= {TARGET:.0%}): {verdict}")  # fmt: skip
    return 0 if cost <= TARGET else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--active", type=int, default=50)
    parser.add_argument("--rate", type=int, default=64, help="KiB/s per file")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--terminal", default="200x50", help="COLUMNSxROWS")
    parser.add_argument("--queued", type=int, default=0, help="paused rows beside them")
    args = parser.parse_args()
    size = args.rate * 1024 * int(args.seconds + 40)  # outlasts the start and the window
    with slow_server(args.rate, size) as base:
        return asyncio.run(compare(base, args))


if __name__ == "__main__":
    sys.exit(main())
