#!/usr/bin/env python3
"""A loopback HTTP/1.1 server that answers every request after a set delay.

Usage::

    python benchmarks/latency_server.py ROOT PORT [--delay-ms 20] [--trace FILE]

Serves the files under ROOT (read into memory once, up to 8 MiB each) on 127.0.0.1:PORT,
holding every response back by the delay: what a real server's round trip looks like,
emulated in the server because the kernel here may have no netem. Connections are kept
alive (HTTP/1.1), so the delay is per request, not per connection: a client that reuses
its connections and does not stall between requests gets count x delay / parallel.
GET and HEAD; a single ``Range: bytes=a-b`` gets a 206. Written on asyncio's Protocol
(no framework) so that the server costs little CPU beside the client it measures.

``--trace FILE``: on SIGTERM, write one line per request, ``connection arrived sent``
(``time.monotonic()``, which is the same clock in every process on Linux): when the
request's head came in and when its answer went out. benchmarks/timeline.py reads it to
show, per connection, how long a client takes from one answer to its next request.
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import hashlib
import signal
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

MAX_FILE = 8 * 1024 * 1024
MAX_HEAD = 64 * 1024


class Files:
    """The files under root, read once on first request (a missing or big file is a 404)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.cache: dict[str, tuple[bytes, str, str] | None] = {}

    def get(self, path: str) -> tuple[bytes, str, str] | None:
        if path not in self.cache:
            self.cache[path] = self._load(path)
        return self.cache[path]

    def _load(self, path: str) -> tuple[bytes, str, str] | None:
        target = (self.root / unquote(path).lstrip("/")).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            return None
        stat = target.stat()
        if stat.st_size > MAX_FILE:
            return None
        body = target.read_bytes()
        etag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
        return body, etag, email.utils.formatdate(stat.st_mtime, usegmt=True)


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """(first, last) of a single ``bytes=a-b`` / ``bytes=a-`` range, or None."""
    unit, _, spec = value.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first_text, _, last_text = spec.strip().partition("-")
    if not first_text.isdigit() or (last_text and not last_text.isdigit()):
        return None
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    return (first, last) if first <= last else None


Trace = list[tuple[int, float, float]]
"""(connection number, request arrived, answer sent) per request, monotonic seconds."""


class Connection(asyncio.Protocol):
    opened = 0

    def __init__(self, files: Files, delay: float, trace: Trace | None = None) -> None:
        self.files, self.delay, self.trace = files, delay, trace
        Connection.opened += 1
        self.number = Connection.opened
        self.buffer = b""
        self.busy = False  # a response is being held back: later requests wait in buffer
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > MAX_HEAD and b"\r\n\r\n" not in self.buffer:
            self._close()
            return
        self._next()

    def _next(self) -> None:
        if self.busy or b"\r\n\r\n" not in self.buffer:
            return
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        self.busy = True
        asyncio.get_running_loop().call_later(self.delay, self._respond, head, time.monotonic())

    def _respond(self, head: bytes, arrived: float) -> None:
        self.busy = False
        if self.transport is None:
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = [*lines[0].split(" "), "", "", ""][:3]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        found = self.files.get(urlsplit(target).path) if method in ("GET", "HEAD") else None
        if found is None:
            status, body, extra = "404 Not Found", b"not found\n", []
        else:
            status, (body, etag, modified) = "200 OK", found
            extra = [f"ETag: {etag}", f"Last-Modified: {modified}", "Accept-Ranges: bytes"]
            wanted = parse_range(headers["range"], len(body)) if "range" in headers else None
            if wanted is not None:
                first, last = wanted
                status = "206 Partial Content"
                extra.append(f"Content-Range: bytes {first}-{last}/{len(body)}")
                body = body[first : last + 1]
        lines_out = [
            f"HTTP/1.1 {status}",
            f"Content-Length: {len(body)}",
            "Content-Type: application/octet-stream",
            *extra,
            "Connection: " + ("keep-alive" if keep_alive else "close"),
        ]
        payload = ("\r\n".join(lines_out) + "\r\n\r\n").encode("latin-1")
        self.transport.write(payload if method == "HEAD" else payload + body)
        if self.trace is not None:
            self.trace.append((self.number, arrived, time.monotonic()))
        if keep_alive:
            self._next()
        else:
            self._close()

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def serve(root: Path, port: int, delay: float, trace: Trace | None = None) -> None:
    files = Files(root)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Connection(files, delay, trace), "127.0.0.1", port, backlog=1024
    )
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    try:
        await stop
    finally:
        server.close()  # no wait_closed: it would wait for clients that hold connections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("port", type=int)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--trace", type=Path, help="write when each request came and went")
    args = parser.parse_args()
    trace: Trace | None = [] if args.trace else None
    asyncio.run(serve(args.root, args.port, args.delay_ms / 1000, trace))
    if args.trace and trace is not None:
        args.trace.write_text("".join(f"{n} {a:.6f} {s:.6f}\n" for n, a, s in trace))


if __name__ == "__main__":
    main()
