"""Bandwidth and request-rate limiting with token buckets.

Written here rather than taken from a library (aiolimiter and friends): a chunk must be
charged to several buckets at once (global, host, download) with one sleep, rates change
while transfers run, and a chunk may be larger than a bucket's burst. A bucket that runs
into debt simply makes the next caller wait until the debt is paid, which keeps the long-run
rate exact and costs O(1) per chunk.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

from afetch_tui.engine.errors import InputError

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_RATE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?(?:/s)?\s*$", re.IGNORECASE)

BURST_SECONDS = 0.05
MIN_RATE = 1.0
"""Bytes per second below this are refused: a cap of 0.0000001 B/s waits for ever."""
MIN_REQUEST_RATE = 0.001
"""Requests per second below this (one per 1000 s) are refused: they would wait forever."""


def parse_size(text: str, *, what: str = "rate") -> float | None:
    """Parse ``2M``, ``500K``, ``1.5MiB``, ``1000`` (bytes) into bytes; ``0`` means unlimited.

    Units are binary, as in curl, wget and aria2: ``K`` = 1024.
    """
    match = _RATE_RE.match(str(text))
    if not match:
        raise InputError(f"bad {what} {text!r}: use a number with an optional K, M or G suffix")
    value = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if 0 < value < MIN_RATE:  # 0.0000001 B/s would wait for ever; a size below a byte means nothing
        raise InputError(f"bad {what} {text!r}: below 1 byte (use 0 for none)")
    return value or None


class TokenBucket:
    """A token bucket whose rate may change at any time; ``None`` means unlimited."""

    __slots__ = ("_last", "_rate", "_tokens", "burst")

    def __init__(self, rate: float | None = None, *, burst: float | None = None) -> None:
        self._rate: float | None = None
        self.burst = burst
        self._tokens = 0.0
        self._last = time.monotonic()
        self.rate = rate

    @property
    def rate(self) -> float | None:
        return self._rate

    @rate.setter
    def rate(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive or None")
        self._refill(time.monotonic())
        was_unlimited = self._rate is None
        self._rate = rate
        if rate is not None and was_unlimited:
            self._tokens = self._capacity()

    def _capacity(self) -> float:
        assert self._rate is not None
        return self.burst if self.burst is not None else self._rate * BURST_SECONDS

    def _refill(self, now: float) -> None:
        if self._rate is not None:
            self._tokens = min(self._capacity(), self._tokens + (now - self._last) * self._rate)
        self._last = now

    def reserve(self, amount: float, now: float) -> float:
        """Take ``amount`` tokens, going into debt if need be; return the seconds to wait."""
        if self._rate is None:
            return 0.0
        self._refill(now)
        self._tokens -= amount
        return -self._tokens / self._rate if self._tokens < 0 else 0.0


async def throttle(buckets: Iterable[TokenBucket], amount: float) -> None:
    """Charge ``amount`` to every bucket and sleep as long as the slowest one asks."""
    now = time.monotonic()
    delay = 0.0
    for bucket in buckets:
        if bucket.rate is not None:
            delay = max(delay, bucket.reserve(amount, now))
    if delay > 0:
        import asyncio  # here: parse_size serves the command line, which loads no asyncio

        await asyncio.sleep(delay)


def read_size(buckets: Iterable[TokenBucket], default: int) -> int:
    """How much to read at once under caps.

    The size follows the *widest* cap a chunk is charged to (a tenth of a second of it),
    so every transfer under a shared cap reads about the same amount. That is what makes
    the sharing max-min fair: a bucket in debt makes each caller wait for all the debt
    before it, so a caller taking smaller chunks gets a smaller share (a host capped at
    200K under a 1M total got 90K while the others took 460K each). A transfer with a
    lower cap of its own reads the same chunks and waits longer on its own bucket, but
    never more than a second of its own cap at once, so a slow cap stays smooth.
    """
    rates = [bucket.rate for bucket in buckets if bucket.rate is not None]
    if not rates:
        return default
    floor = 16 * 1024
    return min(default, max(floor, int(max(rates) / 10)), max(floor, int(min(rates))))
