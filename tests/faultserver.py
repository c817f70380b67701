"""A loopback HTTP server with fault modes, for testing the download engine.

The server runs an aiohttp app on 127.0.0.1 (random free port) in its own thread with its own
event loop, so it answers no matter which loop the client runs on (the test's loop, or the
separate loop Textual's snapshot tests use). Everything the tests read (``requests``,
``bytes_served`` ...) is guarded by a lock and safe to read from the test thread.

Counting rules (per file):

* Only GET requests advance a file's counters (``statuses`` index, ``change_after``, the
  ``*_times`` limits). HEAD requests get the headers the next GET would get, without faults.
* A fault with a ``*_times=K`` companion fires on the first K requests *to which it applies*
  (``drop_after=N`` applies only when the body is longer than N, ``ignore_range`` and
  ``wrong_content_range`` only to requests with a usable Range header, ...). Without a
  ``*_times`` value it fires every time.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Self
from urllib.parse import quote

from aiohttp import web
from faultscript import ScriptedFile, ScriptOptions, Step, serve_scripted

HOST = "127.0.0.1"
SLICE = 128 * 1024
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)
STOP_GRACE = 0.2
URL_SAFE = "/:@!$&'()*+,;=-._~%"


@dataclass
class RequestRecord:
    """One request as the server saw it. ``bytes_sent`` counts entity body bytes only."""

    path: str
    method: str
    headers: dict[str, str]
    started: float
    status: int | None = None
    bytes_sent: int = 0
    finished: float | None = None
    aborted_by_client: bool = False
    aborted_by_server: bool = False
    faults: list[str] = field(default_factory=list)
    get_index: int | None = None
    """Which GET of its file this was (0 for the first), for per-request fault plans."""

    def header(self, name: str) -> str | None:
        """Case-insensitive request header lookup."""
        lname = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lname), None)


@dataclass
class FileOptions:
    """Per-file behaviour; keyword arguments of ``FaultServer.add_file``."""

    etag: bool = True
    last_modified: bool = True
    chunked: bool = False
    accept_ranges: bool | None = None  # None: advertise unless ranges are always ignored
    content_type: str = "application/octet-stream"
    content_disposition: str | None = None
    ignore_range: bool = False
    ignore_range_times: int | None = None
    drop_after: int | None = None
    drop_times: int | None = None
    stall_after: int | None = None
    stall_times: int | None = None
    stall_seconds: float = 3600.0
    lie_length: int | None = None
    lie_length_times: int | None = None
    change_after: int | None = None
    new_data: bytes | None = None
    wrong_content_range: bool | str = False  # True/"start": wrong start; "total": wrong total
    wrong_content_range_times: int | None = None
    statuses: list[int] = field(default_factory=list)
    retry_after: str | None = None
    rate: float | None = None
    delay: float = 0.0
    delay_times: int | None = None
    # --- response-rule faults (see _plan_drop / _send_close_delimited)
    drop_plan: list[int | None] = field(default_factory=list)
    """Per GET, in order: cut that body after this many bytes (None: no cut)."""
    partial_without_validators: bool = False
    """206 answers leave out ETag and Last-Modified (the 200 carries them)."""
    range_close_delimited: bool = False
    """206 answers carry neither Content-Length nor chunking: the body ends at close."""


@dataclass
class Entity:
    """One version of a file's content with its validators."""

    data: bytes
    etag: str
    last_modified: str
    version: int


@dataclass
class _File:
    path: str
    entity: Entity
    options: FileOptions
    gets: int = 0
    fired: dict[str, int] = field(default_factory=dict)
    changed: bool = False


class _Unsatisfiable(Exception):
    pass


def parse_range(header: str, total: int) -> tuple[int, int] | None:
    """Return the (first, last) byte of a single ``bytes=`` range, None to ignore the header.

    Raises ``_Unsatisfiable`` for a syntactically valid range that misses the entity.
    """
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_s, dash, last_s = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if not first_s:  # suffix: bytes=-S
            suffix = int(last_s)
            if suffix <= 0 or total == 0:
                raise _Unsatisfiable
            return max(0, total - suffix), total - 1
        first = int(first_s)
        last = int(last_s) if last_s else None
    except ValueError:
        return None
    if first < 0 or (last is not None and last < first):
        return None
    if first >= total:
        raise _Unsatisfiable
    return first, total - 1 if last is None else min(last, total - 1)


def _http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def _same_date(a: str, b: str) -> bool:
    try:
        return parsedate_to_datetime(a) == parsedate_to_datetime(b)
    except (TypeError, ValueError):
        return False


class FaultServer:
    """Loopback HTTP server whose files can misbehave on purpose. See the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, _File] = {}
        self._scripted: dict[str, ScriptedFile] = {}
        self._redirects: dict[str, tuple[str, int]] = {}
        self._statuses: dict[str, tuple[int, str | None]] = {}
        self._raw: dict[str, bytes] = {}
        self._records: list[RequestRecord] = []
        self._active: list[str] = []
        self._peaks: list[tuple[str, ...]] = []
        self._version = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self.port = 0

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        """Start the server thread and wait until the port is bound."""
        if self._thread is not None:
            return self
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="faultserver")
        self._thread.daemon = True
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._setup(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        """Stop quickly: end stalls, close every connection, stop the loop and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._teardown(), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()
            self._loop = self._thread = self._runner = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _setup(self) -> None:
        self._closing = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=STOP_GRACE
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _teardown(self) -> None:
        assert self._closing is not None and self._runner is not None
        self._closing.set()
        await self._runner.cleanup()
        current = asyncio.current_task()
        rest = [t for t in asyncio.all_tasks() if t is not current]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    # --------------------------------------------------------------- registration

    def url(self, path: str) -> str:
        """Full URL for a path (or a URL, returned unchanged)."""
        if path.startswith(("http://", "https://")):
            return path
        if not path.startswith("/"):
            path = "/" + path
        return f"http://{HOST}:{self.port}{quote(path, safe=URL_SAFE)}"

    def add_file(self, path: str, data: bytes, **options: Any) -> str:
        """Register content at ``path`` and return its URL. Options: see ``FileOptions``."""
        opts = FileOptions(**options)
        if opts.change_after is not None and opts.new_data is None:
            raise ValueError("change_after needs new_data")
        with self._lock:
            self._files[path] = _File(path, self._new_entity(data), opts)
        return self.url(path)

    def replace_file(self, path: str, data: bytes) -> None:
        """Change the entity at ``path`` now (new body, ETag and Last-Modified)."""
        with self._lock:
            self._files[path].entity = self._new_entity(data)

    def entity(self, path: str) -> Entity:
        """The entity currently served at ``path`` (its ETag, Last-Modified, data)."""
        with self._lock:
            return self._files[path].entity

    def add_scripted(
        self, path: str, data: bytes, plan: list[Step], options: ScriptOptions | None = None
    ) -> str:
        """Register a scripted file (see ``faultscript``): its GETs follow ``plan`` in order."""
        with self._lock:
            self._scripted[path] = ScriptedFile(path, list(plan), options or ScriptOptions())
            self._scripted[path].versions.append(data)
        return self.url(path)

    def behave(self, path: str) -> None:
        """Drop what is left of a scripted file's plan: from now on it answers correctly."""
        with self._lock:
            file = self._scripted[path]
            del file.plan[file.gets :]

    def versions(self, path: str) -> list[bytes]:
        """Every entity a scripted file has had, oldest first."""
        with self._lock:
            return list(self._scripted[path].versions)

    def add_redirect(self, path: str, target: str, status: int = 302) -> str:
        """``path`` answers ``status`` with a Location to ``target`` (a path or a URL)."""
        with self._lock:
            self._redirects[path] = (target, status)
        return self.url(path)

    def add_status(self, path: str, status: int, retry_after: str | None = None) -> str:
        """``path`` always answers ``status`` with a short body."""
        with self._lock:
            self._statuses[path] = (status, retry_after)
        return self.url(path)

    def clear_status(self, path: str) -> None:
        """``path`` no longer answers the status `add_status` gave it."""
        with self._lock:
            del self._statuses[path]

    def add_location(self, path: str, location: str, status: int = 302) -> str:
        """``path`` answers ``status`` with ``Location: location`` sent verbatim (any scheme)."""
        return self.add_raw(
            path, status, reason=b"Found", headers=[("Location", location.encode())]
        )

    def add_bytes(self, path: str, answer: bytes) -> str:
        """``path`` answers exactly ``answer``, then closes: a status line or headers that
        are not HTTP at all (see `add_raw` for a well-formed answer with hostile bytes)."""
        with self._lock:
            self._raw[path] = answer
        return self.url(path)

    def add_raw(
        self,
        path: str,
        status: int,
        *,
        reason: bytes = b"",
        headers: Iterable[tuple[str, bytes]] = (),
        body: bytes = b"",
    ) -> str:
        """``path`` always answers these bytes, written to the socket as they are (aiohttp's
        own writer refuses control characters): a hostile server's escape sequences in the
        reason phrase or in header values such as ``Location``, bytes that are not UTF-8."""
        head = b"HTTP/1.1 %d %s\r\n" % (status, reason)
        for name, value in headers:
            head += name.encode() + b": " + value + b"\r\n"
        head += b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        with self._lock:
            self._raw[path] = head + body
        return self.url(path)

    def _new_entity(self, data: bytes) -> Entity:
        """Caller holds the lock. The version is server-wide so every entity is distinct."""
        self._version += 1
        digest = hashlib.blake2b(data, digest_size=8).hexdigest()
        modified = BASE_TIME + timedelta(minutes=self._version)
        return Entity(data, f'"{digest}-{self._version}"', _http_date(modified), self._version)

    # ------------------------------------------------------------ instrumentation

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot (copies) of every request record so far, in arrival order.

        The server thread finishes a record a moment after the client has the last byte:
        use ``wait_for`` before asserting on ``finished``/``bytes_sent`` of a just-read body.
        """
        with self._lock:
            return [dataclasses.replace(r, faults=list(r.faults)) for r in self._records]

    def requests_for(self, path: str, method: str | None = None) -> list[RequestRecord]:
        return [
            r
            for r in self.requests
            if r.path == path and (method is None or r.method == method.upper())
        ]

    def clear_requests(self) -> None:
        with self._lock:
            self._records.clear()
            self._peaks.clear()

    def bytes_served(self, path: str | None = None) -> int:
        """Entity body bytes written, for one path or all."""
        return sum(r.bytes_sent for r in self.requests if path is None or r.path == path)

    def max_concurrent(self, path_prefix: str | None = None) -> int:
        """Most response bodies served at once (all paths, or paths starting with a prefix)."""
        prefix = path_prefix or ""
        with self._lock:
            return max((sum(p.startswith(prefix) for p in peak) for peak in self._peaks), default=0)

    def active(self, path_prefix: str | None = None) -> int:
        """How many response bodies are being served right now."""
        prefix = path_prefix or ""
        with self._lock:
            return sum(p.startswith(prefix) for p in self._active)

    async def wait_for(
        self,
        predicate: Callable[[], object],
        timeout: float = 5.0,  # noqa: ASYNC109 - mirrors wait_for_sync; a plain poll deadline
        interval: float = 0.01,
    ) -> None:
        """Poll ``predicate()`` without blocking the caller's loop; TimeoutError if never true."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            await asyncio.sleep(interval)

    def wait_for_sync(
        self, predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.01
    ) -> None:
        """Blocking variant of ``wait_for`` for sync tests (never call it on a client's loop)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            time.sleep(interval)

    def _record(self, record: RequestRecord, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(record, key, value)

    def _fault(self, record: RequestRecord, name: str) -> None:
        with self._lock:
            record.faults.append(name)

    # ------------------------------------------------------------------- handler

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        record = RequestRecord(
            request.path, request.method, dict(request.headers), time.monotonic()
        )
        with self._lock:
            self._records.append(record)
        try:
            response = await self._dispatch(request, record)
            self._record(record, status=response.status)
            return response
        except ConnectionError:
            # The client left (or a fault closed the connection) mid-answer. aiohttp's attempt
            # to finish this stand-in response fails quietly on the closed transport.
            self._record(record, aborted_by_client=not record.aborted_by_server)
            return web.Response(status=499)
        except asyncio.CancelledError:
            self._record(record, aborted_by_client=not record.aborted_by_server)
            raise
        finally:
            self._record(record, finished=time.monotonic())

    async def _dispatch(self, request: web.Request, record: RequestRecord) -> web.StreamResponse:
        path = request.path
        with self._lock:
            redirect = self._redirects.get(path)
            fixed = self._statuses.get(path)
            file = self._files.get(path)
            raw = self._raw.get(path)
            scripted = self._scripted.get(path)
        if raw is not None and request.transport is not None:
            request.transport.write(raw)
            self._abort(request, record)
            raise ConnectionError("answered with raw bytes")
        if scripted is not None:
            return await self._serve_scripted(request, record, scripted)
        if redirect is not None:
            target, status = redirect
            return web.Response(status=status, headers={"Location": self.url(target)})
        if fixed is not None:
            return self._short(*fixed)
        if file is None:
            return self._short(404)
        if request.method not in ("GET", "HEAD"):
            return self._short(405)
        return await self._serve_file(request, record, file)

    async def _serve_scripted(
        self, request: web.Request, record: RequestRecord, file: ScriptedFile
    ) -> web.StreamResponse:
        def count(sent: int) -> None:
            with self._lock:
                record.bytes_sent += sent

        try:
            return await serve_scripted(
                request, file, lambda status: self._record(record, status=status), count
            )
        except ConnectionResetError:
            self._record(record, aborted_by_server=True)
            raise

    def _short(self, status: int, retry_after: str | None = None) -> web.Response:
        """A non-2xx answer with a short text body."""
        headers = {}
        if retry_after is not None and status in (429, 503):
            headers["Retry-After"] = retry_after
        return web.Response(status=status, text=f"{status} from faultserver\n", headers=headers)

    def _take(self, file: _File, name: str, times: int | None, *, count: bool = True) -> bool:
        """Does fault ``name`` fire on this request? Consumes one of its ``times`` if so."""
        if times is None:
            return True
        with self._lock:
            used = file.fired.get(name, 0)
            if used >= times:
                return False
            if count:
                file.fired[name] = used + 1
            return True

    def _next_get(self, file: _File) -> tuple[int, Entity]:
        """Count a GET and return its index and the entity it gets."""
        with self._lock:
            index = file.gets
            file.gets += 1
            return index, self._apply_change(file, index)

    def _peek_entity(self, file: _File) -> Entity:
        """The entity a HEAD sees: what the next GET would get, without counting."""
        with self._lock:
            return self._apply_change(file, file.gets)

    def _apply_change(self, file: _File, index: int) -> Entity:
        """Caller holds the lock. Switch to ``new_data`` from GET number ``change_after`` on."""
        opts = file.options
        if opts.change_after is not None and index >= opts.change_after and not file.changed:
            assert opts.new_data is not None
            file.entity = self._new_entity(opts.new_data)
            file.changed = True
        return file.entity

    async def _serve_file(
        self, request: web.Request, record: RequestRecord, file: _File
    ) -> web.StreamResponse:
        opts = file.options
        is_get = request.method == "GET"
        if opts.delay and self._take(file, "delay", opts.delay_times, count=is_get):
            self._fault(record, "delay")
            await asyncio.sleep(opts.delay)
        if is_get:
            index, entity = self._next_get(file)
            self._record(record, get_index=index)
            if index < len(opts.statuses) and not 200 <= opts.statuses[index] < 300:
                self._fault(record, "status")
                return self._short(opts.statuses[index], opts.retry_after)
        else:
            entity = self._peek_entity(file)
        return await self._serve_entity(request, record, file, entity, count=is_get)

    def _choose_range(
        self, request: web.Request, record: RequestRecord, file: _File, entity: Entity, count: bool
    ) -> tuple[int, int] | None:
        """The byte range to answer with 206, or None for a full 200. May raise _Unsatisfiable."""
        header = request.headers.get("Range")
        if header is None:
            return None
        opts = file.options
        if opts.ignore_range and self._take(
            file, "ignore_range", opts.ignore_range_times, count=count
        ):
            self._fault(record, "ignore_range")
            return None
        chosen = parse_range(header, len(entity.data))
        if chosen is not None and not self._if_range_matches(request, file, entity):
            return None
        return chosen

    def _if_range_matches(self, request: web.Request, file: _File, entity: Entity) -> bool:
        value = request.headers.get("If-Range")
        if value is None:
            return True
        value = value.strip()
        if value.startswith("W/"):
            return False
        if value.startswith('"'):
            return file.options.etag and value == entity.etag
        return file.options.last_modified and _same_date(value, entity.last_modified)

    def _base_headers(self, file: _File, entity: Entity) -> dict[str, str]:
        opts = file.options
        headers = {"Content-Type": opts.content_type}
        if opts.etag:
            headers["ETag"] = entity.etag
        if opts.last_modified:
            headers["Last-Modified"] = entity.last_modified
        accept = opts.accept_ranges
        if accept is None:
            accept = not (opts.ignore_range and opts.ignore_range_times is None)
        if accept:
            headers["Accept-Ranges"] = "bytes"
        if opts.content_disposition is not None:
            headers["Content-Disposition"] = opts.content_disposition
        return headers

    async def _serve_entity(
        self,
        request: web.Request,
        record: RequestRecord,
        file: _File,
        entity: Entity,
        count: bool,
    ) -> web.StreamResponse:
        opts = file.options
        total = len(entity.data)
        headers = self._base_headers(file, entity)
        try:
            chosen = self._choose_range(request, record, file, entity, count)
        except _Unsatisfiable:
            response = self._short(416)
            response.headers.update(headers)
            response.headers["Content-Range"] = f"bytes */{total}"
            return response
        status, first, last = 200, 0, total - 1
        if chosen is not None:
            status, (first, last) = 206, chosen
            first, claimed = self._content_range(record, file, first, last, total, count)
            headers["Content-Range"] = claimed
            if opts.partial_without_validators:
                headers.pop("ETag", None)
                headers.pop("Last-Modified", None)
        body = memoryview(entity.data)[first : last + 1]
        if status == 206 and opts.range_close_delimited and request.method == "GET":
            return await self._send_close_delimited(request, record, headers, body)
        response = web.StreamResponse(status=status, headers=headers)
        lie = opts.lie_length is not None and (
            not count or self._take(file, "lie_length", opts.lie_length_times)
        )
        if lie:
            assert opts.lie_length is not None
            response.content_length = len(body) + opts.lie_length
        elif opts.chunked:
            response.enable_chunked_encoding()
        else:
            response.content_length = len(body)
        self._record(record, status=status)
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        if lie:
            self._fault(record, "lie_length")
        await self._send_body(request, response, record, file, body, close_after=lie)
        return response

    def _content_range(
        self, record: RequestRecord, file: _File, first: int, last: int, total: int, count: bool
    ) -> tuple[int, str]:
        """(first byte actually sent, Content-Range value); wrong on purpose when configured."""
        mode = file.options.wrong_content_range
        if not mode or not self._take(
            file, "wrong_content_range", file.options.wrong_content_range_times, count=count
        ):
            return first, f"bytes {first}-{last}/{total}"
        self._fault(record, "wrong_content_range")
        if mode == "total":
            return first, f"bytes {first}-{last}/{total + 1}"
        # The body really starts elsewhere, and the header says so: only the start is wrong.
        shifted = 0 if first > 0 else min(1, last)
        return shifted, f"bytes {shifted}-{last}/{total}"

    # ------------------------------------------------------------------ body

    async def _send_body(
        self,
        request: web.Request,
        response: web.StreamResponse,
        record: RequestRecord,
        file: _File,
        body: memoryview,
        close_after: bool,
    ) -> None:
        opts = file.options
        size = len(body)
        drop_at = self._plan_drop(record, file, size)
        if drop_at is None:
            drop_at = self._cut_point(record, file, "drop", opts.drop_after, opts.drop_times, size)
        stall_at = self._cut_point(record, file, "stall", opts.stall_after, opts.stall_times, size)
        with self._lock:
            self._active.append(record.path)
            self._peaks.append(tuple(self._active))
        try:
            await self._write_slices(request, response, record, body, drop_at, stall_at, opts)
            if close_after:
                self._abort(request, record)
        finally:
            with self._lock:
                self._active.remove(record.path)

    def _plan_drop(self, record: RequestRecord, file: _File, size: int) -> int | None:
        """Where ``drop_plan`` cuts this GET's body, if it says so."""
        plan, index = file.options.drop_plan, record.get_index
        if index is None or index >= len(plan):
            return None
        cut = plan[index]
        if cut is None or cut >= size:
            return None
        self._fault(record, "drop_plan")
        return cut

    async def _send_close_delimited(
        self, request: web.Request, record: RequestRecord, headers: dict[str, str], body: memoryview
    ) -> web.StreamResponse:
        """A 206 written raw, without length or chunking, ended by closing the connection
        (cut short by ``drop_plan``). The stand-in response returned is never sent."""
        assert request.transport is not None
        with self._lock:
            file = self._files[record.path]
        cut = self._plan_drop(record, file, len(body))
        end = len(body) if cut is None else cut
        lines = ["HTTP/1.1 206 Partial Content", *(f"{k}: {v}" for k, v in headers.items())]
        head = "\r\n".join([*lines, "Connection: close", "", ""]).encode("latin-1")
        request.transport.write(head + bytes(body[:end]))
        self._record(record, status=206, bytes_sent=end)
        self._abort(request, record)
        raise ConnectionResetError("close-delimited body sent")

    def _cut_point(
        self,
        record: RequestRecord,
        file: _File,
        name: str,
        after: int | None,
        times: int | None,
        size: int,
    ) -> int | None:
        """Where a drop/stall fault interrupts this body, if it applies and fires."""
        if after is None or after >= size or not self._take(file, name, times):
            return None
        self._fault(record, name)
        return after

    async def _write_slices(
        self,
        request: web.Request,
        response: web.StreamResponse,
        record: RequestRecord,
        body: memoryview,
        drop_at: int | None,
        stall_at: int | None,
        opts: FileOptions,
    ) -> None:
        rate = opts.rate
        step = SLICE if not rate else max(1, min(SLICE, int(rate / 50)))
        began = time.monotonic()
        pos, stalled = 0, False
        while pos < len(body):
            if pos == drop_at:
                self._abort(request, record)
                return
            if pos == stall_at and not stalled:
                stalled = True
                await self._stall(request, record, opts.stall_seconds)
                began = time.monotonic() - (pos / rate if rate else 0)
            end = min(len(body), pos + step, *_stops(pos, drop_at, stall_at))
            await response.write(body[pos:end])
            with self._lock:
                record.bytes_sent += end - pos
            pos = end
            if rate and pos < len(body):
                await asyncio.sleep(max(0.0, began + pos / rate - time.monotonic()))

    async def _stall(self, request: web.Request, record: RequestRecord, seconds: float) -> None:
        """Go silent without closing; end early if the client leaves or the server stops."""
        assert self._closing is not None
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self._closing.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                raise ConnectionResetError("client went away during stall")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), min(0.05, seconds))
        if self._closing.is_set():
            self._abort(request, record)
            raise ConnectionResetError("server stopping")

    def _abort(self, request: web.Request, record: RequestRecord) -> None:
        """Close the connection (buffered bytes are flushed first) so the body is truncated."""
        self._record(record, aborted_by_server=True)
        if request.transport is not None:
            request.transport.close()


def _stops(pos: int, *points: int | None) -> Iterable[int]:
    """Fault points ahead of ``pos`` where the current slice must end."""
    return [p for p in points if p is not None and p > pos]
