"""Which proxy a request goes through."""

from __future__ import annotations

from yarl import URL


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
