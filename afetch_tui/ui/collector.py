"""Full garbage collections stay short while many downloads finish.

Every download that finishes leaves a few long-lived objects in this process (its
snapshot, its log entry). With 100,000 of them the oldest generation grows by hundreds
of thousands, and each full collection walks all of it: up to 0.4 s during which no key
is answered, a dozen times while a long list runs. After a full collection (garbage just
went) whose survivors are many, they are frozen (`gc.freeze`): later collections walk
only what is newer. What a frozen object later leaves as a reference cycle is never
collected, so this happens only after that many new survivors, a few times per 100,000
downloads, never on a timer.
"""

from __future__ import annotations

import gc

FREEZE_AFTER = 20_000
"""Survivors of a full collection that make it freeze them."""


class ShortCollections:
    """Installs the policy for as long as it is wanted (`install` / `remove`)."""

    def __init__(self, freeze_after: int = FREEZE_AFTER) -> None:
        self.freeze_after = freeze_after
        self.freezes = 0

    def install(self) -> None:
        if self._after_collection not in gc.callbacks:
            gc.callbacks.append(self._after_collection)

    def remove(self) -> None:
        if self._after_collection in gc.callbacks:
            gc.callbacks.remove(self._after_collection)

    def _after_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase != "stop" or info.get("generation") != 2:
            return
        if len(gc.get_objects(generation=2)) >= self.freeze_after:
            gc.freeze()
            self.freezes += 1
