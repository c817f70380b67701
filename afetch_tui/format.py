"""Human-readable sizes, rates and durations, shared by the dashboard and the headless runner."""

from __future__ import annotations

import math

import humanize


def size(amount: float | None) -> str:
    """`1536` → `1.5 KiB`, `999_000_000` → `953 MiB` (three digits lose the decimal, so
    columns stay narrow); `None` → `?`."""
    if amount is None:
        return "?"
    if amount < 1024:
        return f"{int(amount)} B"
    exponent = min(int(math.log(amount, 1024)), 5)
    digits = "%.0f" if amount / 1024**exponent >= 100 else "%.1f"
    return humanize.naturalsize(amount, binary=True, format=digits)


def rate(bytes_per_second: float | None) -> str:
    if not bytes_per_second:
        return "-"
    return f"{size(bytes_per_second)}/s"


def countdown(seconds: float) -> str:
    """Time left on a countdown, rounded up (`11.2` → `12s`, `0.3` → `1s`): it reads
    `0s` only once over, and a countdown shown in two places reads the same in both."""
    whole = math.ceil(seconds)
    if whole < 100:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def duration(seconds: float | None) -> str:
    """`42` → `42s`, `3725` → `1h02m`, `90000` → `1d01h`; unknown → `-`."""
    if seconds is None or math.isnan(seconds) or seconds < 0:
        return "-"
    if math.isinf(seconds):
        return "∞"
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"
