"""Why a download that could run is not running: one short phrase for the dashboard.

The scheduler knows the rules (cooldowns, per-host caps, the global limit, the request
rate, retry times); this module states them from the snapshots the engine publishes, so
any front end can say why a row waits without asking the scheduler.
"""

from __future__ import annotations

from afetch_tui.engine.events import DownloadSnapshot, HostSnapshot, Limits, State
from afetch_tui.format import countdown


def waiting_reason(
    download: DownloadSnapshot,
    host: HostSnapshot | None,
    limits: Limits,
    running: int,
    now: float,
) -> str | None:
    """Why `download` waits, e.g. ``host cooling 12s``; None if it is not waiting.

    `running` is how many downloads run in total, `now` the wall-clock time the
    snapshots are read at (retry times are wall-clock).
    """
    if download.state not in (State.QUEUED, State.RETRYING):
        return None
    if download.retry_at is not None and download.retry_at > now:
        return f"retry in {countdown(download.retry_at - now)}"
    if host is not None:
        if host.cooldown_remaining > 0:
            return f"host cooling {countdown(host.cooldown_remaining)}"
        if host.connection_cap and host.connections >= host.connection_cap:
            return f"host cap {host.connections}/{host.connection_cap}"
        if host.active >= host.connection_cap > 0:
            return f"host cap {host.active}/{host.connection_cap}"
    if running >= limits.max_concurrent:
        return f"{running}/{limits.max_concurrent} running"
    if host is not None and host.request_rate is not None:
        return "request rate"
    return "starting" if download.state is State.QUEUED else "retrying"
