#!/usr/bin/env python3
"""Throughput of the 1 GiB download with the dashboard open, against the engine alone.

Usage::

    python benchmarks/dashboard.py [--runs N] [--workdir DIR] [--server auto|nginx|aiohttp]

Uses bench.py's data set and server. Each run downloads the 1 GiB file to tmpfs with a
fresh `DownloadManager`; "dashboard" runs do it while the real app runs headless
(`App.run_test(size=(200, 50))`), repainting at its usual rate. Prints the medians and
the ratio (target, issue 12: the dashboard keeps >= 97% of the headless throughput).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench

from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions


async def one_run(url: str, out: Path, with_dashboard: bool) -> float:
    shutil.rmtree(out, ignore_errors=True)
    manager = DownloadManager(out, options=ManagerOptions(trust_env=False, fsync=False))
    await manager.start()
    try:
        if not with_dashboard:
            started = time.perf_counter()
            await manager.add(url)
            await manager.wait()
            return time.perf_counter() - started
        from afetch_tui.ui.app import AfetchApp

        async with AfetchApp(manager).run_test(size=(200, 50)):
            started = time.perf_counter()
            await manager.add(url)
            await manager.wait()
            return time.perf_counter() - started
    finally:
        await manager.close()


async def compare(url: str, runs: int) -> None:
    out = Path(tempfile.mkdtemp(prefix="afetch-dash-", dir="/dev/shm"))
    times: dict[bool, list[float]] = {False: [], True: []}
    try:
        for _ in range(runs):
            for with_dashboard in (False, True):
                times[with_dashboard].append(await one_run(url, out, with_dashboard))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    headless, dashboard = statistics.median(times[False]), statistics.median(times[True])
    for label, key in (("headless", False), ("dashboard", True)):
        print(f"{label:>10}: " + " ".join(f"{t:.2f}" for t in times[key]) + " s")
    print(f"median headless {headless:.3f} s, with dashboard {dashboard:.3f} s")
    print(f"throughput with the dashboard open: {headless / dashboard:.1%} of headless")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=bench.default_workdir())
    parser.add_argument("--server", default="auto", choices=("auto", "nginx", "aiohttp"))
    args = parser.parse_args()
    data = bench.ensure_data(args.workdir / "data", ["big"])
    bench.warm_page_cache(data)
    with bench.serve(bench.choose_server(args.server), data, args.workdir) as base:
        asyncio.run(compare(base + "/big.bin", args.runs))


if __name__ == "__main__":
    main()
