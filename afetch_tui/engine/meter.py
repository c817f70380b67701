"""Rate meters: bytes are counted on the hot path, rates are computed on the ticker."""

from __future__ import annotations

import math
from collections import deque

NOW_WINDOW = 2.0
SMOOTHING_SECONDS = 1.0
"""EWMA time constant: a change of speed shows ~95% within 3 s."""
HISTORY_SECONDS = 60


class RateMeter:
    """Speed now (sliding window), smoothed speed (EWMA) and a per-second history.

    ``add`` is a single integer addition; everything else happens in ``tick``, called a few
    times a second by the manager's ticker.
    """

    __slots__ = (
        "_samples",
        "_second_start",
        "_second_total",
        "changed_at",
        "history",
        "smoothed",
        "started",
        "total",
    )

    def __init__(self, now: float, *, keep_history: bool = False) -> None:
        self.total = 0
        self.smoothed = 0.0
        self.started = now
        self._samples: deque[tuple[float, int]] = deque([(now, 0)])
        self.history: deque[float] | None = deque(maxlen=HISTORY_SECONDS) if keep_history else None
        self._second_start = now
        self._second_total = 0
        self.changed_at = float("-inf")
        """When the last tick saw new bytes (never, before any)."""

    def add(self, amount: int) -> None:
        self.total += amount

    def tick(self, now: float) -> None:
        last_time, last_total = self._samples[-1]
        elapsed = now - last_time
        if elapsed <= 0:
            return
        instant = (self.total - last_total) / elapsed
        if self.total != last_total:
            self.changed_at = now
        alpha = 1.0 - math.exp(-elapsed / SMOOTHING_SECONDS)
        self.smoothed += alpha * (instant - self.smoothed)
        self._samples.append((now, self.total))
        while len(self._samples) > 2 and now - self._samples[1][0] >= NOW_WINDOW:
            self._samples.popleft()
        if self.idle_for(now) >= NOW_WINDOW:
            self.smoothed = 0.0  # an EWMA only approaches zero: say it once nothing comes
        if self.history is not None:
            while now - self._second_start >= 1.0:
                self.history.append(float(self.total - self._second_total))
                self._second_total = self.total
                self._second_start += 1.0
                if now - self._second_start > HISTORY_SECONDS:
                    self._second_start = now

    def idle_for(self, now: float) -> float:
        """Seconds since the last tick that saw bytes."""
        return now - self.changed_at

    def restart(self, now: float) -> None:
        """Forget the window (after an idle spell) but keep totals and history."""
        self._samples = deque([(now, self.total)])
        self.smoothed = 0.0

    @property
    def now(self) -> float:
        first_time, first_total = self._samples[0]
        last_time, last_total = self._samples[-1]
        span = last_time - first_time
        return (last_total - first_total) / span if span > 0 else 0.0

    def average(self, now: float) -> float:
        span = now - self.started
        return self.total / span if span > 0 else 0.0
