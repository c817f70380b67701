"""Regions of a segmented download and the work-stealing rule that hands them out.

A download starts as one region ``[0, total)``. Each extra connection takes the second
half of the region with the most bytes left; a connection that finishes early does the
same. When nothing is left worth splitting, an idle connection takes over the whole rest of
the region expected to finish last, if it would clearly finish it sooner: so a slow or
stalled connection never holds the tail. A region's ``end`` may shrink while its
connection streams: the connection stops there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

MIN_STEAL = 1024 * 1024
"""A region is split only if each half would get at least this many bytes."""
TAKEOVER_MARGIN = 1.0
"""Seconds a takeover must save, beyond twice the taker's own time (a new request's cost)."""


@dataclass(slots=True)
class Region:
    start: int
    end: int
    done: int = 0
    """Bytes written from ``start``."""
    checkpoint: int = 0
    """Bytes from ``start`` known to be written to the file."""
    synced: int = 0
    """Bytes from ``start`` known to be fsynced."""
    busy: bool = False
    """A connection is working on it."""
    since: float = field(default_factory=time.monotonic)
    """When its connection started on it (for its rate)."""
    done_since: int = 0
    """``done`` at that moment."""
    taken_over: bool = False
    """Another connection took over its rest; its own connection is to stop."""

    def rate(self, now: float) -> float:
        return (self.done - self.done_since) / max(now - self.since, 1e-3)

    def eta(self, now: float) -> float:
        rate = self.rate(now)
        return self.remaining / rate if rate > 0 else float("inf")

    @property
    def position(self) -> int:
        return self.start + self.done

    @property
    def remaining(self) -> int:
        return max(0, self.end - self.position)

    def as_list(self) -> list[int]:
        return [self.start, self.end, self.checkpoint, min(self.synced, self.checkpoint)]

    @classmethod
    def from_list(cls, values: list[int], *, trust_written: bool = True) -> Region:
        """``[start, end, checkpoint, synced]``; without ``trust_written`` (another boot),
        only the synced bytes count."""
        start, end, checkpoint, *rest = values
        synced = min(rest[0], checkpoint) if rest else checkpoint
        trusted = checkpoint if trust_written else synced
        return cls(start, end, done=trusted, checkpoint=trusted, synced=synced)


def take_work(
    regions: list[Region], min_steal: int = MIN_STEAL, *, own_rate: float = 0.0
) -> Region | None:
    """An idle region with bytes left, else half of the biggest rest, else a takeover.

    ``own_rate`` is the asking connection's speed (bytes/s) on its last region; a takeover
    happens only if at that speed it would finish the slowest region's rest well before
    that region's own connection would.
    """
    now = time.monotonic()
    for region in regions:
        if not region.busy and region.remaining > 0:
            region.busy = True
            region.since, region.done_since = now, region.done
            return region
    busy = [r for r in regions if r.busy and r.remaining > 0]
    victim = max(busy, key=lambda r: r.remaining, default=None)
    if victim is not None and victim.remaining >= 2 * min_steal:
        middle = victim.position + victim.remaining // 2
        return _carve(regions, victim, middle)
    slowest = max(busy, key=lambda r: r.eta(now), default=None)
    if slowest is None or own_rate <= 0:
        return None
    if slowest.eta(now) > 2 * slowest.remaining / own_rate + TAKEOVER_MARGIN:
        slowest.taken_over = True
        return _carve(regions, slowest, slowest.position)
    return None


def _carve(regions: list[Region], victim: Region, at: int) -> Region:
    taken = Region(at, victim.end, busy=True)
    victim.end = at
    regions.append(taken)
    regions.sort(key=lambda r: r.start)
    return taken


def complete(regions: list[Region], total: int) -> bool:
    """Every byte of ``[0, total)`` is written."""
    return sum(r.done for r in regions) == total and all(r.remaining == 0 for r in regions)


def safe_prefix(regions: list[Region], *, synced: bool = False) -> int:
    """Bytes from 0 that are checkpointed (or ``synced``) without a gap: what a
    one-connection resume trusts."""
    prefix = 0
    for region in sorted(regions, key=lambda r: r.start):
        if region.start > prefix:
            break
        safe = region.synced if synced else region.checkpoint
        prefix = max(prefix, region.start + safe)
        if safe < region.end - region.start:
            break
    return prefix
