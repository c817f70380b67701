#!/usr/bin/env python3
"""The dashboard with many downloads: how long it takes to start, and to answer each key.

Usage::

    python benchmarks/dashboard_keys.py [--size 100000] [--terminal 120x40] [--rounds 3]
                                        [--idle] [--profile FILE] [--server auto|nginx|aiohttp]

One list of distinct URLs on one host (scale.py's server: every URL maps onto one 1 KiB
file) is queued in a `DownloadManager` with a state file, as ``afetch`` does, and the real
`AfetchApp` runs headless (``run_test``) over it while the downloads run (``--idle``: all
queued paused, nothing runs). It prints:

- start: seconds from the app's construction (the manager already holding the downloads)
  to the first frame whose table shows rows, and the part of it spent in
  ``manager.downloads()``;
- for each key (cursor moves, page down, end, sort, state filter, filter typing, marks,
  pause / resume / move of a row): the seconds from the key event to the first frame
  that shows what it did, the median and worst of ``--rounds`` rounds, and the median CPU
  seconds this process spent meanwhile (``time.process_time``: on a busy machine the wall
  time also holds what other processes took, the CPU time only this one's work).

A frame is one call of the app's ``_display`` (what would be written to the terminal),
which is also made to encode the update as a terminal would (``render_segments``). Each
key's result is checked on the frame itself (the cursor row, the box title, the row's
state, the order shown), so a frame that came before the key's effect does not count.

The target (issue 14): the dashboard starts in <= 5 s with 100,000 rows and answers each
key in <= 100 ms. On a busy machine the figures are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import shutil
import statistics
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import scale

from afetch_tui.engine.events import State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.engine.store import Store

TARGET_START = 5.0
TARGET_KEY = 0.100
KEY_TIMEOUT = 20.0


class Frames:
    """Watches the app's frames; `wait_for` returns when a frame shows what is expected."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = 0
        self._check: Callable[[], bool] | None = None
        self._seen: asyncio.Future[tuple[float, float]] | None = None
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None or app._batch_count:
                return
            if hasattr(renderable, "render_segments"):
                renderable.render_segments(app.console)  # what a terminal would be sent
            self.count += 1
            check, seen = self._check, self._seen
            if check is not None and seen is not None and not seen.done() and check():
                seen.set_result((time.perf_counter(), time.process_time()))

        app._display = display

    def expect(self, check: Callable[[], bool]) -> asyncio.Future[tuple[float, float]]:
        self._check = check
        self._seen = asyncio.get_running_loop().create_future()
        return self._seen

    async def key(self, key: str, check: Callable[[], bool]) -> tuple[float, float]:
        """Send one key (as Textual's Pilot does) and time it to the frame showing `check`:
        wall seconds and this process's CPU seconds."""
        from textual import events
        from textual.keys import _character_to_key, _get_unicode_name_from_key

        seen = self.expect(check)
        started, cpu = time.perf_counter(), time.process_time()
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        try:
            char: str | None = unicodedata.lookup(_get_unicode_name_from_key(name))
        except KeyError:
            char = key if len(key) == 1 else None
        event = events.Key(name, char)
        event.set_sender(self.app)
        self.app._driver.send_message(event)
        try:
            shown, shown_cpu = await asyncio.wait_for(seen, KEY_TIMEOUT)
        except TimeoutError:
            table = self.app.dashboard.table
            where = f"focus {self.app.focused}, cursor {table.cursor} of {table.row_count}"
            print(f"  {key!r}: no frame showed it within {KEY_TIMEOUT:.0f} s ({where})", flush=True)
            return float("inf"), float("inf")
        return shown - started, shown_cpu - cpu


async def measure(base: str, size: int, terminal: tuple[int, int], rounds: int, idle: bool,
                  profile: Path | None, gc_detail: bool = False) -> int:  # fmt: skip
    from afetch_tui.ui.app import AfetchApp
    from afetch_tui.ui.model import Show, Sort
    from afetch_tui.ui.widgets.downloads_table import DownloadsTable

    work = Path(tempfile.mkdtemp(prefix="afetch-dash-keys-", dir=scale_out_root()))
    store = await Store.open(work / "state.sqlite")
    options = ManagerOptions(trust_env=False, fsync=False)
    manager = DownloadManager(work / "files", options=options, store=store)
    await manager.start()
    urls = [f"{base}/q/{n}/f{n}.bin" for n in range(size)]
    queued = time.perf_counter()
    await manager.add_many(DownloadSpec(urls, paused=idle))
    print(f"queued {size:,} in {time.perf_counter() - queued:.2f} s", flush=True)

    read = manager.downloads
    spent: list[float] = []

    def timed_downloads() -> Any:
        t = time.perf_counter()
        try:
            return read()
        finally:
            spent.append(time.perf_counter() - t)

    manager.downloads = timed_downloads  # type: ignore[method-assign]
    gc_times = watch_collections(gc_detail)
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    app = AfetchApp(manager, cursor_blink=False)
    frames = Frames(app)
    first = frames.expect(lambda: app.dashboard.is_mounted and app.dashboard.table.row_count > 0)
    failed = False
    results: dict[str, list[tuple[float, float]]] = {}
    try:
        async with app.run_test(size=terminal) as pilot:
            start = (await asyncio.wait_for(first, 120))[0] - started
            downloads_s = spent[0] if spent else float("nan")
            print(
                f"start: {start:.2f} s to the first frame with rows ({downloads_s:.2f} s of it"
                f" in manager.downloads()); target <= {TARGET_START:.0f} s",
                flush=True,
            )
            failed |= start > TARGET_START
            screen = app.dashboard
            table = screen.query_one(DownloadsTable)
            model = app.model
            title = lambda: str(screen.query_one("#downloads-box").border_title)  # noqa: E731

            def settle() -> Any:
                return pilot.pause(0.3)

            async def key(label: str, name: str, check: Callable[[], bool]) -> None:
                seconds = await frames.key(name, check)
                results.setdefault(label, []).append(seconds)
                await settle()

            await settle()
            for _ in range(rounds):
                table.cursor = 0  # the last round ended on the last row (b)
                await settle()
                at = table.cursor
                await key("down", "down", lambda at=at: table.cursor == at + 1)
                at = table.cursor
                await key("page down", "pagedown", lambda at=at: table.cursor > at + 1)
                await key("end (G)", "G", lambda: table.cursor == table.row_count - 1)
                await key("home (g)", "g", lambda: table.cursor == 0)
                for sort in [*list(Sort)[1:], Sort.QUEUE]:
                    suffix = f"by {sort.value}"
                    check = (
                        (lambda s=suffix: s in title())
                        if sort is not Sort.QUEUE
                        else (lambda: " by " not in title())
                    )
                    await key(f"sort: {sort.value}", "o", check)
                for show in [*list(Show)[1:], Show.ALL]:
                    await key(
                        f"state filter: {show.value}",
                        "v",
                        (lambda s=show: f"· {s.value}" in title())
                        if show is not Show.ALL
                        else (lambda: "·" not in title()),
                    )
                await key("/ (open the filter)", "slash", lambda: screen.focused is not table)
                typed = ""
                for char in "f12":
                    typed += char
                    await key(f"filter: type {char!r}", char, lambda t=typed: f"“{t}”" in title())
                await key("filter: escape", "escape", lambda: "“" not in title())
                selected = table.selected_id
                await key("mark (m)", "m", lambda s=selected: s in model.marks and "marked" in
                          str(screen.query_one("#downloads-box").border_subtitle))  # fmt: skip
                await key("unmark all (escape)", "escape", lambda: not model.marks)
                # a row near the end: still queued while the first ones run
                await key("end (G)", "G", lambda: table.cursor == table.row_count - 1)
                # below the last row still waiting (earlier rounds moved finished ones down)
                waiting = [
                    n
                    for n, i in enumerate(table.shown_ids[:-1])
                    if model.rows[i].snap.state in (State.QUEUED, State.PAUSED)
                ]
                if not waiting:  # a small list is done already: nothing to pause or move
                    continue
                table.cursor = 1 + waiting[-1]
                await settle()
                at = table.cursor
                await key("up", "up", lambda at=at: table.cursor == at - 1)
                selected = table.selected_id

                def shown_state(download_id: int | None, *states: State) -> bool:
                    line = table.painted(download_id) if download_id is not None else None
                    return line is not None and line[0].state in states

                paused = shown_state(selected, State.PAUSED)  # --idle: all are
                await key(
                    "pause / resume a row (p)",
                    "p",
                    lambda s=selected, p=paused: shown_state(s, State.PAUSED) is not p,
                )
                if not paused:  # a resumed one (--idle) just completes
                    await key(
                        "and back (p)",
                        "p",
                        lambda s=selected: shown_state(s, State.PAUSED) is False,
                    )
                await key("move to top (t)", "t", lambda s=selected: table._ids[:1] == [s])
                await key("move to bottom (b)", "b", lambda s=selected: table._ids[-1:] == [s])
            await settle()
    finally:
        if profiler:
            profiler.disable()
            profiler.dump_stats(str(profile))
        await manager.close()
        await store.close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'key':28} {'median ms':>10} {'worst ms':>9} {'CPU ms':>7}")
    for label, pairs in results.items():
        times = [wall for wall, _ in pairs]
        worst = max(times)
        cpu = statistics.median(cpu for _, cpu in pairs)
        verdict = "" if worst <= TARGET_KEY else "  over 100 ms"
        failed |= worst > TARGET_KEY
        print(f"{label:28} {statistics.median(times) * 1000:>10.0f} {worst * 1000:>9.0f}"
              f" {cpu * 1000:>7.0f}{verdict}")  # fmt: skip
    longest, spent_gc = max(gc_times, default=0) * 1000, sum(gc_times) * 1000
    print(f"full garbage collections: {len(gc_times)}, longest {longest:.0f} ms,"
          f" {spent_gc:.0f} ms in all")  # fmt: skip
    print(f"{frames.count} frames; keys target <= {TARGET_KEY * 1000:.0f} ms: "
          + ("FAIL" if failed else "pass"))  # fmt: skip
    return 1 if failed else 0


def watch_collections(detail: bool = False) -> list[float]:
    """The seconds each full garbage collection takes from now on (a key waits for one);
    `detail`: print each one's length, the objects it walked and what it freed."""
    times: list[float] = []
    started = [0.0]
    walked = [0]
    widest: list[tuple[str, int]] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            if detail:
                objects = [o for g in range(3) for o in gc.get_objects(generation=g)]
                walked[0] = len(objects)
                refs: Counter[str] = Counter()
                for o in objects:
                    refs[type(o).__name__] += len(gc.get_referents(o))
                walked.append(sum(refs.values()))
                widest[:] = refs.most_common(4)
                del objects
            started[0] = time.perf_counter()
        else:
            times.append(time.perf_counter() - started[0])
            if detail:
                print(f"  full collection: {times[-1] * 1000:.0f} ms, {walked[0]:,} objects"
                      f" walked ({walked.pop():,} references; most in {widest}),"
                      f" {info.get('collected', 0):,} freed,"
                      f" {gc.get_freeze_count():,} frozen", flush=True)  # fmt: skip

    gc.callbacks.append(callback)
    return times


def scale_out_root() -> Path:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() else Path(tempfile.gettempdir())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--terminal", default="120x40", help="COLUMNSxROWS")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", action="store_true", help="queue them paused: nothing runs")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the app here")
    parser.add_argument("--gc-detail", action="store_true", help="print each full collection")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/afetch-scale"))
    parser.add_argument("--server", choices=("auto", "nginx", "aiohttp"), default="auto")
    args = parser.parse_args()
    columns, rows = (int(n) for n in args.terminal.split("x"))
    args.workdir.mkdir(parents=True, exist_ok=True)
    with scale.serve(args.server, args.workdir, scale.DEFAULT_BODY) as base:
        return asyncio.run(
            measure(
                base,
                args.size,
                (columns, rows),
                args.rounds,
                args.idle,
                args.profile,
                args.gc_detail,
            )
        )


if __name__ == "__main__":
    sys.exit(main())
