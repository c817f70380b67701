"""The control socket of the process that owns a state file (the dashboard or ``afetch serve``).

Every connection is its own small session: requests are answered in order, one bad
request gets an error reply and nothing else, and a peer that goes away takes only its own
subscription with it. Only this user may connect (the directory is 0700, the socket 0600,
and the peer's uid is checked with ``SO_PEERCRED``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from afetch_tui.config import Backlog, already_listed, listed
from afetch_tui.control import ops, wire
from afetch_tui.control.paths import ControlError, private_dir
from afetch_tui.engine import (
    MAX_PAGE_BYTES,
    AfetchError,
    DownloadManager,
    HandedOff,
    HookFinished,
    Subscription,
)

_KEPT_ON_RESYNC = (HookFinished, HandedOff)
"""Notices a fresh snapshot does not contain, so a cut in the event stream keeps them."""


def _no_constant(name: str) -> object:
    """``NaN``/``Infinity`` are not JSON: refused, so no limit or timeout can be infinite."""
    raise ValueError(f"{name} is not a number JSON allows")


@dataclass(eq=False)
class _Session:
    writer: asyncio.StreamWriter
    peer_pid: int
    subscription: Subscription | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def send(self, line: bytes) -> None:
        self.writer.write(line)
        await self.writer.drain()


class ControlServer:
    """Serves ``manager`` on ``path`` until closed. ``role`` names the owner for clients."""

    def __init__(
        self,
        manager: DownloadManager,
        path: Path,
        *,
        role: str,
        state: Path,
        backlog: Backlog | None = None,
    ) -> None:
        """``backlog``: URLs the owner is still queueing (an add leaves them out as listed)."""
        self.manager = manager
        self.backlog = backlog
        self.path = path
        self.role = role
        self.state = state
        self._server: asyncio.AbstractServer | None = None
        self._sessions: set[_Session] = set()
        self._inode: int | None = None

    async def start(self) -> None:
        """Listen; a socket file left by a crashed owner is replaced.

        Call this only while holding the state file's lock: whoever held it before is gone,
        so whatever socket file is there is stale.
        """
        private_dir(self.path.parent)
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(self.path.lstat().st_mode):
                self.path.unlink()
        try:
            self._server = await asyncio.start_unix_server(
                self._serve, path=self.path, limit=wire.READ_SIZE
            )
            os.chmod(self.path, 0o600)
        except OSError as exc:
            raise ControlError(f"cannot listen on {self.path}: {exc.strerror or exc}") from None
        self._inode = self.path.stat().st_ino

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for session in list(self._sessions):
            self._end(session)
        with contextlib.suppress(OSError):
            if self.path.stat().st_ino == self._inode:  # not a newer owner's socket
                self.path.unlink()

    # -- one connection --------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            pid, uid = wire.peer_uid(writer.get_extra_info("socket"))
        except OSError:
            writer.close()
            return
        session = _Session(writer, pid)
        try:
            if uid != os.getuid():
                await session.send(
                    wire.error(None, "forbidden", f"uid {uid} may not control this afetch")
                )
                return
            self._sessions.add(session)
            async for line in wire.lines(reader, wire.MAX_REQUEST):
                await self._request(session, line)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception as exc:  # a bug must cost this peer its session, never the server
            with contextlib.suppress(Exception):
                await session.send(wire.error(None, "internal", f"{type(exc).__name__}: {exc}"))
        finally:
            self._end(session)

    def _end(self, session: _Session) -> None:
        self._sessions.discard(session)
        if session.subscription is not None:
            session.subscription.close()
        for task in session.tasks:
            task.cancel()
        session.writer.close()

    async def _request(self, session: _Session, line: bytes | wire.Oversized) -> None:
        if isinstance(line, wire.Oversized):
            await session.send(
                wire.error(None, "too-large", f"requests are at most {wire.MAX_REQUEST} bytes")
            )
            return
        try:
            request = json.loads(line, parse_constant=_no_constant)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
            await session.send(wire.error(None, "malformed", "not a JSON line"))
            return
        if not isinstance(request, dict):
            await session.send(wire.error(None, "malformed", "a request is a JSON object"))
            return
        request_id = request.get("id")
        if not isinstance(request_id, int | str | None) or isinstance(request_id, bool):
            request_id = None
        op, args = request.get("op"), request.get("args", {})
        if request.get("v", wire.VERSION) != wire.VERSION:
            await session.send(
                wire.error(request_id, "version", f"this afetch speaks version {wire.VERSION}")
            )
        elif not isinstance(op, str) or not isinstance(args, dict):
            await session.send(
                wire.error(request_id, "malformed", "a request needs an 'op' and 'args' object")
            )
        elif op in wire.SLOW_OPS:
            task = asyncio.create_task(self._answer(session, request_id, op, args))
            session.tasks.add(task)
            task.add_done_callback(session.tasks.discard)
        else:
            await self._answer(session, request_id, op, args)

    async def _answer(self, session: _Session, request_id: Any, op: str, args: Any) -> None:
        handler = self._handlers().get(op)
        if handler is None:
            await session.send(wire.error(request_id, "unknown-op", f"no such operation: {op}"))
            return
        try:
            result = await handler(session, args)
        except ops.BadArgs as exc:
            line = wire.error(request_id, "bad-args", str(exc))
        except AfetchError as exc:
            line = wire.error(request_id, "input", str(exc))
        except Exception as exc:  # a bug here must not stop the server for everyone
            line = wire.error(request_id, "internal", f"{type(exc).__name__}: {exc}")
        else:
            line = wire.reply(request_id, result)
        await session.send(line)

    # -- operations ------------------------------------------------------------------

    def _handlers(self) -> dict[str, Callable[[_Session, Any], Awaitable[Any]]]:
        return {
            "hello": self._hello,
            "subscribe": self._subscribe,
            "snapshot": self._snapshot,
            "list": self._list,
            "get": self._get,
            "add": self._add,
            "pause": self._each(self.manager.pause),
            "resume": self._each(self.manager.resume),
            "retry": self._each(self.manager.retry),
            "cancel": self._each(self.manager.cancel),
            "remove": self._remove,
            "move": self._move,
            "clear_finished": self._clear_finished,
            "replace_url": self._replace_url,
            "set_limits": self._set_limits,
            "set_defaults": self._set_defaults,
            "set_host_limit": self._set_host_limit,
            "set_download_limit": self._set_download_limit,
            "set_on_complete": self._set_on_complete,
            "harvest": self._harvest,
            "probe_sizes": self._probe_sizes,
        }

    async def _hello(self, session: _Session, args: Any) -> dict[str, Any]:
        watching = sum(1 for s in self._sessions if s.subscription is not None)
        return {**ops.hello(self.role, str(self.state)), "subscribers": watching}

    async def _subscribe(self, session: _Session, args: Any) -> dict[str, Any]:
        """Start the event stream; the reply is the state the first event applies to."""
        if session.subscription is None:
            session.subscription = self.manager.subscribe()
            task = asyncio.create_task(self._pump(session, session.subscription))
            session.tasks.add(task)
        return await self._snapshot(session, args)

    async def _snapshot(self, session: _Session, args: Any) -> dict[str, Any]:
        """Everything to show, taken at one instant: events queued before it are dropped
        (it contains them), so what follows on the stream is exactly what came after."""
        if session.subscription is not None:
            for event in session.subscription.drain():
                if isinstance(event, _KEPT_ON_RESYNC):
                    session.subscription.push(event)
        return ops.snapshot(self.manager, self.role, str(self.state))

    async def _pump(self, session: _Session, subscription: Subscription) -> None:
        """Write events as they come; while the peer is slow, the subscription merges them."""
        try:
            async for event in subscription:
                batch = [event, *subscription.drain()]
                await session.send(b"".join(wire.encode(e.to_json()) for e in batch))
        except (ConnectionError, RuntimeError):  # the peer went away mid-write
            subscription.close()

    async def _list(self, session: _Session, args: Any) -> list[dict[str, Any]]:
        return [ops.download(snap, log=False) for snap in self.manager.downloads()]

    async def _get(self, session: _Session, args: Any) -> dict[str, Any]:
        return ops.download(self.manager.download(ops.integer(args, "id")), log=True)

    async def _add(self, session: _Session, args: Any) -> dict[str, Any]:
        items = ops.add_items(args)
        if ops.flag(args, "atomic"):  # a dashboard's add: all or nothing, like in-process
            return {"ids": await ops.add_atomic(self.manager, items), "refused": []}
        left_out: list[str] = []
        if ops.flag(args, "skip_listed"):  # `afetch add` / `afetch URL`: as on a start
            in_list, home = listed(self.manager.downloads()), self.manager.directory
            pending = self._pending(items, home)
            wanted = []
            for item in items:
                folder = Path(item.directory) if item.directory else home
                plain = item.name is None and item.checksum is None
                if plain and (
                    already_listed(item.url, folder, in_list) or (item.url, folder) in pending
                ):
                    left_out.append(item.url)
                else:
                    wanted.append(item)
            items = wanted
        ids, refused = await ops.add_all(self.manager, items)
        if ids:
            source = ops.text(args, "source", default=None) or "another afetch"
            self.manager.handed_off(ids, f"{source} (pid {session.peer_pid})")
        return {"ids": ids, "refused": refused, "listed": left_out}

    def _pending(self, items: list[ops.AddItem], home: Path) -> set[tuple[str, Path]]:
        """Which of ``items`` (URL, folder) the backlog has still to queue."""
        if self.backlog is None:
            return set()
        folders: dict[Path, list[str]] = {}
        for item in items:
            folders.setdefault(Path(item.directory) if item.directory else home, []).append(
                item.url
            )
        return {
            (url, folder)
            for folder, urls in folders.items()
            for url in self.backlog.pending(urls, folder)
        }

    def _each(
        self, command: Callable[[int], Awaitable[None]]
    ) -> Callable[[_Session, Any], Awaitable[Any]]:
        async def run(session: _Session, args: Any) -> dict[str, Any]:
            return await ops.each(self.manager, command, args)

        return run

    async def _remove(self, session: _Session, args: Any) -> dict[str, Any]:
        delete = ops.flag(args, "delete_file")

        async def remove(download_id: int) -> None:
            await self.manager.remove(download_id, delete_file=delete)

        return await ops.each(self.manager, remove, args)

    async def _move(self, session: _Session, args: Any) -> None:
        await self.manager.move(ops.integer(args, "id"), ops.integer(args, "offset"))

    async def _clear_finished(self, session: _Session, args: Any) -> list[int]:
        return await self.manager.clear_finished()

    async def _replace_url(self, session: _Session, args: Any) -> None:
        await self.manager.replace_url(ops.integer(args, "id"), ops.text(args, "url"))

    async def _set_limits(self, session: _Session, args: Any) -> dict[str, Any]:
        limits = await self.manager.set_limits(
            replace(self.manager.limits, **ops.limit_changes(args))
        )
        return ops.limits(limits)

    async def _set_defaults(self, session: _Session, args: Any) -> dict[str, Any]:
        return ops.defaults(await self.manager.set_defaults(ops.read_defaults(args)))

    async def _set_host_limit(self, session: _Session, args: Any) -> None:
        await self.manager.set_host_limit(ops.text(args, "host"), ops.rate(args, "rate"))

    async def _set_download_limit(self, session: _Session, args: Any) -> None:
        await self.manager.set_download_limit(ops.integer(args, "id"), ops.rate(args, "rate"))

    async def _set_on_complete(self, session: _Session, args: Any) -> None:
        command = args.get("command")
        if command is not None and not (
            isinstance(command, list) and command and all(isinstance(a, str) for a in command)
        ):
            raise ops.BadArgs("'command' must be a list of strings or null")
        timeout = args.get("timeout", 60.0)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool):
            raise ops.BadArgs("'timeout' must be a number")
        self.manager.set_on_complete(tuple(command) if command else None, float(timeout))

    async def _harvest(self, session: _Session, args: Any) -> list[dict[str, str]]:
        same_host = args.get("same_host")
        if same_host is not None and not isinstance(same_host, bool):
            raise ops.BadArgs("'same_host' must be true, false or null")
        links = await self.manager.harvest(
            ops.text(args, "page"),
            match=ops.text(args, "match", default=None),
            same_host=same_host,
            max_bytes=ops.integer(args, "max_bytes") if "max_bytes" in args else MAX_PAGE_BYTES,
        )
        return [{"url": link.url, "tag": link.tag, "text": link.text} for link in links]

    async def _probe_sizes(self, session: _Session, args: Any) -> list[list[Any]]:
        urls = args.get("urls")
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise ops.BadArgs("'urls' must be a list of strings")
        sizes = await self.manager.probe_sizes(urls)
        return [[url, size] for url, size in sizes.items()]
