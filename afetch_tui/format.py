"""Human-readable sizes, rates and durations, shared by the dashboard and the headless runner."""

from __future__ import annotations

import humanize


def size(amount: float | None) -> str:
    if amount is None:
        return "?"
    if amount < 1024:
        return f"{int(amount)} B"
    return humanize.naturalsize(amount, binary=True, format="%.1f")


def rate(bytes_per_second: float | None) -> str:
    if not bytes_per_second:
        return "-"
    return f"{size(bytes_per_second)}/s"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    return f"{hours // 24}d{hours % 24:02d}h"
