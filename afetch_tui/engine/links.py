"""Links in an HTML page: parsed as a browser would, resolved, de-duplicated.

The page is parsed with selectolax (the Lexbor HTML5 parser: it builds the same tree a
browser would from broken markup, and parses a 5 MiB page in about 0.15 s). Links come
from ``a[href]``, ``link[href]``, ``img[src]``/``srcset``, ``source[src]``/``srcset``,
``video[src]``, ``audio[src]`` and ``embed[src]``; they are resolved against ``<base href>``
(if any) and the page's final URL, kept only when http(s), stripped of fragments and
de-duplicated in page order.

Lexbor's time grows with the square of the nesting depth (20k unclosed ``<div>`` take 1 s,
1M about half an hour), and a thread cannot be stopped. So `parse_page` runs the parser in
a child process (``python -m afetch_tui.engine.links``, ~40 ms to start) under a deadline:
a page of any shape gives its links or a clear error in time, and a cancelled parse
(Ctrl-C) ends at once, the child killed.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import resource
import signal
import sys
import time
from dataclasses import dataclass
from urllib.parse import unquote

from selectolax.lexbor import LexborHTMLParser
from yarl import URL

from afetch_tui.engine.display import inert
from afetch_tui.engine.errors import PageError
from afetch_tui.engine.urls import host_of

PARSE_SECONDS = 2.0
"""How long building a page's tree may take (a normal 5 MiB page takes about 0.15 s)."""
READ_SECONDS = 3.0
"""How long all of it may take, the tree and every link (a page of any shape gives its links
or a clear error within this): linear in the links, ~7 µs each, so only a page of several
hundred thousand distinct links (5 MiB of ``<a href=N>``) reaches it.

Both count the child's CPU time (`DEADLINE_TIMER`): on an idle machine that is the time the
user waits; on a loaded one the child also waits for a core, and that says nothing about
the page (a 60k-link page that parses in 0.9 s was refused as 'too many links' when four
other processes shared its two cores)."""
DEADLINE_TIMER = signal.ITIMER_PROF
"""The child's deadline timer: it counts the CPU time the child uses (user and system)."""
DEADLINE_SIGNAL = signal.SIGPROF
"""What `DEADLINE_TIMER` sends when it runs out; its default action ends the child."""
START_SECONDS = 60.0
"""How long the parser child may take to start (Python and its imports), on top of the
deadlines: on a loaded machine that is seconds, and it is no part of parsing."""
_SELECTOR = (
    "a[href], link[href], img[src], img[srcset], source[src], source[srcset], "
    "video[src], audio[src], embed[src]"
)
_TEXT_MAX = 200


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


def extract_links(html: str | bytes, page_url: str) -> list[Link]:
    """Every http(s) link in ``html``, resolved, without fragments, first occurrence first.

    Bytes are decoded by the parser (a BOM or ``<meta charset>``, else UTF-8).
    """
    return _links_in(LexborHTMLParser(html, encoding=isinstance(html, bytes)), page_url)


def _links_in(tree: LexborHTMLParser, page_url: str) -> list[Link]:
    base = URL(page_url)
    base_node = tree.css_first("base[href]")  # the first one counts for the whole document
    if base_node is not None:
        base = URL(_resolve(base, base_node.attributes.get("href") or "") or page_url)
    resolve = _Resolver(base)
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
                url = resolved[ref] = resolve(ref)
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


_SEGMENT = r"[A-Za-z0-9_~\-][A-Za-z0-9._~\-]*"
_PLAIN_PATH = re.compile(rf"(/?)(?:{_SEGMENT}/)*(?:{_SEGMENT})?")
"""A relative or absolute-path reference that joining only appends: no scheme, query or
fragment, nothing to percent-encode, and no dot segment (each segment starts with no dot)."""


class _Resolver:
    """`_resolve` for one page, with a fast path for the plain references most links are
    (``file-1.iso``, ``pub/a.tar.gz``, ``/img/x.png``): the base's resolved directory (or
    origin) plus the reference, exactly what joining gives (a test checks it against
    `_resolve`). yarl's join costs ~15 µs a link, which made a page of 300k links take
    over 3 s."""

    def __init__(self, base: URL) -> None:
        self._base = base
        self._directory = self._prefix("x")
        self._origin = self._prefix("/x")

    def _prefix(self, probe: str) -> str | None:
        joined = _resolve(self._base, probe)
        if joined is None or not joined.endswith(probe):
            return None
        return joined[: -len(probe)] + ("/" if probe.startswith("/") else "")

    def __call__(self, ref: str) -> str | None:
        match = _PLAIN_PATH.fullmatch(ref)
        if match is not None and ref:
            prefix = self._origin if match.group(1) else self._directory
            if prefix is not None:
                return prefix + (ref[1:] if match.group(1) else ref)
        return _resolve(self._base, ref)


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


async def parse_page(
    html: str | bytes,
    page_url: str,
    *,
    time_limit: float = PARSE_SECONDS,
    total_limit: float = READ_SECONDS,
) -> list[Link]:
    """`extract_links` run in a child process, which ends (a `PageError` says why) if
    building the page's tree takes over ``time_limit`` seconds, or all of it over
    ``total_limit``, or when this is cancelled.

    The deadlines are kept by the child itself (a timer whose signal ends it), in CPU
    time from the moment it holds the page: the seconds a Python child takes to start,
    and waits for a core, on a loaded machine are no part of parsing. The parent only
    guards against a child that never answers (`START_SECONDS` more).
    """
    body = html.encode("utf-8") if isinstance(html, str) else html
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __name__,
        page_url,
        "text" if isinstance(html, str) else "bytes",
        repr(time_limit),
        repr(total_limit),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert child.stdin is not None and child.stdout is not None
    output = b""
    try:
        async with asyncio.timeout(START_SECONDS + total_limit):
            child.stdin.write(body)
            await child.stdin.drain()
            child.stdin.close()
            output = await child.stdout.read()
            returncode = await child.wait()
    except TimeoutError:
        raise PageError(
            f"cannot parse the page {page_url}: the parser did not answer within "
            f"{START_SECONDS + total_limit:g} s"
        ) from None
    except OSError:  # the child died (a broken pipe): said below
        returncode = None
    finally:
        _kill_unreaped(child)
        await asyncio.shield(child.wait())  # asyncio's child watcher reaps it
    _, tree_built, answer_text = output.partition(_PARSED)
    if returncode == -DEADLINE_SIGNAL:  # the child's own deadline ended it
        if not tree_built:
            raise PageError(
                f"the page {page_url} is nested too deeply to read: parsing it took over "
                f"{time_limit:g} s"
            )
        raise PageError(
            f"the page {page_url} has too many links to read them all in {total_limit:g} s"
        )
    try:
        answer = json.loads(answer_text or b"null")
    except ValueError:  # the child said nothing usable
        answer = None
    if not isinstance(answer, list):
        reason = answer.get("error") if isinstance(answer, dict) else None
        raise PageError(f"cannot parse the page {page_url}: {reason or 'the parser failed'}")
    return [Link(url, tag, text) for url, tag, text in answer]


def _kill_unreaped(child: asyncio.subprocess.Process) -> None:
    """Kill ``child`` if it is still running, leaving it for asyncio's watcher to reap.

    Not ``child.kill()``: that calls ``Popen.poll()``, whose ``waitpid`` reaps a child that
    has just exited (as it does once it has answered) if the watcher's thread has not yet
    (under load it runs late); the watcher then logs "Unknown child process pid N, will
    report returncode 255" to the user's terminal. ``WNOWAIT`` looks without reaping, and
    ``os.kill`` right after it is as safe from a reused pid as ``Popen.send_signal`` is.
    """
    if child.returncode is not None:
        return
    try:
        if os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            os.kill(child.pid, signal.SIGKILL)  # None: still running
    except (ChildProcessError, ProcessLookupError):  # reaped by the watcher, report on its way
        pass


_PARSED = b"parsed\n"


def _main() -> None:
    """The child's side of `parse_page`: the page on stdin; on stdout a line when its tree
    is built, then its links (or an error) as JSON."""
    page_url, mode = sys.argv[1], sys.argv[2]
    time_limit, total_limit = float(sys.argv[3]), float(sys.argv[4])
    data = sys.stdin.buffer.read()
    # The deadlines start now, with the page in hand: SIGPROF's default action ends this
    # process even inside the parser's C code. If the parent dies (kill -9) and the timer
    # somehow does not fire, the kernel ends it at this much CPU more than starting took.
    started = time.process_time()  # the CPU time DEADLINE_TIMER counts
    signal.signal(DEADLINE_SIGNAL, signal.SIG_DFL)
    signal.setitimer(DEADLINE_TIMER, min(time_limit, total_limit))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_seconds = math.ceil(usage.ru_utime + usage.ru_stime + total_limit) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    out = sys.stdout.buffer
    parsed = False
    try:
        html: str | bytes = data.decode("utf-8") if mode == "text" else data
        tree = LexborHTMLParser(html, encoding=isinstance(html, bytes))
        left = total_limit - (time.process_time() - started)
        if left <= 0:
            os.kill(os.getpid(), DEADLINE_SIGNAL)
        signal.setitimer(DEADLINE_TIMER, left)
        out.write(_PARSED)
        out.flush()
        parsed = True
        links = _links_in(tree, page_url)
        answer: object = [[link.url, link.tag, link.text] for link in links]
    except Exception as exc:  # reported to the parent as one line
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    signal.setitimer(DEADLINE_TIMER, 0)  # the answer is read: a slow reader is no reason to die
    if not parsed:
        out.write(_PARSED)
    out.write(json.dumps(answer).encode())


if __name__ == "__main__":
    _main()
