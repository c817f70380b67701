"""Bringing back the stored queue when a manager starts."""

from __future__ import annotations

from collections.abc import Callable

from afetch_tui.engine.download import Download
from afetch_tui.engine.events import State
from afetch_tui.engine.journal import from_record
from afetch_tui.engine.limit_settings import LimitSettings
from afetch_tui.engine.records import Record
from afetch_tui.engine.store import Store


async def load_queue(
    store: Store, settings: LimitSettings, only: Callable[[Record], bool] | None
) -> tuple[list[Download], int]:
    """The stored downloads to take up, and the first id no stored download has.

    History comes back as it was, paused downloads stay paused, the rest are queued. With
    ``only``, just the records it accepts are taken up, queued again even if they had
    failed; the others stay in the store untouched. The stored limits are applied first.
    """
    records, saved = await store.load()
    settings.restore(saved)
    next_id = 1
    downloads = []
    for record in records:
        next_id = max(next_id, record.id + 1)
        if only is not None:
            if not only(record):
                continue
            record.state, record.error, record.retries = State.QUEUED.value, None, 0
        downloads.append(from_record(record))
    return downloads, next_id
