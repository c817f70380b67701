#!/usr/bin/env python3
"""Profile `afetch get` on one of bench.py's list scenarios (where afetch's per-file cost is).

Usage::

    python benchmarks/profile_files.py [--scenario small|latency|queue10k|medium]
                                       [--profiler cprofile|pyinstrument] [--top N]
                                       [--count N] [--clock wall|thread] [--bare]
                                       [--save FILE] [--workdir DIR] [--latency-ms MS]
                                       [-- AFETCH-ARGS...]

Starts bench.py's server (and the latency server for ``latency``), then runs
``afetch get -j16 -q --no-fsync --max-per-host 16`` on the scenario's URL list in this
process under the profiler, into a fresh tmpfs directory, and prints the profile:
cProfile's top functions by own time and by cumulative time, or pyinstrument's tree.
Wall and CPU time of the whole run are printed first (the profiler itself adds to both).

``--count N`` takes the scenario's first N files; ``--clock thread`` makes cProfile count
the main thread's CPU time (``time.thread_time``) instead of wall time, which a busy
machine inflates at random; ``--bare`` profiles benchmarks/bare.py's loop instead of
afetch. Two saved profiles of different lengths give the cost per file by category:
benchmarks/profile_split.py (see benchmarks/PROFILE.md).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench


def afetch_main(argv: list[str]) -> int:
    from afetch_tui import cli

    try:
        return cli.main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def import_afetch() -> None:
    import aiohttp  # noqa: F401

    import afetch_tui.config
    import afetch_tui.engine.manager
    import afetch_tui.headless  # noqa: F401


def bare_main(directory: Path) -> Callable[[list[str]], int]:
    import asyncio

    import bare

    return lambda urls: asyncio.run(bare.run(urls, directory, bench.PARALLEL))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario", default="small", choices=("small", "latency", "queue10k", "medium")
    )
    parser.add_argument("--profiler", default="cprofile", choices=("cprofile", "pyinstrument"))
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--save", type=Path, help="also write cProfile's stats to this file")
    parser.add_argument("--count", type=int, help="only the scenario's first N files")
    parser.add_argument("--clock", default="wall", choices=("wall", "thread"))
    parser.add_argument("--bare", action="store_true", help="profile the bare aiohttp loop")
    parser.add_argument("--workdir", type=Path, default=bench.default_workdir())
    parser.add_argument("--latency-ms", type=float, default=bench.LATENCY_MS)
    parser.add_argument("extra", nargs="*", help="more afetch get options")
    args = parser.parse_args()
    data = bench.ensure_data(args.workdir / "data", bench.parts_for([args.scenario]))
    scenario = bench.build_scenarios(data, args.latency_ms)[args.scenario]
    out = Path(tempfile.mkdtemp(prefix="afetch-profile-", dir="/dev/shm"))
    try:
        with contextlib.ExitStack() as stack:
            base = stack.enter_context(bench.serve(bench.choose_server("auto"), data, args.workdir))
            if scenario.server == "latency":
                base = stack.enter_context(bench.serve_latency(data, args.workdir, args.latency_ms))
            files = scenario.files[: args.count] if args.count else scenario.files
            urls = out / "urls.txt"
            urls.write_text("".join(f"{base}{f.url_path}\n" for f in files))
            argv = ["get", f"-j{bench.PARALLEL}", *bench.AFETCH_COMMON,
                    "--state", str(out / "state.db"), "-d", str(out / "files"),
                    "-i", str(urls), *args.extra]  # fmt: skip
            run = afetch_main
            if args.bare:
                (out / "files").mkdir()
                argv = [f"{base}{f.url_path}" for f in files]
                run = bare_main(out / "files")
            else:
                import_afetch()  # outside the profile: start-up is not what it looks at
            cpu0, wall0 = time.process_time(), time.perf_counter()
            if args.profiler == "cprofile":
                profile = (
                    cProfile.Profile(time.thread_time)
                    if args.clock == "thread"
                    else cProfile.Profile()
                )
                code = profile.runcall(run, argv)
            else:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0005, async_mode="disabled")
                profiler.start()
                code = run(argv)
                profiler.stop()
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    finally:
        shutil.rmtree(out, ignore_errors=True)
    what = f"{len(files)} of {scenario.description}"
    print(f"{what}: exit {code}, {wall:.2f} s wall, {cpu:.2f} s CPU (profiled)")
    if args.profiler == "cprofile":
        if args.save:
            profile.dump_stats(args.save)
        for key in ("tottime", "cumulative"):
            text = io.StringIO()
            pstats.Stats(profile, stream=text).sort_stats(key).print_stats(args.top)
            print(text.getvalue())
    else:
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    return code


if __name__ == "__main__":
    sys.exit(main())
