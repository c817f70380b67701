#!/usr/bin/env python3
"""What one afetch per user costs: hand-off latency, and throughput with an attached dashboard.

Usage::

    python benchmarks/control.py [--runs N] [--adds N] [--workdir DIR] [--server auto|nginx|aiohttp]

1. ``afetch add URL`` to the row on screen: a dashboard (the real app, headless, at its usual
   4 Hz repaint) owns the state file in this process; ``afetch add`` runs as a new process
   each time. Prints the median from process start to the row, and to the command's exit.
2. The 1 GiB download (bench.py's data set and server, to tmpfs) with the dashboard in the
   manager's own process, against ``afetch serve`` in another process with the dashboard
   attached over the socket, and ``afetch serve`` alone. Timed from the add to completion.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench

from afetch_tui.control.client import Connection
from afetch_tui.control.paths import socket_path
from afetch_tui.control.remote import RemoteManager
from afetch_tui.control.serve import listen
from afetch_tui.engine.events import State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.ui.app import AfetchApp

AFETCH = (sys.executable, "-m", "afetch_tui")
OPTIONS = ManagerOptions(trust_env=False, fsync=False)


async def until(predicate: object, step: float = 0.002) -> None:
    while not predicate():  # type: ignore[operator]  # noqa: ASYNC110 - a plain condition
        await asyncio.sleep(step)


async def hand_off_latency(url: str, adds: int, work: Path) -> None:
    state = work / "latency.db"
    to_row: list[float] = []
    to_exit: list[float] = []
    by_socket: list[float] = []
    replied: list[float] = []
    async with DownloadManager(work / "latency", options=OPTIONS) as manager:
        control = await listen(manager, state, role="dashboard")
        app = AfetchApp(manager, cursor_blink=False)
        try:
            async with app.run_test(size=(160, 40)) as pilot:
                await pilot.pause()
                connection = await Connection.connect(control.path)
                for n in range(adds):  # the socket and the repaint alone, no process start
                    await asyncio.sleep(random.uniform(0, 0.25))  # not in step with the ticks
                    started = time.perf_counter()
                    await connection.request("add", items=[{"url": f"{url}?s={n}"}])
                    replied.append(time.perf_counter() - started)
                    await until(lambda n=n: _shown(app, n + 1))
                    by_socket.append(time.perf_counter() - started)
                await connection.close()
                for n in range(adds, 2 * adds):
                    started = time.perf_counter()
                    proc = await asyncio.create_subprocess_exec(
                        *AFETCH,
                        "add",
                        "--state",
                        str(state),
                        f"{url}?n={n}",
                        stdout=subprocess.DEVNULL,
                    )
                    await until(lambda n=n: _shown(app, n + 1))
                    to_row.append(time.perf_counter() - started)
                    await proc.wait()
                    to_exit.append(time.perf_counter() - started)
        finally:
            await control.close()
    print(
        f"afetch add -> row on screen: median {statistics.median(to_row) * 1000:.0f} ms "
        f"(min {min(to_row) * 1000:.0f}, max {max(to_row) * 1000:.0f}); "
        f"-> command exits: median {statistics.median(to_exit) * 1000:.0f} ms "
        f"over {adds} adds"
    )
    print(
        f"an add request on an open connection -> row on screen: median "
        f"{statistics.median(by_socket) * 1000:.0f} ms (the reply after "
        f"{statistics.median(replied) * 1000:.0f} ms; the dashboard repaints at 4 Hz)"
    )


def _shown(app: AfetchApp, rows: int) -> bool:
    from afetch_tui.ui.widgets.downloads_table import DownloadsTable

    return app.screen.query_one(DownloadsTable).row_count >= rows


Timing = tuple[float, float, float]
"""Wall-clock seconds, CPU seconds of every afetch process involved, and of the dashboard's."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def in_process(url: str, out: Path) -> Timing:
    async with (
        DownloadManager(out, options=OPTIONS) as manager,
        AfetchApp(manager).run_test(size=(200, 50)),
    ):
        started, cpu = time.perf_counter(), time.process_time()
        await manager.add(url)
        await manager.wait()
        used = time.process_time() - cpu
        return time.perf_counter() - started, used, used


async def over_socket(url: str, out: Path, state: Path, *, dashboard: bool) -> Timing:
    serve = subprocess.Popen(  # noqa: ASYNC220 - started once, before the timing
        [*AFETCH, "serve", "--state", str(state), "-d", str(out), "--no-fsync"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stderr is not None
        serve.stderr.readline()  # "listening on ..."
        connection = await Connection.connect(socket_path(state))
        remote = await RemoteManager.attach(connection)
        try:
            if not dashboard:
                return await _timed(remote, url, serve.pid)
            async with AfetchApp(remote).run_test(size=(200, 50)):
                return await _timed(remote, url, serve.pid)
        finally:
            await remote.close()
    finally:
        serve.terminate()
        serve.wait()


async def _timed(remote: RemoteManager, url: str, serve: int) -> Timing:
    started, cpu, served = time.perf_counter(), time.process_time(), cpu_seconds(serve)
    (download_id,) = await remote.add_many(DownloadSpec([url]))
    await until(lambda: remote.download(download_id).state is State.COMPLETED, 0.005)
    here = time.process_time() - cpu
    return time.perf_counter() - started, here + cpu_seconds(serve) - served, here


async def throughput(url: str, runs: int, work: Path) -> None:
    out = Path(tempfile.mkdtemp(prefix="afetch-ctl-", dir="/dev/shm"))
    runs_of: dict[str, list[Timing]] = {"in-process": [], "attached": [], "serve alone": []}
    try:
        for run in range(runs):
            for label, timings in runs_of.items():
                shutil.rmtree(out, ignore_errors=True)
                state = work / f"tp-{label.replace(' ', '-')}-{run}.db"
                if label == "in-process":
                    timings.append(await in_process(url, out))
                else:
                    attached = label == "attached"
                    timings.append(await over_socket(url, out, state, dashboard=attached))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    size = 1024**3
    wall = {label: statistics.median(t[0] for t in ts) for label, ts in runs_of.items()}
    cpu = {label: statistics.median(t[1] for t in ts) for label, ts in runs_of.items()}
    ui = {label: statistics.median(t[2] for t in ts) for label, ts in runs_of.items()}
    for label, timings in runs_of.items():
        each = " ".join(f"{w:.2f}/{c:.2f}" for w, c, _ in timings)
        print(
            f"{label:>12}: median {wall[label]:.2f} s ({size / wall[label] / 2**20:.0f} MiB/s), "
            f"CPU {cpu[label]:.2f} s (this process {ui[label]:.2f}); runs (wall/CPU s): {each}"
        )
    print(
        f"attached keeps {wall['in-process'] / wall['attached']:.1%} of the in-process "
        f"throughput, for {cpu['attached'] / cpu['in-process']:.1%} of its CPU time"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="of the 1 GiB download (0: none)")
    parser.add_argument("--adds", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=bench.default_workdir())
    parser.add_argument("--server", default="auto", choices=("auto", "nginx", "aiohttp"))
    args = parser.parse_args()
    data = bench.ensure_data(args.workdir / "data", ["big"])
    bench.warm_page_cache(data)
    work = Path(tempfile.mkdtemp(prefix="afetch-ctl-"))
    if "XDG_RUNTIME_DIR" not in os.environ:
        (work / "run").mkdir(mode=0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(work / "run")
    try:
        with bench.serve(bench.choose_server(args.server), data, args.workdir) as base:
            asyncio.run(hand_off_latency(base + "/small/s0000.bin", args.adds, work))
            if args.runs:
                asyncio.run(throughput(base + "/big.bin", args.runs, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
