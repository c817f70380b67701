"""The control protocol's framing: JSON lines, versioned.

A request is ``{"id": ID, "op": NAME, "args": {...}}`` (``"v"`` optional); its reply is
``{"id": ID, "ok": true, "result": ...}`` or ``{"id": ID, "ok": false, "error":
{"code": CODE, "message": TEXT}}``. After ``subscribe``, event lines follow in the
``afetch get --json`` schema (``{"event": KIND, ...}``, no ``"id"`` key of their own
type). Requests are read one line at a time, at most `MAX_REQUEST` bytes each.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

VERSION = 1
MAX_REQUEST = 4 * 1024 * 1024
"""Longest request line the server reads (a few thousand URLs); longer ones are refused."""
MAX_REPLY = 512 * 1024 * 1024
"""Longest line a client reads (a snapshot of a very long queue with its logs)."""
READ_SIZE = 64 * 1024
SLOW_OPS = frozenset({"harvest", "probe_sizes"})
"""Requests that wait on the network: answered beside the others (maybe later), not in turn."""


class Oversized:
    """Stands for a line that was longer than allowed (its bytes are dropped)."""


OVERSIZED = Oversized()


def encode(message: dict[str, Any]) -> bytes:
    """One line. ASCII-only JSON, so any string (even a lone surrogate) round-trips."""
    return json.dumps(message, separators=(",", ":")).encode("ascii") + b"\n"


def reply(request_id: Any, result: Any) -> bytes:
    return encode({"id": request_id, "ok": True, "result": result})


def error(request_id: Any, code: str, message: str) -> bytes:
    return encode({"id": request_id, "ok": False, "error": {"code": code, "message": message}})


async def lines(reader: asyncio.StreamReader, limit: int) -> AsyncIterator[bytes | Oversized]:
    """Every line the peer sends (without its newline) until EOF.

    A line longer than ``limit`` yields `OVERSIZED` once and is skipped to its end, so a
    peer cannot make us buffer without bound and the next line is read normally.
    """
    buffer = bytearray()
    skipping = False
    while True:
        chunk = await reader.read(READ_SIZE)
        if not chunk:
            return
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            if skipping:
                skipping = False
            elif len(buffer) + end - start > limit:
                buffer.clear()
                yield OVERSIZED
            else:
                buffer += chunk[start:end]
                yield bytes(buffer)
                buffer.clear()
            start = end + 1
        if not skipping:
            buffer += chunk[start:]
            if len(buffer) > limit:
                buffer.clear()
                skipping = True
                yield OVERSIZED


_CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid


def peer_uid(sock: socket.socket) -> tuple[int, int]:
    """(pid, uid) of the process at the other end of a connected Unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDENTIALS.size)
    pid, uid, _gid = _CREDENTIALS.unpack(raw)
    return pid, uid
