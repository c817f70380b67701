#!/usr/bin/env python3
"""Run parfive or pypdl the way a Python user would, for bench.py's rows.

Usage::

    python benchmarks/pylibs.py parfive|pypdl [-j N] [-s SPLITS] -d DIR (-i URLS | URL)
    python benchmarks/pylibs.py parfive|pypdl --version

Runs in the benchmark's tool environment (bench.py makes it when these libraries are
missing). -j is the number of files at once, -s the connections per file (1 = whole
files). Progress display is off. Exit code 1 when any download failed.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit


def out_name(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]


def run_parfive(urls: list[str], directory: Path, jobs: int, splits: int) -> int:
    import parfive

    downloader = parfive.Downloader(
        max_conn=jobs, max_splits=splits, progress=False, overwrite=True
    )
    for url in urls:
        downloader.enqueue_file(url, path=directory, filename=out_name(url))
    results = downloader.download()
    for error in list(results.errors)[:3]:
        print(f"parfive: {error.url}: {error.exception}", file=sys.stderr)
    return 1 if results.errors else 0


def run_pypdl(urls: list[str], directory: Path, jobs: int, splits: int) -> int:
    from pypdl import Pypdl

    downloader = Pypdl(max_concurrent=jobs)
    tasks = [{"url": url, "file_path": str(directory / out_name(url))} for url in urls]
    downloader.start(
        tasks=tasks, multisegment=splits > 1, segments=max(splits, 1), display=False, block=True
    )
    failed = downloader.failed
    for item in list(failed)[:3]:
        print(f"pypdl: failed: {item}", file=sys.stderr)
    return 1 if failed else 0


RUNNERS = {"parfive": run_parfive, "pypdl": run_pypdl}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("library", choices=sorted(RUNNERS))
    parser.add_argument("url", nargs="?")
    parser.add_argument("--version", action="store_true")
    parser.add_argument("-j", type=int, default=16, dest="jobs")
    parser.add_argument("-s", type=int, default=1, dest="splits")
    parser.add_argument("-d", type=Path, dest="directory")
    parser.add_argument("-i", type=Path, dest="input_file")
    args = parser.parse_intermixed_args()  # the URL may come after the options
    if args.version:
        print(f"{args.library} {version(args.library)} (aiohttp {version('aiohttp')})")
        return 0
    if args.directory is None:
        parser.error("-d is required")
    urls = [args.url] if args.url else []
    if args.input_file:
        urls += [line.strip() for line in args.input_file.read_text().splitlines() if line.strip()]
    return RUNNERS[args.library](urls, args.directory, args.jobs, args.splits)


if __name__ == "__main__":
    sys.exit(main())
