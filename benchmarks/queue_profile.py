#!/usr/bin/env python3
"""How long ``afetch get -i LIST`` takes to queue a long list, and what the queue weighs.

Usage::

    python benchmarks/queue_profile.py [--count 100000] [--tracemalloc] [--profile]
                                       [--hold] [--top 25]

Writes a list of ``--count`` distinct URLs to a closed port on 127.0.0.1 (every download
fails at once with ``--retries 0``: nothing leaves the machine, and nothing is written but
the state file), then runs ``afetch get`` in this process (``afetch_tui.cli.main``) and
prints, from the process start:

- ``parsed``: when the input file is read and the queue restored (``queue_entries`` starts);
- ``queued``: when the last batch is in the state file (``queue_entries`` returned);
- the RSS then (``ru_maxrss``), and with ``--tracemalloc`` the live Python bytes and the
  lines that allocated the most of them (tracemalloc slows the run ~3x: its times are
  not comparable).

The run stops there (the downloads are not waited for). ``--profile`` prints cProfile's
top functions by their own time; ``--hold`` starts no download until the whole list is
queued (a what-if: how much of ``queued`` is the transfers running beside it).
Timing figures are noisy on a shared machine: give the load (``uptime``) with them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import pstats
import resource
import shutil
import socket
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

START = time.perf_counter()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed once the socket is


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--hold", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    import afetch_tui.cli as cli
    import afetch_tui.headless as headless
    from afetch_tui.engine.runner import Runner

    work = Path(tempfile.mkdtemp(prefix="afetch-queue-"))
    port = closed_port()
    listing = work / "list"
    listing.write_text(
        "".join(f"http://127.0.0.1:{port}/q/{i}/f{i}.bin\n" for i in range(args.count))
    )
    marks: dict[str, Any] = {}
    queue_entries = headless.queue_entries  # type: ignore[attr-defined]
    schedule = Runner.schedule
    held = [False]

    def maybe_schedule(self: Runner) -> None:
        if not held[0]:
            schedule(self)

    async def timed(manager: Any, config: Any, **kw: Any) -> None:
        marks["parsed"] = time.perf_counter() - START
        held[0] = args.hold
        await queue_entries(manager, config, **kw)
        marks["queued"] = time.perf_counter() - START
        marks["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if args.tracemalloc:
            marks["traced_mib"] = tracemalloc.get_traced_memory()[0] / 2**20
            for stat in tracemalloc.take_snapshot().statistics("lineno")[: args.top]:
                print(stat)
        raise asyncio.CancelledError  # ends the run here, as Ctrl-C would

    headless.queue_entries = timed  # type: ignore[attr-defined]
    Runner.schedule = maybe_schedule  # type: ignore[method-assign]
    if args.tracemalloc:
        tracemalloc.start()
    profile = cProfile.Profile() if args.profile else None
    argv = ["get", "-i", str(listing), "--retries", "0", "-q", "--no-fsync"]
    argv += ["--state", str(work / "state.db"), "-d", str(work / "out")]
    if profile:
        profile.enable()
    quit_early = (SystemExit, KeyboardInterrupt, asyncio.CancelledError)
    with (
        open(os.devnull, "w") as null,  # -q still writes a line per failure
        contextlib.redirect_stderr(null),
        contextlib.suppress(*quit_early),
    ):
        cli.main(argv)
    shutil.rmtree(work, ignore_errors=True)
    if profile:
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    print(
        f"{args.count:,} URLs: parsed {marks.get('parsed', 0):.2f} s, "
        f"queued {marks.get('queued', 0):.2f} s, RSS then {marks.get('rss_mib', 0):.0f} MiB"
        + (f", traced {marks['traced_mib']:.0f} MiB" if "traced_mib" in marks else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
