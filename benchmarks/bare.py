#!/usr/bin/env python3
"""The floor for many small files: a bare aiohttp loop, measured beside afetch.

Usage::

    python benchmarks/bare.py [-j N] -d DIR (-i URLS | URL)
    python benchmarks/bare.py --version

One ClientSession, a semaphore of N, each response streamed into its file with plain
blocking writes on the event loop. No retries, no state, no events, no resume, no name
checks: what "the library's cost" is, so that afetch's own cost per file is a measured
difference. Output names are the last segment of each URL's path. Exit code 1 when any
download failed (the error goes to stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

CHUNK = 256 * 1024


async def fetch(
    session: aiohttp.ClientSession, slots: asyncio.Semaphore, url: str, directory: Path
) -> None:
    target = directory / urlsplit(url).path.rsplit("/", 1)[-1]
    async with slots, session.get(url) as response:
        response.raise_for_status()
        with target.open("wb") as f:
            async for chunk in response.content.iter_chunked(CHUNK):
                f.write(chunk)


async def run(urls: list[str], directory: Path, jobs: int) -> int:
    slots = asyncio.Semaphore(jobs)
    connector = aiohttp.TCPConnector(limit=jobs)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        results = await asyncio.gather(
            *(fetch(session, slots, url, directory) for url in urls), return_exceptions=True
        )
    errors = [r for r in results if isinstance(r, BaseException)]
    for error in errors[:3]:
        print(f"bare: {type(error).__name__}: {error}", file=sys.stderr)
    return 1 if errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--version", action="store_true")
    parser.add_argument("-j", type=int, default=16, dest="jobs")
    parser.add_argument("-d", type=Path, dest="directory")
    parser.add_argument("-i", type=Path, dest="input_file")
    args = parser.parse_args()
    if args.version:
        print(f"bare aiohttp loop (aiohttp {aiohttp.__version__})")
        return 0
    if args.directory is None:
        parser.error("-d is required")
    urls = [args.url] if args.url else []
    if args.input_file:
        urls += [line.strip() for line in args.input_file.read_text().splitlines() if line.strip()]
    return asyncio.run(run(urls, args.directory, args.jobs))


if __name__ == "__main__":
    sys.exit(main())
