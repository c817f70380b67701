#!/usr/bin/env python3
"""Where afetch's per-file CPU goes: two cProfile runs, split by what the code is for.

Usage::

    python benchmarks/profile_split.py SMALL.prof LARGE.prof N_SMALL N_LARGE [--ms MS]

Reads two saved cProfile stats of ``afetch get`` on N_SMALL and N_LARGE files (e.g. from
``benchmarks/profile_files.py --save``, with the same options), takes the difference per
file (start-up and shut-down cancel out), and sums each function's own time and calls
into the categories below. With ``--ms`` (the main thread's CPU per file measured without
the profiler, see benchmarks/PROFILE.md) the shares are scaled to it, since the profiler
inflates every call alike. A builtin's time goes to the functions that called it.
A profile of the bare loop splits the same way.
"""

from __future__ import annotations

import argparse
import collections
import pstats

# (category, predicate on "path:function"), first match wins.
RULES: list[tuple[str, tuple[str, ...]]] = [
    (
        "events (build, queue, read)",
        (
            "engine/events.py",
            "announcer.py:emit",
            "announcer.py:log",
            "announcer.py:changed",
            "announcer.py:progress",
            "announcer.py:wants",
            "announcer.py:room",
            "manager.py:_get",
            "manager.py:download",
            "engine/subscription.py",
            "manager.py:_emit",
            "manager.py:_log",
            "manager.py:_changed",
            "headless.py:_handle",
            "headless.py:consume",
            "headless.py:_announce",
            "download.py:snapshot",
            "download.py:add_log",
            "display.py",
            "manager.py:_emit_progress",
            "download.py:region_infos",
        ),
    ),
    (
        "journal rows (to_record, row, save)",
        (
            "engine/journal.py",
            "announcer.py:persist",
            "announcer.py:checkpointed",
            "engine/records.py",
            "engine/store.py",
            "json/",
            "checksum.py:format",
            "manager.py:_persist",
            "download.py:recent_log",
        ),
    ),
    (
        "name reservation and the file's thread hop",
        (
            "engine/name_rules.py",
            "engine/claims.py",
            "engine/disk_threads.py",
            "engine/held_names.py",
            "engine/groupio.py",
            "engine/file_ops.py",
            "manager.py:_save_small",
            "manager.py:_reserve_name",
            "manager.py:_forget_name",
            "manager.py:_expect_checksum",
            "manager.py:_published_before",
            "manager.py:_publish",
            "transfer.py:_finish_anyway",
            "pathlib.py",
            "posixpath.py",
            "parse.py",
            "concurrent/futures",
            "threading.py",
            "threads.py",
            "download.py:final_path",
            "download.py:part_path",
        ),
    ),
    (
        "state changes and idle tracking",
        (
            "manager.py:_set_state",
            "announcer.py:set_state",
            "engine/tally.py",
            "enum.py",
            "manager.py:_update_idle",
            "manager.py:_is_idle",
            "manager.py:_tally",
            "events.py:is_",
            "hooks.py:running",
            "locks.py",
        ),
    ),
    (
        "scheduler and host bookkeeping",
        (
            "engine/scheduler.py",
            "runner.py:schedule",
            "runner.py:_start",
            "runner.py:_finish",
            "runner.py:_succeeded",
            "engine/limit_settings.py",
            "engine/hosts.py",
            "manager.py:_schedule",
            "manager.py:_start",
            "manager.py:_finish_run",
            "manager.py:_succeeded",
            "manager.py:_wake_at",
            "sortedlist.py",
            "sortedcontainers",
            "engine/meter.py",
            "download.py:meter",
            "download.py:settle",
            "hooks.py",
            "manager.py:_host",
            "heapq",
        ),
    ),
    (
        "queueing the list (spec, URL checks, add)",
        (
            "engine/spec.py",
            "manager.py:_admit",
            "engine/urls.py",
            "engine/inputfile.py",
            "config.py",
            "manager.py:add_many",
            "headless.py:__init__",
            "headless.py:__call__",
            "headless.py:_without_query",
            "download.py:__init__",
            "scheduler.py:add",
        ),
    ),
    (
        "end of run: clear_finished / remove",
        (
            "manager.py:clear_finished",
            "runner.py:stop",
            "manager.py:remove",
            "manager.py:_stop",
            "manager.py:_delete_part",
        ),
    ),
    (
        "attempt: transfer, http bracket, limits",
        (
            "engine/transfer.py",
            "runner.py:_run",
            "runner.py:options",
            "checksum.py:use",
            "checksum.py:__init__",
            "engine/http.py",
            "engine/client.py",
            "engine/limits.py",
            "engine/verifier.py",
            "engine/transfer_context.py",
            "manager.py:_run",
            "contextlib.py",
            "download.py",
            "engine/body.py",
            "engine/partfile.py",
            "engine/retry.py",
        ),
    ),
    ("aiohttp, yarl, multidict (the library)", ("aiohttp", "yarl", "multidict", "propcache")),
    ("asyncio event loop", ("asyncio", "selectors.py", "_weakrefset.py", "_contextvars")),
    ("bare loop's own code and file writes", ("bare.py", "_io.", "io.open")),
]


def category(path: str, name: str) -> str:
    key = f"{path.split('afetch_tui/')[-1].split('site-packages/')[-1]}:{name}"
    for label, needles in RULES:
        if any(needle in key for needle in needles):
            return label
    return "other"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("small")
    parser.add_argument("large")
    parser.add_argument("n_small", type=int)
    parser.add_argument("n_large", type=int)
    parser.add_argument("--ms", type=float, help="main-thread CPU per file without profiler")
    args = parser.parse_args()
    small, large = pstats.Stats(args.small).stats, pstats.Stats(args.large).stats  # type: ignore[attr-defined]
    files = args.n_large - args.n_small
    own: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    for stats, sign in ((large, 1), (small, -1)):
        for (path, _, name), (_, ncalls, tottime, _, callers) in stats.items():
            if path == "~" and callers:  # a builtin: its time is its callers'
                for (c_path, _, c_name), (_, c_calls, c_time, _) in callers.items():
                    label = category(c_path, c_name)
                    own[label] += sign * c_time
                    calls[label] += sign * c_calls
                continue
            label = category(path, name)
            own[label] += sign * tottime
            calls[label] += sign * ncalls
    total = sum(own.values())
    scale = (args.ms / 1000 / (total / files)) if args.ms else 1.0
    print(f"{'where':52} {'calls/file':>10} {'share':>6} {'ms/file':>8}")
    for label, seconds in own.most_common():
        print(
            f"{label:52} {calls[label] / files:>10.1f} {seconds / total:>6.1%}"
            f" {seconds / files * scale * 1000:>8.3f}"
        )
    per_file = total / files * scale * 1000
    print(f"{'total':52} {sum(calls.values()) / files:>10.1f} {1:>6.0%} {per_file:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
