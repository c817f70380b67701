"""The response rules, in one place: how a request is made and measured, which answers are
accepted, and how every failure reads.

Whole-file transfers, ranged (segmented) connections and page fetches all go through
`request` (the bracket: request-rate throttle, connection counters, time to first byte,
status recording), `check_status`, `check_partial` (the 206 validator), and
`mapped_errors` (aiohttp's and the OS's exceptions as one-line `DownloadError`s).

The partial-response rule, stated once: a 206 is trusted only if its Content-Range is
exactly the range asked for, its total is the total already known (if any), its
Content-Length (if sent) matches that range, and **every validator we hold comes back
identical** (an ETag or Last-Modified we hold but the answer lacks is a change, not a
match). Any doubt restarts the download from byte zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass

import aiohttp

from afetch_tui.engine.errors import DownloadError
from afetch_tui.engine.hosts import Host
from afetch_tui.engine.limits import throttle
from afetch_tui.engine.retry import PUSHBACK_STATUSES, RETRYABLE_STATUSES, parse_retry_after

FD_EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE})
"""Out of file descriptors: back-pressure (fewer at once), never a verdict on the download."""

_CONTENT_RANGE = re.compile(
    r"^\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*$", re.IGNORECASE | re.ASCII
)


# ------------------------------------------------------------------------------ headers


@dataclass(frozen=True, slots=True)
class ContentRange:
    """A parsed ``Content-Range: bytes first-last/total``.

    ``first``/``last`` are None for ``bytes */total`` (the form a 416 carries); ``total``
    is None for ``/*`` (length unknown).
    """

    first: int | None
    last: int | None
    total: int | None

    @property
    def length(self) -> int | None:
        if self.first is None or self.last is None:
            return None
        return self.last - self.first + 1


def parse_content_range(value: str | None) -> ContentRange | None:
    """The header's value, or None when it is absent or not self-consistent."""
    match = _CONTENT_RANGE.match(value or "")
    if not match:
        return None
    first_s, last_s, total_s = match.groups()
    total = None if total_s == "*" else int(total_s)
    if first_s is None:
        return None if total is None else ContentRange(None, None, total)
    first, last = int(first_s), int(last_s)
    if last < first or (total is not None and last >= total):
        return None
    return ContentRange(first, last, total)


def strong_etag(etag: str | None) -> str | None:
    """The ETag to send back in ``If-Range``, if it is strong and can go back byte for byte."""
    if not etag or etag.startswith("W/"):
        return None
    return etag if _sendable(etag) else None


def if_range(etag: str | None, last_modified: str | None) -> str | None:
    """The validator to send in ``If-Range``: a strong ETag, else Last-Modified.

    aiohttp writes header text as UTF-8 and its C writer silently drops surrogates, so a
    value whose bytes were not UTF-8 (kept as surrogates) would go out as another
    validator: such a value is never sent (the other one, or starting over, takes its place).
    """
    return strong_etag(etag) or (
        last_modified if last_modified and _sendable(last_modified) else None
    )


def _sendable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# ------------------------------------------------------------------------------ request


@contextlib.asynccontextmanager
async def request(
    session: aiohttp.ClientSession,
    url: str,
    *,
    headers: Mapping[str, str],
    proxy: str | None,
    max_redirects: int,
    host: Host | None,
    opened: Callable[[], None] | None = None,
    closed: Callable[[], None] | None = None,
    stall_limit: float | None = None,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """GET ``url``: wait for the host's request-rate token, record its status and, for
    an answer that delivers (2xx), its time to first byte; ``opened``/``closed``
    bracket the connection (the host's counts); ``stall_limit`` (seconds to connect
    and between two reads) overrides the session's timeout."""
    if host is not None:
        await throttle((host.request_bucket,), 1)
    started = time.monotonic()
    if opened is not None:
        opened()
    try:
        async with session.get(
            url,
            headers=dict(headers),
            proxy=proxy,
            max_redirects=max_redirects,
            timeout=(
                session.timeout
                if stall_limit is None
                else aiohttp.ClientTimeout(
                    total=None, sock_connect=stall_limit, sock_read=stall_limit
                )
            ),
        ) as response:
            if host is not None:
                if response.status < 300:  # a quick refusal says nothing of a transfer
                    host.record_ttfb(time.monotonic() - started)
                host.record_status(response.status)
            try:
                yield response
            except BaseException:
                # A failed exchange never goes back to the pool: its socket is freed now
                # (out of descriptors, idle pooled sockets would hold them all).
                response.close()
                raise
    finally:
        if closed is not None:
            closed()


# ------------------------------------------------------------------------------ answers


def check_status(response: aiohttp.ClientResponse, host: str) -> None:
    """Raise for every status that carries no body for us (416 is the caller's)."""
    status = response.status
    if status in RETRYABLE_STATUSES:
        raise DownloadError(
            f"{status} {response.reason} from {host}",
            retryable=True,
            retry_after=parse_retry_after(response.headers.get("Retry-After"), time.time()),
            host_pushback=status in PUSHBACK_STATUSES,
            status=status,
        )
    if status == 416:
        return
    if status >= 400:
        raise DownloadError(f"{status} {response.reason} from {host}", status=status)
    if status not in (200, 206):
        raise DownloadError(f"unexpected {status} {response.reason} from {host}")


@dataclass(frozen=True, slots=True)
class Known:
    """What we hold about the entity whose bytes are on disk."""

    total: int | None
    etag: str | None
    last_modified: str | None


def check_partial(
    response: aiohttp.ClientResponse,
    *,
    host: str,
    first: int,
    last: int | None,
    known: Known,
) -> ContentRange:
    """Accept a 206 as bytes ``first``-``last`` (``None``: to the end) of the known entity.

    Returns its Content-Range (whose total is then certain); raises a restarting
    `DownloadError` on any doubt (see the module docstring).
    """
    content_range = parse_content_range(response.headers.get("Content-Range"))
    if content_range is None or content_range.first is None or content_range.total is None:
        raise _restart(f"206 without a usable Content-Range from {host}: starting over")
    total = content_range.total
    wanted_last = total - 1 if last is None else min(last, total - 1)
    if content_range.first != first or content_range.last != wanted_last:
        raise _restart(
            f"{host} answered bytes {content_range.first}-{content_range.last}/{total} "
            f"when asked from {first}: starting over"
        )
    if known.total is not None and total != known.total:
        raise _restart(
            f"file size on {host} changed ({known.total} → {total} bytes): starting over"
        )
    length = response.content_length
    if length is not None and length != content_range.length:
        raise _restart(
            f"{host} sent Content-Length {length} for a {content_range.length}-byte range: "
            "starting over"
        )
    etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
    if (known.etag and etag != known.etag) or (
        known.last_modified and modified != known.last_modified
    ):
        raise _restart(f"the file on {host} changed since the last attempt: starting over")
    return content_range


def unsatisfiable_total(response: aiohttp.ClientResponse) -> int | None:
    """The total a 416 states (``Content-Range: bytes */N``), if it states one."""
    content_range = parse_content_range(response.headers.get("Content-Range"))
    return content_range.total if content_range is not None else None


def _restart(message: str) -> DownloadError:
    return DownloadError(message, retryable=True, restart=True)


# ------------------------------------------------------------------------------ errors


def fd_exhausted(host: str) -> DownloadError:
    return DownloadError(
        f"out of file descriptors talking to {host}",
        retryable=True,
        backpressure=True,
    )


def map_error(
    exc: BaseException, *, host: str, timeout: float, truncated: Callable[[], DownloadError]
) -> DownloadError | None:
    """``exc`` as a one-line `DownloadError`, or None if it is not a network error.

    ``host`` is the host the request was for; a connection failure names the host
    actually tried (after redirects, or the proxy).
    """
    if isinstance(exc, OSError) and exc.errno in FD_EXHAUSTED:
        return fd_exhausted(host)
    if isinstance(exc, aiohttp.ClientConnectorError) and exc.os_error.errno in FD_EXHAUSTED:
        return fd_exhausted(host)
    if isinstance(exc, aiohttp.TooManyRedirects):
        return DownloadError(f"too many redirects (a redirect loop?) from {host}")
    if isinstance(exc, aiohttp.NonHttpUrlRedirectClientError):
        target = str(exc.args[0]) if exc.args else ""
        return DownloadError(
            f"{host} redirected to a {_scheme_of(target)} URL ({target}): "
            "only http and https are followed"
        )
    if isinstance(exc, aiohttp.InvalidURL):
        return DownloadError(f"redirected to an unusable URL: {exc}")
    if isinstance(
        exc,
        aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError | asyncio.IncompleteReadError,
    ):
        return truncated()
    if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):
        return DownloadError(f"stalled: no data for {timeout:g} s from {host}", retryable=True)
    if isinstance(exc, aiohttp.ClientConnectorError):
        tried = _tried(exc)
        what = "the proxy " if isinstance(exc, aiohttp.ClientProxyConnectionError) else ""
        return DownloadError(f"cannot connect to {what}{tried}: {_reason(exc)}", retryable=True)
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return DownloadError(
            f"the proxy answered {exc.status} {exc.message}", retryable=True, status=exc.status
        )
    if isinstance(exc, aiohttp.ClientResponseError):  # aiohttp could not parse the answer
        return DownloadError(f"protocol error from {host}: {exc.message}", retryable=True)
    if isinstance(exc, aiohttp.ClientError):
        return DownloadError(f"connection error with {host}: {exc}", retryable=True)
    return None


@contextlib.contextmanager
def mapped_errors(
    host: str, *, timeout: float, truncated: Callable[[], DownloadError]
) -> Iterator[None]:
    """Raise aiohttp's (and out-of-descriptor) exceptions as `DownloadError` (`map_error`)."""
    try:
        yield
    except Exception as exc:
        mapped = map_error(exc, host=host, timeout=timeout, truncated=truncated)
        if mapped is None:
            raise
        raise mapped from None


def _tried(exc: aiohttp.ClientConnectorError) -> str:
    port, secure = exc.port, bool(getattr(exc._conn_key, "is_ssl", False))
    if port is None or port == (443 if secure else 80):
        return exc.host
    return f"{exc.host}:{port}"


def _reason(exc: aiohttp.ClientConnectorError) -> str:
    error = exc.os_error
    if error.errno and not isinstance(error, socket.gaierror):
        return os.strerror(error.errno)  # not asyncio's "Connect call failed (...)"
    return error.strerror or str(error)


def _scheme_of(url: str) -> str:
    scheme, colon, _ = url.partition(":")
    if colon and scheme.isascii() and scheme.replace("+", "").replace("-", "").isalnum():
        return f"{scheme.lower()}:"
    return "non-HTTP"
