"""A connection to the running afetch's control socket: requests, replies and events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from afetch_tui.control import wire
from afetch_tui.control.codec import decode_event
from afetch_tui.control.paths import ControlError, socket_path
from afetch_tui.engine import Event, InputError

OnReply = Callable[[Any], None]


class Connection:
    """One session with a running afetch. Use `connect` (or `find`), then `request`.

    Replies and events are read by one task, in the order they were sent: an ``on_reply``
    callback runs right where its reply sits in the stream, before any later event.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._pending: dict[int, tuple[asyncio.Future[Any], OnReply | None]] = {}
        self._next_id = 1
        self._slow: set[int] = set()
        """Pending requests the server answers out of turn."""
        self.on_event: Callable[[Event], None] = lambda event: None
        self.pid: int | None = None
        self.role = "afetch"
        self.lost = asyncio.Event()
        """Set once the connection is gone (closed by us, or the other afetch went away)."""
        self.lost_reason = "the connection was closed"
        self._task = asyncio.create_task(self._read(), name="afetch-control-reader")

    @classmethod
    async def connect(cls, path: Path) -> Connection:
        """Connect and say hello; `ControlError` if nothing (alive) listens there."""
        try:
            reader, writer = await asyncio.open_unix_connection(path, limit=wire.READ_SIZE)
        except (FileNotFoundError, ConnectionRefusedError):
            raise ControlError(f"no afetch is listening on {path}") from None
        except OSError as exc:
            raise ControlError(f"cannot connect to {path}: {exc.strerror or exc}") from None
        connection = cls(reader, writer)
        sock = writer.get_extra_info("socket")
        if sock is not None and wire.peer_uid(sock)[1] != os.getuid():
            # Only our own user's afetch may hear what we hand off (URLs, headers).
            await connection.close()
            raise ControlError(f"the socket {path} belongs to another user; not using it")
        try:
            hello = await connection.request("hello")
        except BaseException:
            await connection.close()
            raise
        connection.pid, connection.role = hello.get("pid"), hello.get("role", "afetch")
        if hello.get("version") != wire.VERSION:
            await connection.close()
            raise ControlError(
                f"{connection.owner} speaks control protocol version {hello.get('version')}, "
                f"this afetch version {wire.VERSION}: use the same afetch for both"
            )
        return connection

    @classmethod
    async def find(cls, state: Path) -> Connection | None:
        """The running afetch that owns ``state``, or None (no socket, or a stale one)."""
        path = socket_path(state)
        if not path.exists():
            return None
        try:
            return await cls.connect(path)
        except ControlError as exc:
            if "no afetch is listening" in str(exc):
                return None
            raise

    @property
    def owner(self) -> str:
        """Who runs the downloads, for messages: ``afetch serve (pid 4711)``."""
        return f"afetch {self.role} (pid {self.pid})"

    async def request(self, op: str, on_reply: OnReply | None = None, **args: Any) -> Any:
        """Send one request and wait for its result; its error is raised.

        An error the manager raised on purpose (a bad URL, an unknown id) is an
        `InputError`; anything else is a `ControlError`.
        """
        if self.lost.is_set():
            raise ControlError(self.lost_reason)
        request_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (future, on_reply)
        if op in wire.SLOW_OPS:
            self._slow.add(request_id)
        try:
            self._writer.write(wire.encode({"id": request_id, "op": op, "args": args}))
            await self._writer.drain()
        except (ConnectionError, RuntimeError):
            self._pending.pop(request_id, None)
            raise ControlError(self.lost_reason) from None
        try:
            return await future
        finally:  # a caller that gave up leaves no future behind
            self._pending.pop(request_id, None)
            self._slow.discard(request_id)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self._writer.wait_closed()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- reading -------------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for line in wire.lines(self._reader, wire.MAX_REPLY):
                if isinstance(line, wire.Oversized):
                    self.lost_reason = "the running afetch sent a line too long to read"
                    break
                self._dispatch(json.loads(line))
            else:
                self.lost_reason = f"{self.owner} has quit" if self.pid else self.lost_reason
        except (ConnectionError, ValueError) as exc:
            self.lost_reason = f"lost the connection to {self.owner}: {exc}"
        finally:
            self.lost.set()
            for future, _ in self._pending.values():
                if not future.done():
                    future.set_exception(ControlError(self.lost_reason))
            self._pending.clear()

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, dict):
            return
        if "ok" not in message:
            event = decode_event(message)
            if event is not None:
                self.on_event(event)
            return
        request_id = message.get("id")
        if request_id is None and not message["ok"]:
            if not self._pending:  # refused before any request (another user)
                self.lost_reason = _error_text(message)
                return
            # A request the server could not read (too long, not JSON) has no id to echo:
            # requests are answered in order, so it is the oldest one waiting in turn.
            in_turn = [i for i in self._pending if i not in self._slow]
            if not in_turn:
                return
            request_id = min(in_turn)
        self._slow.discard(request_id)
        entry = self._pending.pop(request_id, None)  # type: ignore[arg-type]
        if entry is None:
            return
        future, on_reply = entry
        if future.done():
            return
        if message["ok"]:
            result = message.get("result")
            if on_reply is not None:
                try:
                    on_reply(result)
                except Exception as exc:  # the reader must live on, and the caller hear of it
                    future.set_exception(ControlError(f"unusable reply from {self.owner}: {exc}"))
                    return
            future.set_result(result)
        else:
            error = message.get("error") or {}
            cls = InputError if error.get("code") == "input" else ControlError
            future.set_exception(cls(_error_text(message)))


def _error_text(message: dict[str, Any]) -> str:
    error = message.get("error") or {}
    return str(error.get("message") or error.get("code") or "error")
