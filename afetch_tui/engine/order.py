"""A queue order as a mirror of the manager keeps it: download ids, first first.

What a front end does to its copy of the order as events arrive — append an added
download, drop a removed one, move one to the place a `Reordered` names, find a
download's place — costs O(log n) here however long the queue, where a list costs O(n)
per removal or move (100,000 rows cleared one by one were quadratic).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sortedcontainers import SortedList

_Key = tuple[float, int]
"""(rank, id): the order; ranks are this mirror's own, not the manager's."""


class QueueOrder:
    """Download ids in queue order; see the module docstring."""

    def __init__(self, ids: Iterable[int] = ()) -> None:
        self._rank: dict[int, float] = {}
        self._keys: SortedList[_Key] = SortedList()
        self.reset(ids)

    def reset(self, ids: Iterable[int]) -> None:
        """Forget everything; hold `ids` in this order."""
        self._rank = {download_id: float(n) for n, download_id in enumerate(ids)}
        self._keys = SortedList((rank, download_id) for download_id, rank in self._rank.items())

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, download_id: object) -> bool:
        return download_id in self._rank

    def __iter__(self) -> Iterator[int]:
        return (download_id for _, download_id in self._keys)

    def ids(self) -> list[int]:
        """Every id in order, as a new list (faster than iterating)."""
        return [download_id for _, download_id in self._keys]

    def __getitem__(self, index: int) -> int:
        return self._keys[index][1]

    def append(self, download_id: int) -> None:
        """Put a download at the back (where it is already, if it is held)."""
        if download_id in self._rank:
            return
        rank = self._keys[-1][0] + 1.0 if self._keys else 0.0
        self._rank[download_id] = rank
        self._keys.add((rank, download_id))

    def remove(self, download_id: int) -> None:
        """Drop a download (nothing happens if it is not held)."""
        rank = self._rank.pop(download_id, None)
        if rank is not None:
            self._keys.remove((rank, download_id))

    def index(self, download_id: int) -> int:
        """A download's 0-based place; KeyError if it is not held."""
        return self._keys.index((self._rank[download_id], download_id))

    def move(self, download_id: int, position: int) -> bool:
        """Put a held download at ``position`` (clamped), the others keeping their order.

        Returns whether the order changed."""
        rank = self._rank.get(download_id)
        if rank is None:
            return False
        key = (rank, download_id)
        target = max(0, min(position, len(self._keys) - 1))
        if self._keys.index(key) == target:
            return False
        self._keys.remove(key)
        before = self._keys[target - 1][0] if target > 0 else None
        after = self._keys[target][0] if target < len(self._keys) else None
        if before is None:
            rank = after - 1.0 if after is not None else 0.0
        elif after is None:
            rank = before + 1.0
        else:
            rank = (before + after) / 2
            if not before < rank < after:  # no float left between them: renumber (rare)
                ids = [i for _, i in self._keys]
                ids.insert(target, download_id)
                self.reset(ids)
                return True
        self._rank[download_id] = rank
        self._keys.add((rank, download_id))
        return True
