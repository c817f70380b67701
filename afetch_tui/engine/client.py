"""The HTTP client: one aiohttp session, its proxies and request headers, page reads and
size probes.

Transfers take their session from here; `--from-page` and the add dialog's page reads and
size probes go through it too, so a front end that only reads a page (``afetch get
--from-page``) opens a `Client`, not a whole download manager.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

import aiohttp
from yarl import URL

from afetch_tui.engine.errors import InputError
from afetch_tui.engine.events import Limits
from afetch_tui.engine.hosts import Host
from afetch_tui.engine.limits import throttle
from afetch_tui.engine.link_match import MAX_PAGE_BYTES
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.urls import host_of, validate_url

if TYPE_CHECKING:
    from afetch_tui.engine.links import Link

HostLookup = Callable[[str], Host]
"""The `Host` a request to a host name is paced and counted on."""


class ProxyResolver:
    """``--proxy``, else HTTP(S)_PROXY; NO_PROXY exempts hosts from either.

    Resolved once per scheme and host, rather than by aiohttp's ``trust_env``, which looks
    the environment up in a thread for every single request.
    """

    def __init__(self, proxy: str | None, trust_env: bool) -> None:
        self._proxy = proxy
        self._trust_env = trust_env
        self._known: dict[tuple[str, str], str | None] = {}

    def for_url(self, url: str, host: str) -> str | None:
        scheme = url.partition(":")[0].lower()
        key = (scheme, host)
        if key not in self._known:
            import urllib.request  # 12 ms of start-up, needed only here

            proxy = self._proxy
            if proxy is None and self._trust_env:
                proxy = urllib.request.getproxies_environment().get(scheme)
            # NO_PROXY, as urllib reads it; public at runtime, though typeshed omits it.
            bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
            if proxy and bypass(URL(url).host or host):
                proxy = None
            self._known[key] = proxy
        return self._known[key]


class Client:
    """Use ``async with`` or start()/close(). ``hosts`` gives the `Host` each request is
    paced and counted on (a manager's); without it the client keeps its own, each with
    ``limits`` applied."""

    def __init__(
        self,
        options: ManagerOptions,
        hosts: HostLookup | None = None,
        *,
        limits: Limits | None = None,
    ) -> None:
        self.options = options
        self.proxies = ProxyResolver(options.proxy, options.trust_env)
        self._hosts = hosts or _own_hosts(limits or Limits())
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is not None:
            return
        options = self.options
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=300),
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=options.timeout, sock_read=options.timeout
            ),
            auto_decompress=False,
            read_bufsize=max(2**16, min(options.chunk_size, 4 * 2**20)),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Client:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def started(self) -> bool:
        return self._session is not None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise InputError("the download manager is not running")
        return self._session

    def proxy_for(self, url: str, host: str) -> str | None:
        return self.proxies.for_url(url, host)

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """What every request sends: the User-Agent and ``--header``s, then ``extra``."""
        headers = {"User-Agent": self.options.user_agent, **self.options.headers}
        headers.update(extra or {})
        return headers

    def file_headers(self, extra: Mapping[str, str], *, close: bool) -> dict[str, str]:
        """A file's request: never compressed; ``close`` says to keep no idle socket."""
        headers = {"Accept-Encoding": "identity", **self.headers(extra)}
        if close:
            headers["Connection"] = "close"
        return headers

    # -- pages and sizes --------------------------------------------------------------------

    async def harvest(
        self,
        page_url: str,
        *,
        match: str | None = None,
        same_host: bool | None = None,
        max_bytes: int = MAX_PAGE_BYTES,
        headers: Mapping[str, str] | None = None,
    ) -> list[Link]:
        """The links on an HTML page that pass the filters (see `DownloadManager.harvest`)."""
        from afetch_tui.engine import harvest as harvesting  # the HTML parser: pages only

        url = validate_url(page_url)
        name = host_of(url)
        return await harvesting.harvest(
            self.session,
            url,
            match=match,
            same_host=same_host,
            max_bytes=max_bytes,
            headers=self.headers(headers),
            proxy=self.proxy_for(url, name),
            max_redirects=self.options.max_redirects,
            host=self._hosts(name),
            stall_limit=self.options.timeout,
        )

    async def probe_sizes(
        self,
        urls: Iterable[str],
        *,
        limits: Limits,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, int | None]:
        """Each URL's size (None when unknown), from HEAD requests made concurrently.

        At most the host's connection cap (under ``limits``) of requests go to one host at
        a time, paced by its request rate limit.
        """
        from afetch_tui.engine import harvest as harvesting

        session = self.session
        wanted = list(dict.fromkeys(urls))
        request_headers = self.headers(headers)
        gates: dict[str, asyncio.Semaphore] = {}

        async def probe(url: str) -> int | None:
            try:
                name = host_of(validate_url(url))
            except InputError:
                return None
            host = self._hosts(name)
            gate = gates.setdefault(name, asyncio.Semaphore(host.cap(limits)))
            async with gate:
                await throttle((host.request_bucket,), 1)
                return await harvesting.probe_size(
                    session,
                    url,
                    headers=request_headers,
                    proxy=self.proxy_for(url, name),
                    time_limit=self.options.timeout,
                )

        sizes = await asyncio.gather(*(probe(url) for url in wanted))
        return dict(zip(wanted, sizes, strict=True))


def _own_hosts(limits: Limits) -> HostLookup:
    hosts: dict[str, Host] = {}

    def lookup(name: str) -> Host:
        host = hosts.get(name)
        if host is None:
            host = hosts[name] = Host(name, time.monotonic())
            host.apply_limits(limits)
        return host

    return lookup
