"""Bringing back the stored queue when a manager starts."""

from __future__ import annotations

from collections.abc import Callable

from afetch_tui.engine.download import Download
from afetch_tui.engine.events import State
from afetch_tui.engine.held_names import HeldNames
from afetch_tui.engine.journal import from_record
from afetch_tui.engine.limit_settings import LimitSettings
from afetch_tui.engine.records import Record
from afetch_tui.engine.store import Store


async def restore_queue(
    store: Store,
    settings: LimitSettings,
    names: HeldNames,
    admit: Callable[[Download, bool], None],
    only: Callable[[Record], bool] | None,
) -> int:
    """Take up the stored downloads and settings; returns the first id none of them has.

    The stored limits are applied first (the changes given over them, and saved so).
    History comes back as it was, paused downloads stay paused, the rest are queued; each
    is handed to ``admit`` (with whether it waits to run) and holds its name again. With
    ``only``, just the records it accepts are taken up, queued again even if they had
    failed (completed ones stay completed); the others stay in the store untouched.
    """
    records, saved = await store.load()
    settings.restore(saved)
    if settings.changed:  # limits set over the stored ones are kept in turn
        await store.save_settings(settings.saved())
    next_id = 1
    for record in records:
        next_id = max(next_id, record.id + 1)
        if only is not None:
            if not only(record):
                continue
            if record.state != State.COMPLETED.value:
                record.state, record.error, record.retries = State.QUEUED.value, None, 0
        d = from_record(record)
        admit(d, d.state is State.QUEUED)
        host = settings.hosts[d.host]
        host.completed += d.state is State.COMPLETED  # the panel's Done/Fail and Bytes
        host.failed += d.state is State.FAILED  # survive a restart
        host.bytes_before += d.done
        if not d.state.is_finished or d.state is State.FAILED:  # a failed one keeps its .part
            names.hold(d)
    return next_id
