#!/usr/bin/env python3
"""Which shape of aiofiles writer costs what the ``os.pwritev`` writer costs? (issue 10)

Usage::

    python benchmarks/writers.py [--runs N] [--workdir DIR] [--shapes a,b,...]
    python benchmarks/writers.py afetch get ...     # afetch with the old pwritev writer

The second form is how ``bench.py --scenarios writer`` runs afetch with the writer it had
before aiofiles (`PwritevWriter`, kept here and nowhere in the package): the same copy
loop, with each batch written by ``os.pwritev`` at its offset instead of an aiofiles
handle's ``writelines``. It exists only for that comparison.

The first form streams bench.py's 1 GiB file from its nginx with one aiohttp connection
(``readchunk`` pieces gathered into batches, each awaited before the next is read: a
simpler loop than afetch's, which reads the next batch while one is in flight), and writes
it to tmpfs with each writer shape in turn, the runs alternating between the shapes.
Prints the median wall and CPU seconds of each and its ratio to ``pwritev``.

Shapes: ``pwritev-4M`` (the old writer: ``os.pwritev`` of the batch in a thread pool)
and ``aiofiles-<batch>-<buffering>``: an ``aiofiles.open(path, "r+b")`` handle, seeked once,
that takes each batch with ``writelines`` (no join), on the same kind of thread pool.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiofiles
import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench

from afetch_tui.engine.partfile import PartFile, PartialWrite

MIB = 1024 * 1024
SHAPES = {
    "pwritev-4M": ("pwritev", 4 * MIB, 0),
    "aiofiles-4M-unbuffered": ("aiofiles", 4 * MIB, 0),
    "aiofiles-4M-buffered": ("aiofiles", 4 * MIB, -1),
    "aiofiles-16M-unbuffered": ("aiofiles", 16 * MIB, 0),
    "aiofiles-1M-unbuffered": ("aiofiles", 1 * MIB, 0),
}


class PwritevWriter:
    """The body writer afetch had before aiofiles, behind `body.PartWriter`'s interface:
    ``os.pwritev`` of each batch at its offset, on the part's tracked thread pool."""

    def __init__(self, part: PartFile, position: int) -> None:
        self._part = part
        self.position = position

    @classmethod
    async def open(cls, part: PartFile, position: int) -> PwritevWriter:
        return cls(part, position)

    async def write(self, batch: list[bytes], size: int) -> None:
        executor, fd = self._part.executor, self._part.fd
        await asyncio.wrap_future(executor.submit(_pwrite_all, fd, batch, self.position))
        self.position += size

    async def close(self) -> None:
        """Nothing of its own to close: the part's descriptor is closed by the part."""


def _pwrite_all(fd: int, chunks: list[bytes], offset: int) -> None:
    """Write every byte of ``chunks`` at ``offset``; `PartialWrite` says what landed."""
    views = [memoryview(chunk) for chunk in chunks if chunk]
    start = offset
    while views:
        try:
            written = os.pwritev(fd, views[:512], offset)
        except OSError as exc:
            raise PartialWrite(exc, offset - start) from exc
        offset += written
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


def run_afetch_with_pwritev(argv: list[str]) -> int:
    """afetch's command line, with `PwritevWriter` in place of the aiofiles writer."""
    from afetch_tui.cli import main as afetch_main
    from afetch_tui.engine import transfer

    transfer.PartWriter = PwritevWriter  # type: ignore[assignment,misc]
    return afetch_main(argv)


def pwrite_all(fd: int, chunks: list[bytes], offset: int) -> int:
    views = [memoryview(c) for c in chunks]
    total = 0
    while views:
        written = os.pwritev(fd, views[:512], offset + total)
        total += written
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]
    return total


async def one_run(url: str, target: Path, shape: str, pool: ThreadPoolExecutor) -> float:
    kind, batch_bytes, buffering = SHAPES[shape]
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.get(url, headers={"Accept-Encoding": "identity"}) as response,
    ):
        content = response.content
        transport = response.connection.transport if response.connection else None
        if transport is not None and hasattr(transport, "max_size"):
            transport.max_size = 1024 * 1024
        if kind == "pwritev":
            fd = os.open(target, os.O_RDWR)
            offset = 0

            async def write(batch: list[bytes]) -> None:
                nonlocal offset
                offset += await loop.run_in_executor(pool, pwrite_all, fd, batch, offset)
        else:
            handle = await aiofiles.open(target, "r+b", buffering=buffering, executor=pool)
            await handle.seek(0)

            async def write(batch: list[bytes]) -> None:
                await handle.writelines(batch)

        batch: list[bytes] = []
        size = 0
        while True:
            chunk, end = await content.readchunk()
            if not chunk and end:
                continue
            if chunk:
                batch.append(chunk)
                size += len(chunk)
            if batch and (not chunk or size >= batch_bytes):
                await write(batch)
                batch, size = [], 0
            if not chunk:
                break
        if kind == "pwritev":
            os.close(fd)
        else:
            await handle.close()
    return time.perf_counter() - started


def timed_run(url: str, target: Path, shape: str, pool: ThreadPoolExecutor) -> float:
    target.unlink(missing_ok=True)
    target.touch()
    wall = asyncio.run(one_run(url, target, shape, pool))
    if target.stat().st_size != bench.BIG_SIZE:
        raise SystemExit(f"{shape}: wrote {target.stat().st_size} bytes")
    return wall


def main() -> int:
    if sys.argv[1:2] == ["afetch"]:
        return run_afetch_with_pwritev(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=bench.default_workdir())
    parser.add_argument("--shapes", default=",".join(SHAPES))
    args = parser.parse_args()
    shapes = args.shapes.split(",")
    data = bench.ensure_data(args.workdir / "data", ["big"])
    bench.warm_page_cache(data)
    out = Path(tempfile.mkdtemp(prefix="afetch-writers-", dir="/dev/shm"))
    walls: dict[str, list[float]] = {s: [] for s in shapes}
    cpus: dict[str, list[float]] = {s: [] for s in shapes}
    pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="bench-writer")
    try:
        with bench.serve(bench.choose_server("auto"), data, args.workdir) as base:
            for i in range(args.runs):
                for shape in shapes:
                    cpu0 = time.process_time()
                    wall = timed_run(base + "/big.bin", out / "big.bin", shape, pool)
                    walls[shape].append(wall)
                    cpus[shape].append(time.process_time() - cpu0)
                    print(f"  run {i + 1} {shape:<24} {wall:6.2f} s  {cpus[shape][-1]:5.2f} CPU s")
    finally:
        pool.shutdown()
        shutil.rmtree(out, ignore_errors=True)
    ref = statistics.median(walls[shapes[0]])
    ref_cpu = statistics.median(cpus[shapes[0]])
    print(f"\n{'shape':<24} {'median s':>9} {'CPU s':>7} {'time/' + shapes[0]:>18} {'CPU/':>6}")
    for shape in shapes:
        wall, cpu = statistics.median(walls[shape]), statistics.median(cpus[shape])
        print(f"{shape:<24} {wall:>9.2f} {cpu:>7.2f} {wall / ref:>17.3f}x {cpu / ref_cpu:>5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
