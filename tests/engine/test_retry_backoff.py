"""The retry backoff grows while attempts bring nothing, and starts short again after one
that made progress (the retry budget is still spent: it bounds attempts, not waits)."""

from __future__ import annotations

import re

from afetch_tui.engine.events import State

MIB = 1024 * 1024
BASE = 0.4  # backoff(n) lies in [BASE * 2**(n-1) / 2, BASE * 2**(n-1)]


def waits(snap) -> list[float]:
    found = (re.search(r"; retry \d+/\d+ in ([\d.]+) s$", e.message) for e in snap.log)
    return [float(m.group(1)) for m in found if m]


async def test_backoff_resets_after_an_attempt_that_made_progress(
    server, payload, make_manager, fetch, tmp_path
):
    manager = await make_manager(retry_base=BASE, retry_cap=10.0)
    data = payload(MIB, seed=61)
    url = server.add_file("/p.bin", data, drop_after=200_000, drop_times=3)

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.retries == 3
    assert (tmp_path / "p.bin").read_bytes() == data
    assert len(waits(snap)) == 3
    assert all(wait <= BASE for wait in waits(snap)), waits(snap)  # each the first step


async def test_backoff_grows_while_attempts_bring_nothing(server, make_manager, fetch):
    manager = await make_manager(retry_base=0.2, retry_cap=10.0, retries=3)
    url = server.add_status("/never.bin", 500)

    snap = await fetch(manager, url)

    assert snap.state is State.FAILED
    first, _, third = waits(snap)
    assert first <= 0.2
    assert third >= 0.4  # the third step: between 0.4 and 0.8 s
