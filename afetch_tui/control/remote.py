"""``RemoteManager``: the manager of another afetch process, as the dashboard sees it.

It keeps a mirror of the remote manager's snapshots, folded from its event stream, so
reads are synchronous like the in-process manager's; commands go over the socket. Local
subscribers get the same bounded, merging `Subscription` as in-process ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from afetch_tui.control import ops
from afetch_tui.control.client import Connection
from afetch_tui.control.codec import decode_download, decode_host, decode_limits
from afetch_tui.engine import (
    MAX_PAGE_BYTES,
    Added,
    Defaults,
    DownloadSnapshot,
    DownloadSpec,
    Event,
    HostSnapshot,
    HostUpdate,
    InputError,
    Limits,
    LimitsChanged,
    Link,
    Logged,
    ManagerOptions,
    Progress,
    QueueOrder,
    Removed,
    Reordered,
    Resync,
    StateChanged,
    Subscription,
    Updated,
)


class RemoteManager:
    """Implements `engine.api.Manager` over a `Connection`. Use ``await attach(conn)``."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.directory = Path(".")
        self.options = ManagerOptions()
        self._downloads: dict[int, DownloadSnapshot] = {}
        self._order = QueueOrder()
        self._hosts: dict[str, HostSnapshot] = {}
        self._limits = Limits()
        self._speed = 0.0
        self._on_complete: tuple[tuple[str, ...] | None, float] = (None, 60.0)
        self._hook_failures: frozenset[int] = frozenset()
        self._subscribers: list[Subscription] = []
        self._refreshing: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    @classmethod
    async def attach(cls, connection: Connection) -> RemoteManager:
        """Subscribe and load the first snapshot (the stream continues from it exactly)."""
        manager = cls(connection)
        connection.on_event = manager._event
        await connection.request("subscribe", on_reply=manager._load)
        watcher = asyncio.create_task(manager._close_when_lost())
        manager._tasks.add(watcher)
        return manager

    async def close(self) -> None:
        """Detach: the downloads go on in the other process."""
        await self.connection.close()
        for task in self._tasks:
            task.cancel()
        for sub in list(self._subscribers):
            sub.close()

    async def _close_when_lost(self) -> None:
        await self.connection.lost.wait()
        for sub in list(self._subscribers):
            sub.close()

    @property
    def owner(self) -> str:
        return self.connection.owner

    # -- reading (from the mirror) -------------------------------------------------------

    @property
    def limits(self) -> Limits:
        return self._limits

    @property
    def defaults(self) -> Defaults:
        options = self.options
        return Defaults(options.retries, options.timeout, options.connections, self.directory)

    def downloads(self) -> list[DownloadSnapshot]:
        return [self._downloads[i] for i in self._order]

    def download(self, download_id: int) -> DownloadSnapshot:
        try:
            return self._downloads[download_id]
        except KeyError:
            raise InputError(f"no download with id {download_id}") from None

    def hosts(self) -> list[HostSnapshot]:
        return list(self._hosts.values())

    @property
    def speed(self) -> float:
        return self._speed

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        sub = Subscription(maxsize, self._subscribers.remove)
        if self.connection.lost.is_set():
            sub.close()
        else:
            self._subscribers.append(sub)
        return sub

    @property
    def on_complete(self) -> tuple[tuple[str, ...] | None, float]:
        return self._on_complete

    @property
    def hook_failures(self) -> frozenset[int]:
        return self._hook_failures

    # -- commands ------------------------------------------------------------------------

    async def add_many(self, spec: DownloadSpec) -> list[int]:
        """All or nothing, like the in-process manager: one refused URL refuses the batch."""
        items = [
            ops.AddItem(
                url,
                directory=str(spec.directory) if spec.directory else None,  # None: its own
                name=spec.name,
                headers=dict(spec.headers),
                paused=spec.paused,
                limit_rate=spec.limit_rate,
                connections=spec.connections,
                checksum=spec.checksum,
            ).to_json()
            for url in spec.urls
        ]
        result = await self.connection.request("add", items=items, atomic=True)
        return list(result["ids"])

    async def pause(self, download_id: int) -> None:
        await self._each("pause", download_id)

    async def resume(self, download_id: int) -> None:
        await self._each("resume", download_id)

    async def retry(self, download_id: int) -> None:
        await self._each("retry", download_id)

    async def cancel(self, download_id: int) -> None:
        await self._each("cancel", download_id)

    async def remove(self, download_id: int, *, delete_file: bool = False) -> None:
        await self._each("remove", download_id, delete_file=delete_file)

    async def _each(self, op: str, download_id: int, **args: Any) -> None:
        result = await self.connection.request(op, ids=[download_id], **args)
        if result["errors"]:
            raise InputError(result["errors"][0]["error"])

    async def move(self, download_id: int, offset: int) -> None:
        await self.connection.request("move", id=download_id, offset=offset)

    async def pause_all(self) -> None:
        await self.connection.request("pause", all=True)

    async def resume_all(self) -> None:
        await self.connection.request("resume", all=True)

    async def clear_finished(self) -> list[int]:
        return list(await self.connection.request("clear_finished"))

    async def replace_url(self, download_id: int, url: str) -> None:
        await self.connection.request("replace_url", id=download_id, url=url)

    async def set_limits(self, limits: Limits) -> Limits:
        result = await self.connection.request("set_limits", changes=asdict(limits))
        return decode_limits(result)

    async def set_defaults(self, defaults: Defaults) -> Defaults:
        """Applied there (which checks the folder on its side), then mirrored here."""
        result = await self.connection.request("set_defaults", **ops.defaults(defaults))
        self.directory = Path(result["directory"])
        self.options = replace(
            self.options,
            retries=result["retries"],
            timeout=result["timeout"],
            connections=result["connections"],
        )
        return self.defaults

    async def set_host_limit(self, host: str, rate: float | None) -> None:
        await self.connection.request("set_host_limit", host=host, rate=rate)

    async def set_download_limit(self, download_id: int, rate: float | None) -> None:
        await self.connection.request("set_download_limit", id=download_id, rate=rate)

    def set_on_complete(self, command: tuple[str, ...] | None, time_limit: float = 60.0) -> None:
        """Takes effect here at once and there a moment later (the protocol's only
        synchronous command, as in the in-process manager)."""
        if time_limit <= 0:
            raise InputError("the on-complete timeout must be positive")
        self._on_complete = (tuple(command) if command else None, time_limit)
        self._spawn(
            self.connection.request(
                "set_on_complete", command=list(command) if command else None, timeout=time_limit
            )
        )

    async def harvest(
        self,
        page_url: str,
        *,
        match: str | None = None,
        same_host: bool | None = None,
        max_bytes: int = MAX_PAGE_BYTES,
        headers: Mapping[str, str] | None = None,
    ) -> list[Link]:
        if headers:
            raise InputError("request headers for a page are not sent to another afetch")
        links = await self.connection.request(
            "harvest", page=page_url, match=match, same_host=same_host, max_bytes=max_bytes
        )
        return [Link(link["url"], link["tag"], link["text"]) for link in links]

    async def probe_sizes(
        self, urls: Iterable[str], *, headers: Mapping[str, str] | None = None
    ) -> dict[str, int | None]:
        if headers:
            raise InputError("request headers for a probe are not sent to another afetch")
        pairs = await self.connection.request("probe_sizes", urls=list(urls))
        return {url: size for url, size in pairs}

    # -- the mirror ----------------------------------------------------------------------

    def _load(self, snapshot: dict[str, Any]) -> None:
        """Replace the mirror with a snapshot (called where its reply sits in the stream)."""
        self.directory = Path(snapshot["directory"])
        self.options = ManagerOptions(**snapshot.get("options", {}))
        downloads = [decode_download(d) for d in snapshot["downloads"]]
        self._downloads = {d.id: d for d in downloads}
        self._order.reset(d.id for d in downloads)
        self._hosts = {h.host: h for h in map(decode_host, snapshot["hosts"])}
        self._limits = decode_limits(snapshot["limits"])
        self._speed = float(snapshot.get("speed", 0.0))
        command, timeout = snapshot.get("on_complete", [None, 60.0])
        self._on_complete = (tuple(command) if command else None, float(timeout))
        self._hook_failures = frozenset(snapshot.get("hook_failures", ()))

    def _event(self, event: Event) -> None:
        if isinstance(event, Resync):  # the other side dropped events for us: start over
            self._spawn(self._resync())
            return
        self._fold(event)
        if isinstance(event, Added | Updated) and event.download.id in self._downloads:
            # The wire's download objects carry no log; the mirror's, like the manager's, do.
            event = type(event)(self._downloads[event.download.id])
        for sub in list(self._subscribers):
            sub.push(event)

    async def _resync(self) -> None:
        await self.connection.request("snapshot", on_reply=self._load)
        for sub in list(self._subscribers):
            sub.push(Resync())

    def _fold(self, event: Event) -> None:
        match event:
            case Added(download=snap) | Updated(download=snap):
                old = self._downloads.get(snap.id)
                if old is None:
                    self._order.append(snap.id)
                self._downloads[snap.id] = replace(snap, log=old.log if old else snap.log)
            case Progress(id=i) if i in self._downloads:
                self._downloads[i] = replace(
                    self._downloads[i],
                    done=event.done,
                    total=event.total,
                    speed=event.speed,
                    speed_now=event.speed_now,
                    eta=event.eta,
                    connections=event.connections,
                )
            case StateChanged(id=i) if i in self._downloads:
                snap = replace(
                    self._downloads[i],
                    state=event.state,
                    error=event.error,
                    retries=event.retries,
                    done=event.done,
                    finished_at=event.finished_at,
                )
                if not event.state.is_running:
                    snap = replace(snap, speed=0.0, speed_now=0.0, eta=None)
                self._downloads[i] = snap
                self._refresh(i)
            case Logged(id=i) if i in self._downloads:
                snap = self._downloads[i]
                self._downloads[i] = replace(snap, log=(*snap.log, event.entry))
            case Removed(id=i) if i in self._downloads:
                del self._downloads[i]
                self._order.remove(i)
            case Reordered(id=i, position=position):
                self._order.move(i, position)
            case HostUpdate(host=host):
                self._hosts[host.host] = host
                self._speed = sum(h.speed_now for h in self._hosts.values())
            case LimitsChanged(limits=limits):
                self._limits = limits

    def _refresh(self, download_id: int) -> None:
        """Fetch the whole snapshot after a state change (parts, checksum result ...)."""
        if download_id in self._refreshing or self.connection.lost.is_set():
            return
        self._refreshing.add(download_id)

        def fresh(data: dict[str, Any]) -> None:
            self._refreshing.discard(download_id)
            if download_id in self._downloads:
                snap = decode_download(data)
                self._downloads[download_id] = snap
                for sub in list(self._subscribers):
                    sub.push(Updated(snap))

        async def fetch() -> None:
            try:
                await self.connection.request("get", on_reply=fresh, id=download_id)
            except InputError:  # removed meanwhile
                self._refreshing.discard(download_id)

        self._spawn(fetch())

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a lost connection is reported by `connection.lost`
