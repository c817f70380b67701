"""What a user says about pages before any is fetched: the size cap and ``--match``.

Apart from `harvest` (which imports aiohttp), so that the command line checks these
without loading the network stack: a bad ``--match`` is a usage error in a few ms.

``match`` is a glob (``*.iso``), tried case-insensitively against the link's file name
(the last path segment, percent-decoded) and against the whole URL; ``re:PATTERN`` is a
regular expression searched in the whole URL (case-sensitive unless it says ``(?i)``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from afetch_tui.engine.errors import PageError

MAX_PAGE_BYTES = 5 * 1024 * 1024


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
