"""Events: state order, progress throttling, the subscription queue, and the JSON form."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from faultserver import FaultServer

from afetch_tui.engine.events import (
    Added,
    Event,
    HandedOff,
    HookFinished,
    HostUpdate,
    Limits,
    LimitsChanged,
    Logged,
    Progress,
    Removed,
    Reordered,
    Resync,
    State,
    StateChanged,
    StoreProblem,
    Updated,
)
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.engine.subscription import Subscription

KIB = 1024
MIB = 1024 * 1024


def options(**changes: object) -> ManagerOptions:
    values = {"retry_base": 0.02, "retry_cap": 0.1, "progress_interval": 0.05, **changes}
    return ManagerOptions(trust_env=False, **values)


async def collect(sub: Subscription, until: object, seconds: float = 10) -> list[Event]:
    """Read events until ``until(event)`` is true (inclusive)."""
    events: list[Event] = []

    async def read() -> None:
        async for event in sub:
            events.append(event)
            if until(event):  # type: ignore[operator]
                return

    await asyncio.wait_for(read(), seconds)
    return events


def finished(download_id: int):
    return lambda e: isinstance(e, StateChanged) and e.id == download_id and e.state.is_finished


def states(events: list[Event], download_id: int) -> list[State]:
    return [e.state for e in events if isinstance(e, StateChanged) and e.id == download_id]


# -------------------------------------------------------------------------- state order


async def test_state_order_of_a_download(server: FaultServer, payload, tmp_path) -> None:
    url = server.add_file("/ok.bin", payload(2 * MIB))
    async with DownloadManager(tmp_path, options=options()) as m:
        sub = m.subscribe()
        download_id = await m.add(url)
        events = await collect(sub, finished(download_id))
    added = [e for e in events if isinstance(e, Added)]
    assert len(added) == 1 and added[0].download.id == download_id
    assert added[0].download.state is State.QUEUED
    assert events.index(added[0]) == 0
    assert states(events, download_id) == [
        State.CONNECTING,
        State.DOWNLOADING,
        State.VERIFYING,
        State.COMPLETED,
    ]


async def test_a_subscription_to_some_kinds_gets_only_those(
    server: FaultServer, payload, tmp_path
) -> None:
    """``kinds``: the other events are not delivered (nor built, when nobody wants them),
    while a subscription to everything beside it still gets every kind."""
    url = server.add_file("/kinds.bin", payload(300 * KIB), rate=1 * MIB)
    async with DownloadManager(tmp_path, options=options()) as m:
        some = m.subscribe(kinds=(StateChanged, Logged))
        download_id = await m.add(url)
        events = await collect(some, finished(download_id))
        assert {type(e) for e in events} == {StateChanged, Logged}
        assert states(events, download_id)[-1] is State.COMPLETED
        every = m.subscribe()
        again = await m.add(url, name="again.bin")
        events = await collect(every, finished(again))
    assert {Added, Updated, Progress, StateChanged, Logged} <= {type(e) for e in events}
    assert some.kinds == frozenset({StateChanged, Logged})


async def test_a_subscription_to_some_states_gets_only_those_state_changes(
    server: FaultServer, payload, tmp_path
) -> None:
    url = server.add_file("/states.bin", payload(1000))
    async with DownloadManager(tmp_path, options=options()) as m:
        some = m.subscribe(kinds=(StateChanged,), states=(State.COMPLETED,))
        every = m.subscribe(kinds=(StateChanged,))
        download_id = await m.add(url)
        only = await collect(some, finished(download_id))
        events = await collect(every, finished(download_id))
    assert states(only, download_id) == [State.COMPLETED]
    assert states(events, download_id)[0] is State.CONNECTING


async def test_state_order_with_a_retry_and_a_failure(
    server: FaultServer, payload, tmp_path
) -> None:
    flaky = server.add_file("/flaky.bin", payload(1000), statuses=[500])
    missing = server.url("/missing.bin")
    async with DownloadManager(tmp_path, options=options()) as m:
        sub = m.subscribe()
        flaky_id, missing_id = await m.add_many(DownloadSpec([flaky, missing]))
        await asyncio.wait_for(m.wait(), 10)
        sub.close()
        events = [e async for e in sub]
    assert states(events, flaky_id) == [
        State.CONNECTING,
        State.RETRYING,
        State.CONNECTING,
        State.DOWNLOADING,
        State.VERIFYING,
        State.COMPLETED,
    ]
    retry = next(e for e in events if isinstance(e, StateChanged) and e.state is State.RETRYING)
    assert retry.error and "500" in retry.error
    assert states(events, missing_id) == [State.CONNECTING, State.FAILED]
    failed = [e for e in events if isinstance(e, StateChanged) and e.state is State.FAILED]
    assert failed[0].error and "404" in failed[0].error


async def test_progress_is_throttled_to_the_interval(
    server: FaultServer, payload, tmp_path
) -> None:
    """A 2 s transfer that reads ~100 small chunks gives about 2 / interval Progress events."""
    interval = 0.1
    url = server.add_file("/slow.bin", payload(2 * MIB), rate=1 * MIB)
    async with DownloadManager(tmp_path, options=options(progress_interval=interval)) as m:
        sub = m.subscribe()
        download_id = await m.add(url)
        started = time.monotonic()
        events = await collect(sub, finished(download_id))
        elapsed = time.monotonic() - started
    progress = [e for e in events if isinstance(e, Progress) and e.id == download_id]
    assert 1.8 < elapsed < 3
    assert elapsed / interval * 0.5 <= len(progress) <= elapsed / interval + 3
    dones = [p.done for p in progress]
    assert dones == sorted(dones) and dones[-1] == 2 * MIB
    assert any(p.speed_now > 0 for p in progress)
    assert progress[-1].total == 2 * MIB


async def test_progress_is_coalesced_for_a_slow_reader(
    server: FaultServer, payload, tmp_path
) -> None:
    url = server.add_file("/c.bin", payload(1 * MIB), rate=2 * MIB)
    async with DownloadManager(tmp_path, options=options(progress_interval=0.02)) as m:
        sub = m.subscribe()
        download_id = await m.add(url)
        await asyncio.sleep(0.3)  # ~15 progress ticks, none read
        pending = sub.drain()
        progress = [e for e in pending if isinstance(e, Progress)]
        assert len(progress) == 1
        assert progress[0].id == download_id
        assert 0 < progress[0].done <= m.download(download_id).done
        await asyncio.wait_for(m.wait(), 10)


# ------------------------------------------------------------------------- Subscription


def progress(download_id: int, done: int) -> Progress:
    return Progress(download_id, done, 1000, 1.0, 1.0, None)


def make_sub(maxsize: int = 100) -> tuple[Subscription, list[Subscription]]:
    closed: list[Subscription] = []
    return Subscription(maxsize, closed.append), closed


async def test_subscription_coalesces_progress_per_download() -> None:
    sub, _ = make_sub()
    for done in range(500):
        sub.push(progress(1, done))
    sub.push(StateChanged(2, State.CONNECTING))
    sub.push(progress(2, 7))
    sub.push(progress(1, 999))
    pending = sub.drain()
    assert pending == [progress(1, 999), StateChanged(2, State.CONNECTING), progress(2, 7)]
    assert sub.drain() == []


async def test_subscription_coalesces_host_updates_per_host(server: FaultServer, tmp_path) -> None:
    url = server.add_file("/h.bin", b"h" * 1000)
    async with DownloadManager(tmp_path, options=options()) as m:
        await m.add(url)
        await asyncio.wait_for(m.wait(), 5)
        (snap,) = m.hosts()
    sub, _ = make_sub()
    for i in range(50):
        sub.push(HostUpdate(replace(snap, bytes=i)))
    other = HostUpdate(replace(snap, host="elsewhere"))
    sub.push(other)
    pending = sub.drain()
    assert pending == [HostUpdate(replace(snap, bytes=49)), other]


async def test_subscription_is_bounded_and_resyncs() -> None:
    sub, _ = make_sub(maxsize=10)
    for i in range(10):
        sub.push(StateChanged(i, State.QUEUED))
    assert len(sub.drain()) == 10  # exactly maxsize fits
    for i in range(25):
        sub.push(StateChanged(i, State.QUEUED))
    pending = sub.drain()
    assert pending[0] == Resync()
    assert len(pending) <= 10
    # After the resync, events flow normally again.
    sub.push(StateChanged(99, State.COMPLETED))
    assert sub.drain() == [StateChanged(99, State.COMPLETED)]


async def test_subscription_overflow_gives_one_resync() -> None:
    sub, _ = make_sub(maxsize=5)
    for i in range(6):
        sub.push(Removed(i))
    assert sub.drain() == [Resync()]


async def test_close_ends_iteration_after_pending_events() -> None:
    sub, closed = make_sub()
    sub.push(Removed(1))
    sub.push(Removed(2))
    sub.close()
    sub.close()  # idempotent
    assert closed == [sub]
    sub.push(Removed(3))  # ignored once closed
    assert [e async for e in sub] == [Removed(1), Removed(2)]


async def test_close_wakes_a_waiting_reader() -> None:
    sub, _ = make_sub()
    got: list[Event] = []

    async def read() -> None:
        async for event in sub:
            got.append(event)

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.05)
    sub.push(Removed(1))
    await asyncio.sleep(0.05)
    assert not reader.done()
    sub.close()
    await asyncio.wait_for(reader, 1)
    assert got == [Removed(1)]


async def test_manager_close_ends_subscriptions(tmp_path) -> None:
    m = DownloadManager(tmp_path, options=options())
    await m.start()
    sub = m.subscribe()
    closed_early = m.subscribe()
    closed_early.close()
    reader = asyncio.create_task(collect(sub, lambda e: False))
    await asyncio.sleep(0.05)
    await m.close()
    assert await asyncio.wait_for(reader, 2) == []


# ------------------------------------------------------------------------------ JSON


async def test_every_event_type_serialises_to_json(
    server: FaultServer, payload, tmp_path: Path
) -> None:
    """Real events from a run cover every kind (plus Resync, made by hand)."""
    url = server.add_file("/j.bin", payload(512 * KIB), rate=1 * MIB)
    other = server.add_file("/k.bin", payload(1000, seed=1))
    hook = (sys.executable, "-c", "pass")  # makes a HookFinished per completed file
    async with DownloadManager(
        tmp_path, options=options(on_complete=hook), limits=Limits(max_concurrent=1)
    ) as m:
        sub = m.subscribe()
        first = await m.add(url)
        second = await m.add(other)
        await m.move(second, -1)
        m.handed_off([first, second], "afetch add (pid 1)")
        await m.set_limits(replace(m.limits, rate=4 * MIB))
        await m.set_download_limit(first, 2 * MIB)
        await asyncio.wait_for(m.wait(), 10)
        await m.remove(second)
        sub.close()
        events: list[Event] = [e async for e in sub]
    events += [Resync(), StoreProblem("cannot save the queue")]
    kinds = {type(e) for e in events}
    assert kinds >= {
        Added,
        StateChanged,
        Progress,
        Updated,
        Logged,
        Removed,
        Reordered,
        HostUpdate,
        LimitsChanged,
        HookFinished,
        HandedOff,
        Resync,
        StoreProblem,
    }
    # Catches event types added later without a case here (slots dataclasses leave the
    # pre-slots class among the subclasses too, hence the comparison by kind).
    every_kind = {cls.kind for cls in Event.__subclasses__()}
    assert {e.kind for e in events} >= every_kind, "an event type was not exercised"
    for event in events:
        data = json.loads(json.dumps(event.to_json()))
        assert data["event"] == event.kind
    added = next(e for e in events if isinstance(e, Added)).to_json()
    assert added["download"]["state"] == "queued"
    assert added["download"]["url"] == url
    assert "log" not in added["download"]
    completed = next(e for e in events if isinstance(e, Updated) and e.download.name).to_json()
    assert completed["download"]["path"] == str(tmp_path / completed["download"]["name"])
    limits = next(e for e in events if isinstance(e, LimitsChanged)).to_json()
    assert limits["limits"]["rate"] == 4 * MIB
    host = next(e for e in events if isinstance(e, HostUpdate)).to_json()
    assert isinstance(host["host"]["history"], list)


def test_to_json_converts_enums_and_tuples() -> None:
    assert StateChanged(1, State.FAILED, "boom").to_json() == {
        "event": "state",
        "id": 1,
        "state": "failed",
        "error": "boom",
        "retries": 0,
        "done": 0,
        "finished_at": None,
        "retry_at": None,
        "checksum_ok": None,
    }
    assert Reordered(3, 0).to_json() == {"event": "reordered", "id": 3, "position": 0}
    assert Resync().to_json() == {"event": "resync"}
