"""A queue order as a mirror of the manager keeps it: download ids, first first.

What a front end does to its copy of the order as events arrive — append an added
download, drop a removed one, move one to the place a `Reordered` names, find a
download's place — costs O(log n) here however long the queue, where a list costs O(n)
per removal or move (100,000 rows cleared one by one were quadratic).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from itertools import pairwise

from sortedcontainers import SortedKeyList


class QueueOrder:
    """Download ids in queue order; see the module docstring.

    Each id has a rank (the order is by rank): its own value unless `_rank` says
    otherwise. Ids are handed out in increasing order, so a queue that was not reordered
    needs no rank of its own for any of them: 100,000 rows cost two list slots each here,
    where a (rank, id) tuple and a float each cost ~130 bytes and an object the garbage
    collector walks. Ranks stay distinct: one given is always strictly between two
    neighbours' (or beyond the ends)."""

    def __init__(self, ids: Iterable[int] = ()) -> None:
        self._rank: dict[int, float] = {}
        self._keys: SortedKeyList[int, float] = SortedKeyList(key=self._key)
        self.reset(ids)

    def _key(self, download_id: int) -> float:
        return self._rank.get(download_id, download_id)

    def reset(self, ids: Iterable[int]) -> None:
        """Forget everything; hold `ids` in this order."""
        ids = list(ids)
        self._rank = _ranks(ids)
        self._keys = SortedKeyList(ids, key=self._key)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, download_id: object) -> bool:
        return isinstance(download_id, int) and download_id in self._keys

    def __iter__(self) -> Iterator[int]:
        return iter(self._keys)

    def ids(self) -> list[int]:
        """Every id in order, as a new list (faster than iterating)."""
        return list(self._keys)

    def __getitem__(self, index: int) -> int:
        download_id: int = self._keys[index]
        return download_id

    def append(self, download_id: int) -> None:
        """Put a download at the back (where it is already, if it is held)."""
        if download_id in self:
            return
        last = self._key(self._keys[-1]) if self._keys else None
        if last is not None and download_id <= last:
            self._rank[download_id] = last + 1.0
        self._keys.add(download_id)

    def remove(self, download_id: int) -> None:
        """Drop a download (nothing happens if it is not held)."""
        if download_id in self:
            self._keys.remove(download_id)
            self._rank.pop(download_id, None)

    def index(self, download_id: int) -> int:
        """A download's 0-based place; KeyError if it is not held."""
        try:
            index: int = self._keys.index(download_id)
        except ValueError:
            raise KeyError(download_id) from None
        return index

    def move(self, download_id: int, position: int) -> bool:
        """Put a held download at ``position`` (clamped), the others keeping their order.

        Returns whether the order changed."""
        if download_id not in self:
            return False
        keys = self._keys
        target = max(0, min(position, len(keys) - 1))
        if keys.index(download_id) == target:
            return False
        keys.remove(download_id)
        before = self._key(keys[target - 1]) if target > 0 else None
        after = self._key(keys[target]) if target < len(keys) else None
        if before is None:
            rank = after - 1.0 if after is not None else 0.0
        elif after is None:
            rank = before + 1.0
        else:
            rank = (before + after) / 2
            if not before < rank < after:  # no float left between them: renumber (rare)
                ids = list(keys)
                ids.insert(target, download_id)
                self.reset(ids)
                return True
        self._rank[download_id] = rank
        keys.add(download_id)
        return True


def _ranks(ids: Sequence[int]) -> dict[int, float]:
    """The ranks `ids` (in this order) need beside their own values: none if they
    increase, else one for each id outside a longest increasing run of them, spread
    between that run's neighbours."""
    if all(a < b for a, b in pairwise(ids)):
        return {}
    kept = set(_longest_increasing(ids))
    ranks: dict[int, float] = {}
    waiting: list[int] = []  # ids since the last one kept
    below: float | None = None
    for download_id in [*ids, None]:
        if download_id is not None and download_id not in kept:
            waiting.append(download_id)
            continue
        if waiting:
            if below is None and download_id is None:
                low, step = 0.0, 1.0
            elif below is None:
                assert download_id is not None
                low, step = download_id - len(waiting) - 1.0, 1.0
            elif download_id is None:
                low, step = below, 1.0
            else:
                low, step = below, (download_id - below) / (len(waiting) + 1)
            for n, waiter in enumerate(waiting, 1):
                ranks[waiter] = low + n * step
            waiting.clear()
        below = download_id
    return ranks


def _longest_increasing(ids: Sequence[int]) -> list[int]:
    """A longest strictly increasing subsequence of `ids` (patience sorting)."""
    tails: list[int] = []  # tails[k]: index in ids of the smallest tail of a run of k + 1
    back: list[int] = [-1] * len(ids)
    for index, value in enumerate(ids):
        k = bisect.bisect_left(tails, value, key=ids.__getitem__)
        if k:
            back[index] = tails[k - 1]
        if k == len(tails):
            tails.append(index)
        else:
            tails[k] = index
    run: list[int] = []
    index = tails[-1] if tails else -1
    while index >= 0:
        run.append(ids[index])
        index = back[index]
    return run[::-1]
