#!/usr/bin/env python3
"""What the dashboard's view model weighs per row, and where the bytes go (issue 14).

Usage::

    python benchmarks/row_memory.py [--count 100000] [--run N] [--top 20]
                                    [--filter TEXT] [--sort name] [--server auto|nginx|aiohttp]

Queues ``--count`` distinct URLs on one host (scale.py's server, 1 KiB each) in a
`DownloadManager` without a store, loads them into a `ViewModel` as the dashboard does at
start (``manager.downloads()``) and folds the manager's events in as they come while the
first ``--run`` downloads run to completion (the rest are queued paused). ``--filter``
and ``--sort`` apply a filter text or an order once they are done. It prints:

- tracemalloc: the bytes allocated while the model was loaded and still allocated after
  (what the rows keep at start), per row;
- the model's own objects: everything reachable from it and not from the manager
  (`sys.getsizeof`, each object once), per state of its row and by type;
- the objects the garbage collector tracks among them (what a full collection walks).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FunctionType, ModuleType

sys.path.insert(0, str(Path(__file__).parent))

import scale

from afetch_tui.engine import DownloadSpec, State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.ui.model import Sort, ViewModel

_OPAQUE = (type, ModuleType, FunctionType)
"""Not walked into: classes, modules and functions are shared by everything."""


def reachable(root: object, seen: set[int], into: dict[int, object] | None = None) -> None:
    """Every object reachable from `root` and not in `seen` (added to `seen`, and to
    `into` by id)."""
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _OPAQUE):
            continue
        seen.add(id(obj))
        if into is not None:
            into[id(obj)] = obj
        stack.extend(gc.get_referents(obj))


def own_objects(model: ViewModel, manager: DownloadManager) -> dict[int, object]:
    """What the model alone holds: reachable from it, not from the manager."""
    seen: set[int] = set()
    reachable(manager, seen)
    for state in State:
        reachable(state, seen)
    own: dict[int, object] = {}
    reachable(model, seen, own)
    return own


def report_own(model: ViewModel, manager: DownloadManager, top: int) -> None:
    own = own_objects(model, manager)
    count = len(model.rows)
    total = sum(sys.getsizeof(o) for o in own.values())
    tracked = sum(1 for o in own.values() if gc.is_tracked(o))
    print(f"\nthe model's own objects: {total / count:.0f} bytes per row"
          f" ({total / 2**20:.1f} MiB), {tracked / count:.2f} tracked objects per row")  # fmt: skip
    by_state: dict[State, list[int]] = {}
    counted: set[int] = set()
    for row in model.rows.values():  # per row: what only it reaches (each object once)
        mine: dict[int, object] = {}
        reachable(row, counted, mine)
        size = sum(sys.getsizeof(o) for o in mine.values() if id(o) in own)
        by_state.setdefault(row.snap.state, []).append(size)
    for state, sizes in by_state.items():
        print(f"  {state.value:12} {len(sizes):>8,} rows, {sum(sizes) / len(sizes):6.0f} B each")
    sizes_by_type: Counter[str] = Counter()
    numbers: Counter[str] = Counter()
    for obj in own.values():
        name = type(obj).__name__
        sizes_by_type[name] += sys.getsizeof(obj)
        numbers[name] += 1
    print(f"  by type (top {top}):")
    for name, size in sizes_by_type.most_common(top):
        tracked_note = (
            " (tracked)"
            if any(gc.is_tracked(o) for o in own.values() if type(o).__name__ == name)
            else ""
        )
        print(f"    {size / count:7.1f} B/row  {numbers[name]:>9,}  {name}{tracked_note}")


async def measure(base: str, count: int, run: int, top: int, text: str, sort: str | None) -> None:
    work = Path(tempfile.mkdtemp(prefix="afetch-row-memory-", dir=scale_out_root()))
    manager = DownloadManager(work, options=ManagerOptions(trust_env=False, fsync=False))
    await manager.start()
    try:
        urls = [f"{base}/q/{n}/f{n}.bin" for n in range(count)]
        await manager.add_many(DownloadSpec(urls[:run], paused=True))
        await manager.add_many(DownloadSpec(urls[run:], paused=True))
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        started = time.process_time()
        model = ViewModel()
        model.load(manager.downloads(), manager.hosts(), manager.limits)
        model.shown()
        model.take()
        cpu = time.process_time() - started
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        print(f"{count:,} rows loaded: {(after - before) / count:.0f} bytes per row kept"
              f" (tracemalloc), {cpu:.2f} s CPU to load (traced)")  # fmt: skip
        if run:
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            subscription = manager.subscribe()
            ids = list(model.rows)[:run]
            for download_id in ids:
                await manager.resume(download_id)
            while model.counts().completed + model.counts().failed < run:
                for event in [await anext(subscription), *subscription.drain()]:
                    model.apply(event)
                model.take()
            subscription.close()
            model.take()
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
            stats = tracemalloc.take_snapshot().statistics("lineno")
            tracemalloc.stop()
            counts = model.counts()
            print(f"{run:,} ran ({counts.completed:,} completed, {counts.failed:,} failed):"
                  f" {(after - before) / run:.0f} bytes kept per download run, engine and"
                  " model (tracemalloc); allocated by:")  # fmt: skip
            for stat in stats[:top]:
                frame = stat.traceback[0]
                name = "/".join(Path(frame.filename).parts[-2:])
                print(f"  {stat.size / run:7.1f} B  {stat.count:>8,}  {name}:{frame.lineno}")
        if text or sort:
            model.set_view(text=text or None, sort=Sort(sort) if sort else None)
            model.shown()
        model.take()
        gc.collect()
        report_own(model, manager, top)
    finally:
        await manager.close()


def scale_out_root() -> Path:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() else Path(tempfile.gettempdir())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--run", type=int, default=0)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--filter", default="")
    parser.add_argument("--sort", choices=[s.value for s in Sort])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/afetch-scale"))
    parser.add_argument("--server", choices=("auto", "nginx", "aiohttp"), default="auto")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    with scale.serve(args.server, args.workdir, scale.DEFAULT_BODY) as base:
        asyncio.run(measure(base, args.count, args.run, args.top, args.filter, args.sort))
    return 0


if __name__ == "__main__":
    sys.exit(main())
