"""When to retry, and how long to wait first."""

from __future__ import annotations

import random
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
PUSHBACK_STATUSES = frozenset({429, 503})


def parse_retry_after(value: str | None, now_epoch: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() is true, float("²") is not
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now_epoch)


def backoff_delay(
    attempt: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff with equal jitter: half fixed, half random, never above ``cap``."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)
