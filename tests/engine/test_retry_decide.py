"""`retry.decide` and `retry.host_hold`: what follows a failed attempt, as a table."""

from __future__ import annotations

import random
from typing import Any

import pytest

from afetch_tui.engine.errors import DownloadError
from afetch_tui.engine.retry import Attempt, Fail, Pause, Policy, Retry, decide, host_hold

POLICY = Policy(retries=3, base=1.0, cap=8.0, max_retry_after=100.0)


class Fixed(random.Random):
    """Jitter at its top: backoff(step) is exactly min(cap, base * 2 ** (step - 1))."""

    def uniform(self, a: float, b: float) -> float:
        return b


def error(**flags: Any) -> DownloadError:
    return DownloadError("it broke", **flags)


@pytest.mark.parametrize(
    ("failure", "attempt", "expected"),
    [
        # Not retryable: fails at once, whatever is left of the budget.
        (error(), Attempt(0, 0), Fail("it broke")),
        (error(status=404), Attempt(2, 2), Fail("it broke")),
        # Retryable: exponential backoff on the backoff step, not the retry count.
        (error(retryable=True), Attempt(0, 0), Retry(1.0)),
        (error(retryable=True), Attempt(1, 1), Retry(2.0)),
        (error(retryable=True), Attempt(2, 0), Retry(1.0)),  # progress reset the step
        (error(retryable=True), Attempt(2, 9), Retry(8.0)),  # never above the cap
        # The budget spent: fails, saying so (one retry, several retries).
        (error(retryable=True), Attempt(3, 3), Fail("it broke (gave up after 3 retries)")),
        # The server's Retry-After wins, capped.
        (error(retryable=True, retry_after=7.0), Attempt(0, 5), Retry(7.0)),
        (error(retryable=True, retry_after=1e6), Attempt(0, 0), Retry(100.0)),
        # The entity changed under a resume: start again at once.
        (error(retryable=True, restart=True), Attempt(0, 3), Retry(0.0)),
        (error(retryable=True, restart=True, status=503), Attempt(0, 0), Retry(1.0)),
        # A full disk pauses, however many retries are left.
        (error(pause=True), Attempt(0, 0), Pause("it broke")),
        (error(pause=True, retryable=True), Attempt(3, 3), Pause("it broke")),
        # Out of file descriptors: retried later without spending the budget.
        (error(backpressure=True, retryable=True), Attempt(3, 0), Retry(1.0, spend=False)),
        (error(backpressure=True, retryable=True), Attempt(3, 2), Retry(4.0, spend=False)),
        # ... but not for ever: a bound of tries in a row without a byte.
        (error(backpressure=True, retryable=True), Attempt(0, 18), Retry(8.0, spend=False)),
        (
            error(backpressure=True, retryable=True),
            Attempt(0, 19),
            Fail("it broke (gave up after 20 tries in a row)"),
        ),
    ],
)
def test_decide(failure: DownloadError, attempt: Attempt, expected: object) -> None:
    assert decide(failure, attempt, POLICY, Fixed()) == expected


def test_one_retry_spent_is_said_in_the_singular() -> None:
    one = Policy(retries=1)
    assert decide(error(retryable=True), Attempt(1, 1), one) == Fail(
        "it broke (gave up after 1 retry)"
    )


def test_backoff_never_overflows() -> None:
    assert decide(error(retryable=True), Attempt(0, 5000), POLICY, Fixed()) == Retry(8.0)


def test_backoff_jitter_stays_within_half_and_whole() -> None:
    decisions = [
        decide(error(retryable=True), Attempt(0, 2), POLICY, random.Random(seed))
        for seed in range(50)
    ]
    delays = {d.delay for d in decisions if isinstance(d, Retry)}
    assert all(2.0 <= delay <= 4.0 for delay in delays)
    assert len(delays) > 1


@pytest.mark.parametrize(
    ("failure", "attempt", "expected"),
    [
        (error(retryable=True), Attempt(0, 0), None),  # not a push back: no hold
        (error(retryable=True, host_pushback=True, retry_after=30.0), Attempt(0, 0), 30.0),
        (error(retryable=True, host_pushback=True, retry_after=1e9), Attempt(0, 0), 100.0),
        (error(retryable=True, host_pushback=True), Attempt(0, 2), 4.0),
    ],
)
def test_host_hold(failure: DownloadError, attempt: Attempt, expected: float | None) -> None:
    assert host_hold(failure, attempt, POLICY, Fixed()) == expected
