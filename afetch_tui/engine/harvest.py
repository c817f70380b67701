"""Links from a web page: fetch it (capped), parse it (`links`), filter, and probe sizes.

A page is asked for compressed (``gzip, deflate``, as browsers do and as nginx's common
``gzip on`` answers) and decoded here; the size cap applies to the decoded bytes too, so a
small gzip bomb stops at the cap. Files are never asked compressed.

``match`` is a glob (``*.iso``), tried case-insensitively against the link's file name
(the last path segment, percent-decoded) and against the whole URL; ``re:PATTERN`` is a
regular expression searched in the whole URL (case-sensitive unless it says ``(?i)``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping

import aiohttp

from afetch_tui.engine import http
from afetch_tui.engine.errors import DownloadError, PageError
from afetch_tui.engine.hosts import Host
from afetch_tui.engine.link_match import MAX_PAGE_BYTES, compile_match
from afetch_tui.engine.links import Link, extract_links, parse_page, parse_srcset
from afetch_tui.engine.urls import host_of
from afetch_tui.format import size

__all__ = [
    "HTML_TYPES",
    "MAX_PAGE_BYTES",
    "Link",
    "compile_match",
    "extract_links",
    "fetch_page",
    "filter_links",
    "harvest",
    "parse_srcset",
    "probe_size",
]

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_READ_SIZE = 64 * 1024
_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"


def filter_links(
    links: Iterable[Link],
    page_url: str,
    *,
    match: str | None = None,
    same_host: bool | None = None,
) -> list[Link]:
    """The links that fit ``match`` and, if ``same_host`` is given, are (not) on the page's host."""
    predicate = compile_match(match)
    page_host = host_of(page_url)
    chosen = []
    for link in links:
        if same_host is not None and (link.host == page_host) is not same_host:
            continue
        if predicate is not None and not predicate(link.url):
            continue
        chosen.append(link)
    return chosen


async def fetch_page(
    session: aiohttp.ClientSession,
    page_url: str,
    *,
    headers: Mapping[str, str] | None = None,
    proxy: str | None = None,
    max_bytes: int = MAX_PAGE_BYTES,
    max_redirects: int = 10,
    host: Host | None = None,
    stall_limit: float = 30.0,
) -> tuple[str, bytes, str | None]:
    """GET an HTML page: (final URL, body, charset), or `PageError` saying why not.

    The request goes through the same bracket, status check and error mapping as a
    download (`http`); ``host`` is paced and measured when given.
    """

    def truncated() -> DownloadError:
        return DownloadError("the connection closed before the whole page arrived")

    try:
        with http.mapped_errors(host_of(page_url), timeout=stall_limit, truncated=truncated):
            async with http.request(
                session,
                page_url,
                headers={
                    "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
                    "Accept-Encoding": "gzip, deflate",
                    **(headers or {}),
                },
                proxy=proxy,
                max_redirects=max_redirects,
                host=host,
                stall_limit=stall_limit,
            ) as response:
                http.check_status(response, host_of(str(response.url)))
                content_type = response.content_type.lower()
                if content_type not in HTML_TYPES:
                    given = response.headers.get("Content-Type") or "none"
                    raise PageError(
                        f"{page_url} is not an HTML page (Content-Type: {given}); "
                        "--from-page wants the page that links to the files"
                    )
                if response.content_length is not None and response.content_length > max_bytes:
                    raise _too_big(page_url, max_bytes)
                body = await _read_decoded(response, page_url, max_bytes)
                return str(response.url), body, response.charset
    except DownloadError as exc:
        raise PageError(f"cannot read the page {page_url}: {exc}") from None


async def _read_decoded(response: aiohttp.ClientResponse, page_url: str, max_bytes: int) -> bytes:
    """The body, decoded from its Content-Encoding, at most ``max_bytes`` (sent or decoded)."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
        raise PageError(
            f"{page_url} was sent with Content-Encoding: {encoding}, which afetch cannot decode"
        )
    decoder = _Decoder(encoding) if encoding not in ("", "identity") else None
    body = bytearray()
    received = 0
    while chunk := await response.content.read(_READ_SIZE):
        received += len(chunk)
        if received > max_bytes:
            raise _too_big(page_url, max_bytes)
        body += decoder.feed(chunk, max_bytes - len(body) + 1) if decoder else chunk
        if len(body) > max_bytes:
            raise _too_big(page_url, max_bytes)
    return bytes(body)


class _Decoder:
    """gzip or deflate (zlib-wrapped, or raw as some servers send it), decoded in bounded
    steps: never more than ``limit`` bytes out of one call, so a bomb cannot fill memory."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._zlib = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)  # a gzip or zlib header
        self._fed = False

    def feed(self, data: bytes, limit: int) -> bytes:
        """Up to ``limit`` bytes decoded from ``data``; more than the caller's cap means
        the rest was not decoded (and need not be: the page is too big)."""
        try:
            return self._zlib.decompress(data, limit)
        except zlib.error as exc:
            if self._fed or self._encoding != "deflate":
                raise PageError(f"the page's {self._encoding} data is corrupt ({exc})") from None
        finally:
            self._fed = True
        self._zlib = zlib.decompressobj(wbits=-zlib.MAX_WBITS)  # deflate without its header
        return self.feed(data, limit)


def _too_big(page_url: str, max_bytes: int) -> PageError:
    return PageError(
        f"the page {page_url} is larger than {size(max_bytes)}; stopped reading it "
        "(raise --max-page-size to read more)"
    )


async def harvest(
    session: aiohttp.ClientSession,
    page_url: str,
    *,
    match: str | None = None,
    same_host: bool | None = None,
    max_bytes: int = MAX_PAGE_BYTES,
    headers: Mapping[str, str] | None = None,
    proxy: str | None = None,
    max_redirects: int = 10,
    host: Host | None = None,
    stall_limit: float = 30.0,
) -> list[Link]:
    """Fetch ``page_url`` and return its links that pass the filters (maybe none)."""
    compile_match(match)  # a bad pattern fails before any request
    final_url, body, charset = await fetch_page(
        session,
        page_url,
        headers=headers,
        proxy=proxy,
        max_bytes=max_bytes,
        max_redirects=max_redirects,
        host=host,
        stall_limit=stall_limit,
    )
    html: str | bytes = body
    if charset:
        try:
            html = body.decode(charset, errors="replace")
        except LookupError:  # an unknown charset: let the parser sniff
            html = body
    links = await parse_page(html, final_url)
    return filter_links(links, final_url, match=match, same_host=same_host)


async def probe_size(
    session: aiohttp.ClientSession,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    proxy: str | None = None,
    time_limit: float = 30.0,
) -> int | None:
    """The size a GET of ``url`` would bring (HEAD, else a one-byte range), or None."""
    limit = aiohttp.ClientTimeout(total=time_limit)
    try:
        async with session.head(
            url, headers=headers, proxy=proxy, allow_redirects=True, timeout=limit
        ) as response:
            if response.status < 400 and response.content_length is not None:
                return response.content_length
            if response.status >= 400 and response.status not in (403, 405, 501):
                return None  # HEAD refused by some servers: then ask for one byte instead
        ranged = {**(headers or {}), "Range": "bytes=0-0", "Accept-Encoding": "identity"}
        async with session.get(url, headers=ranged, proxy=proxy, timeout=limit) as response:
            if response.status == 206:
                content_range = http.parse_content_range(response.headers.get("Content-Range"))
                return content_range.total if content_range is not None else None
            if response.status == 200:
                return response.content_length
    except (aiohttp.ClientError, TimeoutError, ValueError):
        pass
    return None
