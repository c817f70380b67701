"""A host's rates fall to zero once it goes idle; a lowered connection cap recovers with
time; every waiting download has a reason."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from afetch_tui.engine.events import DownloadSnapshot, Limits, State
from afetch_tui.engine.hosts import CAP_RECOVERY_IDLE_STEP, Host
from afetch_tui.engine.meter import NOW_WINDOW, RateMeter
from afetch_tui.engine.waiting import waiting_reason


def run(meter: RateMeter, start: float, seconds: float, per_tick: int, step: float = 0.25) -> float:
    now = start
    for _ in range(int(seconds / step)):
        now += step
        meter.add(per_tick)
        meter.tick(now)
    return now


def test_now_and_smoothed_fall_to_zero_within_two_seconds_of_idle() -> None:
    meter = RateMeter(0.0, keep_history=True)
    now = run(meter, 0.0, 10.0, 25_000)  # 100 kB/s
    assert meter.now > 90_000 and meter.smoothed > 50_000
    # The last bytes came after the tick before the last that saw any: zero once that
    # tick is NOW_WINDOW old (the last byte at most 2 s ago), not a tick or two later.
    now = run(meter, now, NOW_WINDOW - 0.5, 0)
    assert meter.now > 0.0  # not early either
    now = run(meter, now, 0.25, 0)
    assert meter.now == 0.0
    assert meter.smoothed == 0.0  # an EWMA alone would still say ~60 kB/s
    assert meter.history is not None and meter.history[-1] == 0.0


def test_an_idle_host_keeps_sending_updates_until_its_graph_is_empty() -> None:
    host = Host("a", 0.0)
    run(host.meter, 0.0, 5.0, 25_000)
    assert host.needs_update(6.0)
    assert host.needs_update(60.0)  # the graph still scrolls its last bytes out
    host.meter.tick(70.0)
    assert not host.needs_update(70.0)


def test_a_lowered_cap_grows_back_with_time_alone() -> None:
    limits = Limits(max_per_host=4)
    host = Host("a", 0.0)
    host.running_downloads = 4
    host.pushback(2.0, 0.0, limits)
    assert host.cap(limits) == 2
    assert not host.recover(1.0, limits)  # still cooling
    assert not host.recover(2.0 + CAP_RECOVERY_IDLE_STEP / 2, limits)
    assert host.recover(2.0 + CAP_RECOVERY_IDLE_STEP, limits)
    assert host.cap(limits) == 3
    assert host.recover(2.0 + 2 * CAP_RECOVERY_IDLE_STEP, limits)
    assert host.reduced_cap is None and host.cap(limits) == 4


def snapshot(state: State, **changes: object) -> DownloadSnapshot:
    base = DownloadSnapshot(
        id=1, url="http://h/x", host="h", directory=Path("."), name="x", state=state,
        done=0, total=None, speed=0, speed_now=0, eta=None, retries=0, error=None,
        connections=0, etag=None, last_modified=None, limit_rate=None, added_at=0,
        finished_at=None, log=(),
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def test_waiting_reasons() -> None:
    limits = Limits(max_concurrent=5, max_per_host=4)
    host = Host("h", 0.0)
    queued = snapshot(State.QUEUED)
    assert waiting_reason(queued, host.snapshot(0.0, limits), limits, 5, 0.0) == "5/5 running"
    host.running_downloads = 4
    host.pushback(12.0, 0.0, limits)
    cooling = host.snapshot(0.5, limits)
    assert waiting_reason(queued, cooling, limits, 4, 0.0) == "host cooling 12s"
    host.open_connections = 2
    capped = host.snapshot(20.0, limits)
    assert waiting_reason(queued, capped, limits, 2, 0.0) == "host cap 2/2"
    retrying = snapshot(State.RETRYING, retry_at=104.2)
    assert waiting_reason(retrying, capped, limits, 2, 100.0) == "retry in 5s"
    assert waiting_reason(snapshot(State.DOWNLOADING), capped, limits, 2, 0.0) is None


def test_a_host_with_nothing_running_reads_quiet_at_once_and_its_graph_within_a_second() -> None:
    """Its downloads ended: nothing can arrive, so Now and the smoothed speed are nothing
    straight away (the meter's window still holds the last bytes), and the graph's newest
    column is empty as soon as a second under way holds no bytes."""
    host = Host("a", 0.0)
    host.running_downloads = 1
    now = run(host.meter, 0.0, 3.0, 25_000)
    snap = host.snapshot(now, Limits())
    assert snap.speed_now > 0 and snap.speed > 0 and snap.history[-1] > 0
    host.meter.add(10_000)
    host.running_downloads = 0
    now += 0.1
    host.meter.tick(now)
    snap = host.snapshot(now, Limits())
    assert snap.speed_now == snap.speed == 0.0
    assert host.meter.now > 0  # the window alone would still say otherwise
    assert snap.history[-1] > 0  # the second under way holds the last bytes
    now = run(host.meter, now, 1.0, 0)  # past the second's end
    assert host.snapshot(now, Limits()).history[-1] == 0.0
