"""What the queue summary counts: downloads and their bytes by state, and which run now."""

from __future__ import annotations

from afetch_tui.engine.download import Download
from afetch_tui.engine.events import QueueSummary, State


class Tally:
    """Counts by state, kept as states change, so a summary reads no download.

    Bytes are summed by state over the downloads not running; the running ones (few, and
    moving) are summed live when a summary is taken.
    """

    def __init__(self) -> None:
        self.running: dict[int, Download] = {}
        """The downloads started and not yet finished, by id."""
        self._counts: dict[State, int] = dict.fromkeys(State, 0)
        self._bytes: dict[State, int] = dict.fromkeys(State, 0)

    def count(self, d: Download, sign: int) -> None:
        """Count a download in (``sign`` 1) or out (-1) of the summary."""
        self._counts[d.state] += sign
        if d.id not in self.running:
            self._bytes[d.state] += sign * d.done

    def moved(self, d: Download, old: State, new: State) -> None:
        """``d`` goes from ``old`` to ``new`` (called before its state is set)."""
        self._counts[old] -= 1
        self._counts[new] += 1
        if d.id not in self.running:
            self._bytes[old] -= d.done
            self._bytes[new] += d.done

    def started(self, d: Download) -> None:
        self.running[d.id] = d
        self._bytes[d.state] -= d.done

    def stopped(self, d: Download) -> bool:
        """``d`` no longer runs; False if it was not running."""
        if self.running.pop(d.id, None) is None:
            return False
        self._bytes[d.state] += d.done
        return True

    def emptied(self, d: Download) -> None:
        """``d``'s bytes are about to be deleted (its ``done`` then goes to zero)."""
        if d.id not in self.running:
            self._bytes[d.state] -= d.done

    def summary(self) -> QueueSummary:
        done = sum(self._bytes.values()) + sum(d.done for d in self.running.values())
        return QueueSummary(dict(self._counts), done, self._bytes[State.COMPLETED])
