"""Small parsers for the HTTP headers that decide whether bytes on disk can be trusted."""

from __future__ import annotations

import re

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


def parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    match = _CONTENT_RANGE.match(value or "")
    if not match:
        return None
    total = None if match.group(3) == "*" else int(match.group(3))
    return int(match.group(1)), int(match.group(2)), total


def strong_etag(etag: str | None) -> str | None:
    """The ETag to send back in ``If-Range``, if it is strong and can go back byte for byte.

    aiohttp writes header text as UTF-8 and its C writer silently drops surrogates, so an
    ETag whose bytes were not UTF-8 (kept as surrogates) would go out as another validator:
    it is not sent at all (Last-Modified, or starting over, takes its place).
    """
    if not etag or etag.startswith("W/"):
        return None
    try:
        etag.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return etag
