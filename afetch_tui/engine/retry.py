"""When to retry, and how long to wait first."""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from afetch_tui.engine.errors import DownloadError

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
    ceiling = min(cap, base * 2.0 ** min(max(0, attempt - 1), 64))  # 2.0 ** 1024 overflows
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


@dataclass(frozen=True, slots=True)
class Policy:
    """How many failed attempts a download may spend, and how long to wait between them."""

    retries: int = 5
    base: float = 1.0
    cap: float = 60.0
    max_retry_after: float = 600.0
    """A server's Retry-After (or a host hold) is never followed for longer than this."""
    short_of_descriptors: int = 20
    """Tries in a row (no byte between them) a download may find no free file descriptor
    before it fails: running fewer at once spends no retry, but cannot help for ever."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """What a download has been through: retries spent, and how far its backoff has grown
    (it starts short again after an attempt that brought bytes)."""

    retries: int
    backoff_step: int


@dataclass(frozen=True, slots=True)
class Retry:
    """Queue the download again after ``delay`` seconds; ``spend`` is False when the
    machine, not the download, ran short (out of file descriptors), so no retry is used."""

    delay: float
    spend: bool = True


@dataclass(frozen=True, slots=True)
class Fail:
    message: str


@dataclass(frozen=True, slots=True)
class Pause:
    """Stop and keep the partial file until the user resumes (a full disk)."""

    message: str


Decision = Retry | Fail | Pause


def decide(
    error: DownloadError, attempt: Attempt, policy: Policy, rng: random.Random | None = None
) -> Decision:
    """What follows a failed attempt; pure, apart from the backoff's jitter (``rng``)."""
    if error.backpressure:
        tries = attempt.backoff_step + 1
        if tries >= policy.short_of_descriptors:
            return Fail(f"{error.message} (gave up after {tries} tries in a row)")
        return Retry(_backoff(tries, policy, rng), spend=False)
    if error.pause:
        return Pause(error.message)
    if not error.retryable or attempt.retries >= policy.retries:
        message = error.message
        if error.retryable and attempt.retries:
            spent = attempt.retries
            message += f" (gave up after {spent} {'retry' if spent == 1 else 'retries'})"
        return Fail(message)
    if error.retry_after is not None:
        return Retry(min(error.retry_after, policy.max_retry_after))
    if error.restart and not error.status:
        return Retry(0.0)  # the server changed the file: start again at once
    return Retry(_backoff(attempt.backoff_step + 1, policy, rng))


def host_hold(
    error: DownloadError, attempt: Attempt, policy: Policy, rng: random.Random | None = None
) -> float | None:
    """Seconds the whole host is held after a 429/503 (its Retry-After, else the backoff)."""
    if not error.host_pushback:
        return None
    delay = error.retry_after
    if delay is None:
        delay = _backoff(attempt.backoff_step + 1, policy, rng)
    return min(delay, policy.max_retry_after)


def _backoff(step: int, policy: Policy, rng: random.Random | None) -> float:
    return backoff_delay(step, base=policy.base, cap=policy.cap, rng=rng)
