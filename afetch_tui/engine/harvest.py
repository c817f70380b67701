"""Links from a web page: fetch it (capped), parse it, resolve, filter, and probe sizes.

The page is parsed with selectolax (the Lexbor HTML5 parser: it builds the same tree a
browser would from broken markup, and parses a 5 MiB page in about 0.13 s, without the
GIL, in a thread). Links come from ``a[href]``, ``link[href]``, ``img[src]``/``srcset``,
``source[src]``/``srcset``, ``video[src]``, ``audio[src]`` and ``embed[src]``; they are
resolved against ``<base href>`` (if any) and the page's final URL, kept only when
http(s), stripped of fragments and de-duplicated in page order.

``match`` is a glob (``*.iso``), tried case-insensitively against the link's file name
(the last path segment, percent-decoded) and against the whole URL; ``re:PATTERN`` is a
regular expression searched in the whole URL (case-sensitive unless it says ``(?i)``).
"""

from __future__ import annotations

import asyncio
import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiohttp
from selectolax.lexbor import LexborHTMLParser
from yarl import URL

from afetch_tui.engine.display import inert
from afetch_tui.engine.errors import PageError
from afetch_tui.engine.urls import host_of
from afetch_tui.format import size

MAX_PAGE_BYTES = 5 * 1024 * 1024
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_SELECTOR = (
    "a[href], link[href], img[src], img[srcset], source[src], source[srcset], "
    "video[src], audio[src], embed[src]"
)
_TEXT_MAX = 200
_READ_SIZE = 64 * 1024
_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"


@dataclass(frozen=True, slots=True)
class Link:
    """One link found on a page."""

    url: str
    tag: str
    """The element it came from: ``a``, ``img``, ``source``, ``link`` ..."""
    text: str = ""
    """The anchor's text (or an image's ``alt``), trimmed, made `inert`; may be empty."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", inert(self.text))

    @property
    def name(self) -> str:
        """The last path segment, percent-decoded (what the file would likely be called),
        made `inert` (``%1b`` decodes to ESC)."""
        return inert(unquote(URL(self.url).raw_path.rsplit("/", 1)[-1]))

    @property
    def shown_url(self) -> str:
        """The URL as it may be shown: password masked."""
        return inert(self.url)

    @property
    def host(self) -> str:
        return host_of(self.url)


def compile_match(pattern: str | None) -> Callable[[str], bool] | None:
    """``pattern`` as a predicate on URLs, or `InputError` (a `PageError`) if it is unusable."""
    if pattern is None:
        return None
    if pattern.startswith("re:"):
        try:
            regex = re.compile(pattern[3:])
        except re.error as exc:
            raise PageError(f"--match: not a valid regular expression: {exc}") from None
        return lambda url: regex.search(url) is not None
    if not pattern:
        raise PageError("--match: empty pattern")
    glob = re.compile(fnmatch.translate(pattern.lower()))

    def matches(url: str) -> bool:
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]).lower()
        return glob.match(name) is not None or glob.match(url.lower()) is not None

    return matches


def extract_links(html: str | bytes, page_url: str) -> list[Link]:
    """Every http(s) link in ``html``, resolved, without fragments, first occurrence first.

    Bytes are decoded by the parser (a BOM or ``<meta charset>``, else UTF-8).
    """
    tree = LexborHTMLParser(html, encoding=isinstance(html, bytes))
    base = URL(page_url)
    base_node = tree.css_first("base[href]")  # the first one counts for the whole document
    if base_node is not None:
        base = URL(_resolve(base, base_node.attributes.get("href") or "") or page_url)
    seen: dict[str, Link] = {}
    resolved: dict[str, str | None] = {}  # icons and the like repeat on every row
    for node in tree.css(_SELECTOR):
        tag = node.tag or ""
        attrs = node.attributes
        refs = [attrs.get("href") if tag in ("a", "link") else attrs.get("src")]
        if tag in ("img", "source") and attrs.get("srcset"):
            refs += parse_srcset(attrs["srcset"] or "")
        text = ""
        for ref in refs:
            if not ref:
                continue
            url = resolved.get(ref, "")
            if url == "":
                url = resolved[ref] = _resolve(base, ref)
            if url is None or url in seen:
                continue
            if not text:
                text = _label(node, tag)
            seen[url] = Link(url, tag, text)
    return list(seen.values())


def _label(node: object, tag: str) -> str:
    if tag == "a":
        text = node.text(strip=True, separator=" ")  # type: ignore[attr-defined]
    else:
        text = node.attributes.get("alt") or node.attributes.get("title") or ""  # type: ignore[attr-defined]
    return " ".join(text.split())[:_TEXT_MAX]


def parse_srcset(value: str) -> list[str]:
    """The URLs of a ``srcset`` (``a.png 1x, b.png 2x``), per the HTML candidate syntax."""
    urls = []
    position, length = 0, len(value)
    while position < length:
        while position < length and (value[position].isspace() or value[position] == ","):
            position += 1
        start = position
        while position < length and not value[position].isspace():
            position += 1
        url = value[start:position]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            depth = 0  # skip the descriptors, up to a comma outside parentheses
            while position < length and (value[position] != "," or depth):
                depth += {"(": 1, ")": -1}.get(value[position], 0)
                position += 1
        if url:
            urls.append(url)
    return urls


def _resolve(base: URL, ref: str) -> str | None:
    """``ref`` made absolute against ``base``, normalised, without fragment; None if unusable."""
    ref = ref.strip().replace("\t", "").replace("\n", "").replace("\r", "")
    if not ref or ref.startswith("#"):
        return None
    try:
        url = base.join(URL(ref))
    except (ValueError, TypeError):
        return None
    if url.scheme not in ("http", "https") or not url.host:
        return None
    return str(url.with_fragment(None))


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
) -> tuple[str, bytes, str | None]:
    """GET an HTML page: (final URL, body, charset), or `PageError` saying why not."""
    host = host_of(page_url)
    try:
        async with session.get(
            page_url,
            headers={
                "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
                **(headers or {}),
            },
            proxy=proxy,
            max_redirects=max_redirects,
        ) as response:
            if response.status >= 400:
                raise PageError(
                    f"cannot read the page {page_url}: {response.status} {response.reason}"
                )
            content_type = response.content_type.lower()
            if content_type not in HTML_TYPES:
                given = response.headers.get("Content-Type") or "none"
                raise PageError(
                    f"{page_url} is not an HTML page (Content-Type: {given}); "
                    "--from-page wants the page that links to the files"
                )
            if response.content_length is not None and response.content_length > max_bytes:
                raise _too_big(page_url, max_bytes)
            body = bytearray()
            while chunk := await response.content.read(_READ_SIZE):
                body += chunk
                if len(body) > max_bytes:
                    raise _too_big(page_url, max_bytes)
            return str(response.url), bytes(body), response.charset
    except aiohttp.TooManyRedirects:
        raise PageError(f"too many redirects from {page_url}") from None
    except aiohttp.ClientConnectorError as exc:
        reason = exc.os_error.strerror or str(exc.os_error)
        raise PageError(f"cannot connect to {host}: {reason}") from None
    except (aiohttp.ServerTimeoutError, TimeoutError):
        raise PageError(f"timed out reading the page {page_url}") from None
    except aiohttp.ClientError as exc:
        raise PageError(f"cannot read the page {page_url}: {exc or type(exc).__name__}") from None


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
    )
    html: str | bytes = body
    if charset:
        try:
            html = body.decode(charset, errors="replace")
        except LookupError:  # an unknown charset: let the parser sniff
            html = body
    links = await asyncio.to_thread(extract_links, html, final_url)
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
                total = response.headers.get("Content-Range", "").rpartition("/")[2]
                return int(total) if total.isdigit() else None
            if response.status == 200:
                return response.content_length
    except (aiohttp.ClientError, TimeoutError, ValueError):
        pass
    return None
