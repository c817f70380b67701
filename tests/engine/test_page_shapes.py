"""Pages as servers really send them: compressed, bombs, nested a million deep."""

from __future__ import annotations

import asyncio
import gzip
import os
import signal
import subprocess
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest
from engine_helpers import cpu_seconds
from faultserver import FaultServer

from afetch_tui.engine.errors import PageError
from afetch_tui.engine.harvest import MAX_PAGE_BYTES
from afetch_tui.engine.links import DEADLINE_SIGNAL, parse_page
from afetch_tui.engine.manager import DownloadManager

LISTING = b'<html><body><a href="a.iso">a</a> <a href="b.iso">b</a></body></html>'
DEEP = b"<div>" * 1_000_000  # 5,000,000 bytes: within the 5 MiB cap
HTML = (("Content-Type", b"text/html; charset=utf-8"),)


def compressed(server: FaultServer, path: str, body: bytes, encoding: str) -> str:
    return server.add_raw(
        path, 200, headers=[*HTML, ("Content-Encoding", encoding.encode())], body=body
    )


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("deflate", raw_deflate)],
    ids=["gzip", "deflate", "raw-deflate"],
)
async def test_a_compressed_page_gives_its_links(
    server: FaultServer, manager: DownloadManager, encoding: str, pack
) -> None:
    url = compressed(server, "/pub/", pack(LISTING), encoding)
    links = await manager.harvest(url)
    assert [link.name for link in links] == ["a.iso", "b.iso"]
    assert "gzip" in (server.requests_for("/pub/")[0].header("Accept-Encoding") or "")


async def test_files_are_still_asked_for_uncompressed(
    server: FaultServer, manager: DownloadManager
) -> None:
    url = server.add_file("/f.bin", b"x" * 1000)
    download_id = await manager.add(url)
    await asyncio.wait_for(manager.wait(), 15)
    assert manager.download(download_id).done == 1000
    assert server.requests_for("/f.bin", "GET")[0].header("Accept-Encoding") == "identity"


async def test_a_gzip_bomb_stops_at_the_cap_on_decoded_bytes(
    server: FaultServer, manager: DownloadManager
) -> None:
    packer = zlib.compressobj(9, wbits=zlib.MAX_WBITS | 16)  # gzip
    chunk = b" " * (1024 * 1024)
    bomb = packer.compress(b"<p>") + b"".join(packer.compress(chunk) for _ in range(64))
    bomb += packer.flush()
    assert len(bomb) < 100 * 1024  # 64 MiB, small on the wire...
    url = compressed(server, "/bomb.html", bomb, "gzip")
    started = time.monotonic()
    tracemalloc.start()
    try:
        with pytest.raises(PageError, match="larger than 5"):
            await manager.harvest(url)  # ...and never decoded past the cap
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 3.0
    assert peak < 24 * 1024 * 1024  # the 5 MiB cap and its copies, not 64 MiB


@pytest.mark.parametrize(
    ("encoding", "body", "message"),
    [
        ("br", b"\x8b\x00junk", "Content-Encoding: br"),
        ("gzip", b"\x1f\x8b\x08\x00garbage-garbage", "gzip data is corrupt"),
    ],
    ids=["unknown", "corrupt"],
)
async def test_an_unreadable_encoding_is_one_clear_error(
    server: FaultServer, manager: DownloadManager, encoding: str, body: bytes, message: str
) -> None:
    url = compressed(server, "/odd.html", body, encoding)
    with pytest.raises(PageError, match=message):
        await manager.harvest(url)


async def test_a_million_unclosed_divs_is_a_clear_error_in_time(
    server: FaultServer, manager: DownloadManager
) -> None:
    assert len(DEEP) < MAX_PAGE_BYTES
    url = server.add_raw("/deep.html", 200, headers=HTML, body=DEEP)
    started = cpu_seconds()  # the deadline counts the parser's CPU time, not the clock
    with pytest.raises(PageError, match="nested too deeply"):
        await manager.harvest(url)
    assert cpu_seconds() - started < 3.0


async def test_a_cancelled_parse_ends_at_once_and_leaves_no_child() -> None:
    task = asyncio.create_task(parse_page(DEEP, "http://h/", time_limit=60))
    await asyncio.sleep(0.5)  # the child is parsing by now
    before = children()
    assert before, "no parser child"
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 0.5
    assert not children() & before


async def test_a_nested_page_of_reasonable_depth_still_gives_its_links() -> None:
    html = b"<div>" * 5000 + LISTING
    links = await parse_page(html, "http://h/pub/")
    assert [link.url for link in links] == ["http://h/pub/a.iso", "http://h/pub/b.iso"]


def children() -> set[int]:
    """This process's live child processes."""
    me = os.getpid()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            found.add(int(entry.name))
    return found


async def test_reading_too_many_links_is_bounded_too() -> None:
    """The whole parse has one deadline, counted from the start of parsing (100k links
    take ~0.7 s); the child's own start, timed on a tiny page, is not part of it."""
    html = "".join(f"<a href={i}>" for i in range(100_000))
    started = cpu_seconds()  # the deadline counts the parser's CPU time, not the clock
    await parse_page("<a href=x>", "http://h/")
    start_up = cpu_seconds() - started
    started = cpu_seconds()
    with pytest.raises(PageError, match="too many links"):
        await parse_page(html, "http://h/", time_limit=2.0, total_limit=0.3)
    assert cpu_seconds() - started < start_up + 1.2


def test_an_orphaned_parser_ends_itself() -> None:
    """A parent killed with -9 cannot kill its parser child: its own deadline (a timer's
    signal), or else its CPU limit, does."""
    command = [sys.executable, "-m", "afetch_tui.engine.links", "http://h/", "bytes", "1", "1"]
    child = subprocess.run(command, input=DEEP, capture_output=True, timeout=30)
    assert child.returncode in (-DEADLINE_SIGNAL, -signal.SIGXCPU, -signal.SIGKILL)
