"""The FaultServer's scripted mode: each GET of a file follows the next step of a plan.

A scripted file (``FaultServer.add_scripted``) answers its GET requests, in the order they
arrive, each by the next `Step` of its plan; once the plan is used up it behaves. A step
combines misbehaviours: the entity replaced first, a status instead of the file, a reset,
Range ignored, Content-Range wrong or missing, a length that lies, another framing, the body
cut or paused part way. Without those it answers like a correct server: ``If-Range`` against
the current validators, ``bytes=N-`` and ``bytes=N-M`` ranges, 416 past the end. HEAD
requests get the headers of a correct answer and use up no step.

Every version the file ever had is kept (`ScriptedFile.versions`), so a test can check that
a finished download holds exactly the bytes of one of them.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal

from aiohttp import web

ReplaceKind = Literal["fresh", "same_size", "tail", "head", "grow", "shrink"]
RangeFault = Literal["shift", "total", "end", "missing", "garbage", "star", "unit"]
Framing = Literal["length", "chunked", "close"]
CutMode = Literal["fin", "rst", "pause"]
ValidatorFault = Literal["strip", "weak"]

BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)
REASONS = {200: "OK", 206: "Partial Content", 416: "Range Not Satisfiable"}


@dataclass(frozen=True)
class Replace:
    """A new version of the entity, made from the current one (``seed`` picks the bytes).

    ``fresh``: other bytes, another size; ``same_size``: other bytes, same size; ``tail``:
    same first ``at`` of it, other bytes after; ``head``: other bytes up to ``at``, same after;
    ``grow``: the old bytes with more appended; ``shrink``: cut at ``at``.
    """

    kind: ReplaceKind
    seed: int = 0
    at: float = 0.5
    """Where the edit starts, as a fraction of the current size."""

    def apply(self, old: bytes) -> bytes:
        rng = random.Random(self.seed)
        cut = int(len(old) * self.at)
        if self.kind == "fresh":
            return rng.randbytes(max(0, len(old) + rng.randint(-len(old) // 2, len(old) // 2)))
        if self.kind == "same_size":
            return rng.randbytes(len(old))
        if self.kind == "tail":
            return old[:cut] + rng.randbytes(len(old) - cut)
        if self.kind == "head":
            return rng.randbytes(cut) + old[cut:]
        if self.kind == "grow":
            return old + rng.randbytes(rng.randint(1, max(1, len(old) // 4)))
        return old[:cut]


@dataclass(frozen=True)
class Step:
    """How the server answers one GET. The default answers correctly."""

    replace: Replace | None = None
    """Change the entity (new validators too) before answering."""
    reset: bool = False
    """Reset the connection (RST) before any answer."""
    status: int | None = None
    """Answer this status (408, 429, 5xx ...) with a short body instead of the file."""
    retry_after: str | None = None
    """Retry-After sent with ``status`` (any text: seconds, a date, nonsense)."""
    ignore_range: bool = False
    """Answer 200 with the whole entity even to a usable Range."""
    content_range: RangeFault | None = None
    """A 206's Content-Range: ``shift`` starts the body elsewhere and says so, ``end``
    ends it early and says so, ``total`` claims one byte more, ``star`` says ``/*``,
    ``missing``, ``garbage`` and ``unit`` are unusable."""
    framing: Framing = "length"
    """``length``: Content-Length; ``chunked``; ``close``: neither, the end is the close.
    A close-delimited 200 is never cut: its close *is* its end (a client cannot tell a
    reset there from the end either: aiohttp ends such a body at any close)."""
    length_delta: int = 0
    """Content-Length off by this: more claims bytes never sent (the connection then closes);
    fewer (206 only) sends only that many."""
    cut: float | None = None
    """Where the body is interrupted, as a fraction of it."""
    cut_mode: CutMode = "fin"
    """``fin``/``rst``: close there (gracefully / with a reset); ``pause``: go silent for
    ``pause_seconds``, then go on."""
    pause_seconds: float = 0.1
    validators: ValidatorFault | None = None
    """This answer's ETag/Last-Modified: ``strip`` leaves them out, ``weak`` sends ``W/``."""


BEHAVE = Step()


@dataclass(frozen=True)
class ScriptOptions:
    """What the file always does (per file, not per request)."""

    etag: Literal["strong", "weak"] | None = "strong"
    last_modified: bool = True
    accept_ranges: bool = True
    content_disposition: str | None = None
    content_type: str = "application/octet-stream"


@dataclass
class ScriptedFile:
    path: str
    plan: list[Step]
    options: ScriptOptions
    versions: list[bytes] = field(default_factory=list)
    gets: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def data(self) -> bytes:
        return self.versions[-1]

    def etag(self) -> str:
        mark = f'"v{len(self.versions)}-{len(self.data)}"'
        return "W/" + mark if self.options.etag == "weak" else mark

    def last_modified(self) -> str:
        moment = BASE_TIME + timedelta(minutes=len(self.versions))
        return format_datetime(moment, usegmt=True)

    def next_step(self) -> Step:
        """The step for the GET arriving now; applies its replacement."""
        with self.lock:
            index = self.gets
            self.gets += 1
            step = self.plan[index] if index < len(self.plan) else BEHAVE
            if step.replace is not None:
                self.versions.append(step.replace.apply(self.data))
            return step


def parse_range(header: str | None, total: int) -> tuple[int, int] | Literal["416"] | None:
    """(first, last) of a single ``bytes=`` range; None: ignore the header; "416"."""
    if header is None:
        return None
    unit, _, spec = header.strip().partition("=")
    first_s, dash, last_s = spec.strip().partition("-")
    if unit.strip().lower() != "bytes" or "," in spec or not dash or not first_s.isdigit():
        return None
    first = int(first_s)
    if last_s and not last_s.isdigit():
        return None
    last = int(last_s) if last_s else total - 1
    if last < first:
        return None
    if first >= total:
        return "416"
    return first, min(last, total - 1)


def if_range_holds(value: str | None, file: ScriptedFile) -> bool:
    """RFC 9110 13.1.5: a strong ETag equal to ours, or our exact Last-Modified date."""
    if value is None:
        return True
    value = value.strip()
    if value.startswith('"'):
        return file.options.etag == "strong" and value == file.etag()
    if not file.options.last_modified:
        return False
    try:
        return parsedate_to_datetime(value) == parsedate_to_datetime(file.last_modified())
    except (TypeError, ValueError, IndexError):
        return False


@dataclass
class Answer:
    """What one response is made of, before it is written."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    """The bytes that follow the headers (already cut to what the framing allows)."""
    content_length: int | None
    chunked: bool


def plan_answer(request: web.Request, file: ScriptedFile, step: Step) -> Answer | None:
    """The response this step gives, or None for a reset."""
    opts = file.options
    if step.reset:
        return None
    if step.status is not None:
        headers = [("Content-Type", "text/plain")]
        if step.retry_after is not None:
            headers.append(("Retry-After", step.retry_after))
        body = f"{step.status} from faultscript\n".encode()
        return Answer(step.status, headers, body, len(body), False)
    data = file.data
    total = len(data)
    headers = [("Content-Type", opts.content_type)]
    if opts.accept_ranges:
        headers.append(("Accept-Ranges", "bytes"))
    if opts.content_disposition is not None:
        headers.append(("Content-Disposition", opts.content_disposition))
    if step.validators != "strip":
        if opts.etag is not None:
            etag = file.etag()
            headers.append(("ETag", "W/" + etag if step.validators == "weak" else etag))
        if opts.last_modified:
            headers.append(("Last-Modified", file.last_modified()))
    chosen = parse_range(request.headers.get("Range"), total)
    if step.ignore_range or not if_range_holds(request.headers.get("If-Range"), file):
        chosen = None
    if chosen == "416":
        headers.append(("Content-Range", f"bytes */{total}"))
        return Answer(416, headers, b"", 0, False)
    if chosen is None:
        status, body = 200, data
    else:
        status, (first, last) = 206, chosen
        first, last, claimed = _content_range(step.content_range, first, last, total)
        if claimed is not None:
            headers.append(("Content-Range", claimed))
        body = data[first : last + 1]
    content_length: int | None = len(body)
    if step.framing != "length":
        content_length = None
    elif step.length_delta > 0:
        content_length = len(body) + step.length_delta
    elif step.length_delta < 0 and status == 206:
        body = body[: max(0, len(body) + step.length_delta)]
        content_length = len(body)
    return Answer(status, headers, body, content_length, step.framing == "chunked")


def _content_range(
    fault: RangeFault | None, first: int, last: int, total: int
) -> tuple[int, int, str | None]:
    """(first and last byte sent, the Content-Range header or None) for a 206."""
    if fault == "shift":  # the body starts elsewhere, and the header says so
        first = 0 if first > 0 else min(1, last)
    elif fault == "end" and last > first:
        last -= 1
    honest = f"bytes {first}-{last}/{total}"
    claimed = {
        None: honest,
        "shift": honest,
        "end": honest,
        "total": f"bytes {first}-{last}/{total + 1}",
        "star": f"bytes {first}-{last}/*",
        "missing": None,
        "garbage": "bytes lots",
        "unit": f"items {first}-{last}/{total}",
    }[fault]
    return first, last, claimed


async def serve_scripted(
    request: web.Request,
    file: ScriptedFile,
    on_status: Callable[[int], None],
    count_bytes: Callable[[int], None],
) -> web.StreamResponse:
    """Answer one request to a scripted file, telling ``on_status`` the status it answers
    and ``count_bytes`` the body bytes it sends. A cut, reset or close-delimited answer
    ends in ``ConnectionResetError`` (the connection is gone)."""
    if request.method == "HEAD":
        answer = plan_answer(request, file, BEHAVE)
        assert answer is not None
        response = web.StreamResponse(status=answer.status, headers=answer.headers)
        response.content_length = answer.content_length
        await response.prepare(request)
        return response
    step = file.next_step()
    answer = plan_answer(request, file, step)
    transport = request.transport
    if answer is None:
        assert transport is not None
        _reset(transport)
        raise ConnectionResetError("scripted reset")
    on_status(answer.status)
    cut = None if step.cut is None else int(len(answer.body) * step.cut)
    if step.framing == "close" or not all(map(_plain, answer.headers)):
        assert transport is not None
        if answer.status == 200 and step.framing == "close":
            cut = None
        await _write_raw(transport, answer, step, cut, count_bytes)
        raise ConnectionResetError("scripted raw answer")
    response = web.StreamResponse(status=answer.status, headers=answer.headers)
    if answer.chunked:
        response.enable_chunked_encoding()
    else:
        response.content_length = answer.content_length
    await response.prepare(request)
    body = answer.body
    position = 0
    for piece in _pieces(len(body), cut):
        await response.write(body[position : position + piece])
        count_bytes(piece)
        position += piece
        if position == cut and position < len(body) and await _interrupt(request, step):
            raise ConnectionResetError("scripted cut")
    if answer.content_length is not None and answer.content_length > len(body):
        await response.write(b"")
        _close(request)
        raise ConnectionResetError("scripted short body")
    await response.write_eof()
    return response


def _plain(header: tuple[str, str]) -> bool:
    """Whether aiohttp's server would send this header as it is (printable ASCII)."""
    return all(" " <= char <= "~" for char in header[1])


def _pieces(size: int, cut: int | None) -> Sequence[int]:
    """Slice sizes: up to 64 KiB each, ending exactly at ``cut``."""
    stops = sorted({0, size, *([cut] if cut is not None and 0 <= cut < size else [])})
    pieces = []
    for start, end in itertools.pairwise(stops):
        while start < end:
            step = min(64 * 1024, end - start)
            pieces.append(step)
            start += step
    if cut == 0 and size:
        pieces.insert(0, 0)
    return pieces


async def _interrupt(request: web.Request, step: Step) -> bool:
    """At the cut: pause (False: go on) or close (True)."""
    if step.cut_mode == "pause":
        await asyncio.sleep(step.pause_seconds)
        return False
    transport = request.transport
    assert transport is not None
    await _drained(transport)
    if step.cut_mode == "rst":
        _reset(transport)
    else:
        transport.close()
    return True


def _close(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.close()


def _reset(transport: asyncio.Transport) -> None:
    """Close with a TCP reset (SO_LINGER 0): the client sees ECONNRESET."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _write_raw(
    transport: asyncio.Transport,
    answer: Answer,
    step: Step,
    cut: int | None,
    count_bytes: Callable[[int], None],
) -> None:
    """Write the answer straight to the socket (any header bytes; no framing at all for
    ``close``), then close the connection."""
    reason = REASONS.get(answer.status, "Whatever")
    lines = [f"HTTP/1.1 {answer.status} {reason}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in answer.headers]
    if answer.chunked:
        lines.append("Transfer-Encoding: chunked")
    elif step.framing != "close" and answer.content_length is not None:
        lines.append(f"Content-Length: {answer.content_length}")
    transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape"))
    body = answer.body
    stop = len(body) if cut is None else cut
    _write_body(transport, body[:stop], answer.chunked)
    count_bytes(stop)
    if cut is not None and step.cut_mode == "pause":
        await _drained(transport)
        await asyncio.sleep(step.pause_seconds)
        _write_body(transport, body[cut:], answer.chunked)
        count_bytes(len(body) - cut)
        cut = None
    if cut is None and answer.chunked:
        transport.write(b"0\r\n\r\n")
    await _drained(transport)
    if step.cut_mode == "rst" and cut is not None:
        _reset(transport)
    else:
        transport.close()


def _write_body(transport: asyncio.Transport, data: bytes, chunked: bool) -> None:
    if not data:
        return
    if chunked:
        transport.write(b"%x\r\n" % len(data) + data + b"\r\n")
    else:
        transport.write(data)


async def _drained(transport: asyncio.Transport) -> None:
    """Wait until the kernel has every byte written so far (so a cut falls exactly there)."""
    while transport.get_write_buffer_size():  # noqa: ASYNC110 - no event for an empty buffer
        await asyncio.sleep(0.001)
