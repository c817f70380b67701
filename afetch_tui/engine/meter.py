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
        "_quiet_from",
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
        self._quiet_from = float("-inf")
        """The tick before the last one that saw new bytes: the last byte came after it."""

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
            self._quiet_from = last_time
        alpha = 1.0 - math.exp(-elapsed / SMOOTHING_SECONDS)
        self.smoothed += alpha * (instant - self.smoothed)
        if now - self._quiet_from >= NOW_WINDOW:
            # Nothing for a whole window (counted from before the last byte, so an idle
            # speed reads zero within NOW_WINDOW of it, not a tick or two later): an EWMA
            # only approaches zero and the window still holds the last bytes, so say it.
            self.smoothed = 0.0
            self._samples = deque([(now, self.total)])
        else:
            self._samples.append((now, self.total))
            while len(self._samples) > 2 and now - self._samples[1][0] >= NOW_WINDOW:
                self._samples.popleft()
        if self.history is not None:
            while now - self._second_start >= 1.0:
                self.history.append(float(self.total - self._second_total))
                self._second_total = self.total
                self._second_start += 1.0
                if now - self._second_start > HISTORY_SECONDS:
                    self._second_start = now

    @property
    def second_bytes(self) -> int:
        """Bytes that came in the second under way (not yet in `history`)."""
        return self.total - self._second_total

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
