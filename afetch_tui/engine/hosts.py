"""Per-host state: statistics, limits, cooldown and the adaptive connection cap."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from afetch_tui.engine.events import HostSnapshot, Limits, LogEntry
from afetch_tui.engine.limits import TokenBucket
from afetch_tui.engine.meter import HISTORY_SECONDS, RateMeter

PUSHBACK_MIN_COOLDOWN = 1.0
CAP_RECOVERY_SECONDS = 30.0
CAP_RECOVERY_IDLE_STEP = 10.0
"""Seconds after a cooldown, without another pushback, for a lowered cap to grow by one
(successes grow it faster; time alone must too, or an idle host stays at 1 for good)."""
HOST_LOG = 8
"""How many of a host's latest notable events (pushbacks, cap changes, failures) it keeps."""


class Host:
    """Everything the manager knows about one host.

    A host that answers 429 or 503 is put in a cooldown during which none of its downloads
    start, and its connection cap is halved; each success after that grows it back by one.
    """

    def __init__(self, name: str, now: float) -> None:
        self.name = name
        self.meter = RateMeter(now, keep_history=True)
        self.bucket = TokenBucket()
        self.request_bucket = TokenBucket(burst=1.0)
        self.limit_override: float | None = None
        self.has_override = False
        self.open_connections = 0
        self.running_downloads = 0
        self.reserved_connections = 0
        """Connections reserved: one per running download, plus extra segment connections."""
        self.queued = 0
        self.completed = 0
        self.failed = 0
        self.bytes_before = 0
        """Bytes its downloads in the stored list had when this run began: with
        `completed` and `failed` (taken up from the list too), the panel's Done/Fail and
        Bytes all count from the list's start, across restarts."""
        self.retries = 0
        self.status_429 = 0
        self.status_5xx = 0
        self.cooldown_until = 0.0
        self.reduced_cap: int | None = None
        self._cap_changed_at = now
        self._ttfb_total = 0.0
        self._ttfb_count = 0
        self._sent_counts: tuple[int, ...] = ()
        self.log: deque[LogEntry] = deque(maxlen=HOST_LOG)
        """What happened to it lately and why, for the details pane (wall-clock times)."""
        self.cap_raised: Callable[[], None] | None = None
        """Called when a lowered cap grows back: the scheduler looks at the host again
        (it left it aside at the old cap; see `Scheduler._know`)."""

    def note(self, message: str) -> None:
        self.log.append(LogEntry(time.time(), message))

    def cap(self, limits: Limits) -> int:
        if self.reduced_cap is None:
            return limits.max_per_host
        return max(1, min(self.reduced_cap, limits.max_per_host))

    def cooling(self, now: float) -> bool:
        return self.cooldown_until > now

    def pushback(self, delay: float, now: float, limits: Limits, why: str = "pushed back") -> None:
        """The host said 'slow down' (`why`): hold its downloads and lower its cap."""
        hold = max(delay, PUSHBACK_MIN_COOLDOWN)
        self.cooldown_until = max(self.cooldown_until, now + hold)
        before = self.cap(limits)
        self.reduced_cap = max(1, min(before, max(self.running_downloads, 1)) // 2)
        self._cap_changed_at = now
        self.note(f"{why}: held {hold:.0f} s, connection cap {before} → {self.cap(limits)}")

    def succeeded(self, now: float, limits: Limits) -> None:
        """A request went well: grow a lowered cap back, one step at a time."""
        if self.reduced_cap is None:
            return
        if now - self._cap_changed_at >= min(CAP_RECOVERY_SECONDS, 1.0 + self.reduced_cap):
            self._grow_cap(now, limits, "after a success")

    def _grow_cap(self, now: float, limits: Limits, why: str) -> None:
        assert self.reduced_cap is not None
        self.reduced_cap += 1
        self._cap_changed_at = now
        if self.reduced_cap >= limits.max_per_host:
            self.reduced_cap = None
            self.note(f"connection cap back to {limits.max_per_host}, the full cap ({why})")
        else:
            self.note(f"connection cap up to {self.reduced_cap} ({why})")
        if self.cap_raised is not None:
            self.cap_raised()

    def recover(self, now: float, limits: Limits) -> bool:
        """Grow a lowered cap back with time; True if it grew."""
        if self.reduced_cap is None or self.cooling(now):
            return False
        since = now - max(self._cap_changed_at, self.cooldown_until)
        if since < CAP_RECOVERY_IDLE_STEP:
            return False
        self._grow_cap(now, limits, f"{CAP_RECOVERY_IDLE_STEP:.0f} s without a pushback")
        return True

    def needs_update(self, now: float) -> bool:
        """Whether the hosts panel would show something new: while it transfers, cools
        down or runs lowered, and until its graph has scrolled back to empty."""
        return bool(
            self.running_downloads
            or self.open_connections
            or self.reduced_cap is not None
            or self.cooling(now - 1)
            or self.meter.idle_for(now) <= HISTORY_SECONDS + 1
        )

    def update_due(self, now: float) -> bool:
        """`needs_update`, or its counts changed since the last update: downloads that all
        fail at connect, between two ticks, leave a host that never saw a byte, and the
        panel must still hear that none of them runs any more."""
        counts = (
            self.running_downloads,
            self.queued,
            self.open_connections,
            self.completed,
            self.failed,
        )
        changed, self._sent_counts = counts != self._sent_counts, counts
        return self.needs_update(now) or changed

    def record_ttfb(self, seconds: float) -> None:
        self._ttfb_total += seconds
        self._ttfb_count += 1

    def record_status(self, status: int) -> None:
        if status == 429:
            self.status_429 += 1
        elif status >= 500:
            self.status_5xx += 1

    def apply_limits(self, limits: Limits) -> None:
        self.bucket.rate = self.limit_override if self.has_override else limits.rate_per_host
        self.request_bucket.rate = limits.host_request_rate

    @property
    def transferring(self) -> bool:
        """Whether any of its downloads runs or holds a connection (bytes may come)."""
        return bool(self.running_downloads or self.open_connections)

    @property
    def speed_now(self) -> float:
        """Bytes a second now: the meter's window, and nothing once no download of the host
        runs (the window would still hold the last bytes for up to 2 s)."""
        return self.meter.now if self.transferring else 0.0

    def history(self) -> tuple[float, ...]:
        """The last `HISTORY_SECONDS` seconds, oldest first, always that many (zeros
        before the host was seen): the whole seconds' bytes, then the second under way,
        as its bytes so far, or while downloads run the speed now (what it is on course
        to hold). So the graph moves one column per second of wall time, whatever the
        host does, and goes quiet as soon as nothing runs and the second holds nothing."""
        meter = self.meter
        whole = tuple(meter.history or ())[-(HISTORY_SECONDS - 1) :]
        under_way = float(meter.second_bytes)
        if self.transferring:
            under_way = max(under_way, meter.now)
        padding = (0.0,) * (HISTORY_SECONDS - 1 - len(whole))
        return (*padding, *whole, under_way)

    def snapshot(self, now: float, limits: Limits) -> HostSnapshot:
        transferring = self.transferring
        return HostSnapshot(
            host=self.name,
            speed_now=self.speed_now,
            speed=self.meter.smoothed if transferring else 0.0,
            speed_avg=self.meter.average(now),
            bytes=self.bytes_before + self.meter.total,
            connections=self.open_connections,
            connection_cap=self.cap(limits),
            active=self.running_downloads,
            queued=self.queued,
            completed=self.completed,
            failed=self.failed,
            retries=self.retries,
            status_429=self.status_429,
            status_5xx=self.status_5xx,
            cooldown_remaining=max(0.0, self.cooldown_until - now),
            ttfb_mean=self._ttfb_total / self._ttfb_count if self._ttfb_count else None,
            limit_rate=self.bucket.rate,
            request_rate=self.request_bucket.rate,
            history=self.history(),
            log=tuple(self.log),
        )
