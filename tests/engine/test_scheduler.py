"""The scheduler on its own: queue order, moves, per-host counts, and a cost per start that
does not grow with the queue.

The complexity test drives a real `DownloadManager` whose transfers finish at once (the one
place a fake transfer is used): what it measures is the scheduler's work, not the network.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

from afetch_tui.engine import runner as runner_module
from afetch_tui.engine import urls
from afetch_tui.engine.download import Download
from afetch_tui.engine.events import Limits, State
from afetch_tui.engine.hosts import Host
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.scheduler import Scheduler
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.engine.urls import host_of


class Queue:
    """A scheduler with its downloads, as the manager holds them."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.downloads: dict[int, Download] = {}
        self.scheduler = Scheduler(limits or Limits(), self.downloads)
        self.hosts: dict[str, Host] = {}

    def add(self, host: str = "a", *, waiting: bool = True) -> Download:
        download_id = len(self.downloads) + 1
        d = Download(
            id=download_id,
            url=f"http://{host}/{download_id}",
            host=host,
            directory=Path("."),
            rank=self.scheduler.next_rank(),
        )
        self.downloads[d.id] = d
        if host not in self.hosts:
            self.hosts[host] = Host(host, 0.0)
        self.scheduler.add(d, self.hosts[host], waiting=waiting)
        return d

    def order(self) -> list[int]:
        return list(self.scheduler.ids())

    def take(self, now: float = 0.0) -> list[int]:
        return self.scheduler.take(now)[0]


def test_take_follows_queue_order_and_the_host_cap() -> None:
    q = Queue(Limits(max_concurrent=10, max_per_host=2))
    a1, b1, a2, a3, b2 = (q.add(h) for h in "abaab")
    assert q.take() == [a1.id, b1.id, a2.id, b2.id]  # a3 waits for a slot on a
    a, b = q.hosts["a"], q.hosts["b"]
    assert (a.queued, a.running_downloads, a.reserved_connections) == (1, 2, 2)
    assert (b.queued, b.running_downloads) == (0, 2)
    assert q.take() == []
    q.scheduler.finished(b1)
    assert q.take() == []  # b's free slot is no use to a
    q.scheduler.finished(a1)
    assert q.take() == [a3.id]
    assert (a.queued, a.running_downloads) == (0, 2)


def test_a_started_download_is_never_counted_as_queued() -> None:
    q = Queue(Limits(max_per_host=1))
    q.add()
    q.add()
    host = q.hosts["a"]
    assert host.queued == 2
    q.take()
    assert (host.queued, host.running_downloads) == (1, 1)


def test_moves_change_the_order_and_what_starts_first() -> None:
    q = Queue(Limits(max_concurrent=1))
    a, b, c, d = (q.add() for _ in range(4))
    assert q.scheduler.move(d, -2) == [d]
    assert q.order() == [a.id, d.id, b.id, c.id]
    q.scheduler.move_to(c, top=True)
    assert q.order() == [c.id, a.id, d.id, b.id]
    q.scheduler.move_to(c, top=False)
    assert q.order() == [a.id, d.id, b.id, c.id]
    assert q.scheduler.move(a, -5) is None  # already first
    assert q.take() == [a.id]
    q.scheduler.move(c, -10)
    assert q.order() == [c.id, a.id, d.id, b.id]  # a started one keeps its place
    assert q.take() == []
    q.scheduler.finished(a)
    assert q.take() == [c.id]


def test_ranks_are_renumbered_when_there_is_no_room_between_them() -> None:
    q = Queue(Limits(max_concurrent=3))
    first, second, last = q.add(), q.add(), q.add()
    moved = []
    for _ in range(80):  # each move halves the gap between first and second
        moved = q.scheduler.move(last, -1) or []
        moved = q.scheduler.move(last, 1) or moved
    assert q.order() == [first.id, second.id, last.id]
    q.scheduler.move(last, -1)
    assert q.order() == [first.id, last.id, second.id]
    ranks = [q.downloads[i].rank for i in q.order()]
    assert ranks == sorted(ranks) and len(set(ranks)) == 3
    assert q.take() == [first.id, last.id, second.id]


def test_paused_and_removed_downloads_do_not_start() -> None:
    q = Queue()
    a, b, c = q.add(), q.add(), q.add(waiting=False)
    assert q.scheduler.dequeue(a)
    assert not q.scheduler.dequeue(a)
    q.scheduler.forget(b)
    assert q.order() == [a.id, c.id]
    assert q.take() == [] and q.hosts["a"].queued == 0
    q.scheduler.enqueue(c)
    q.scheduler.enqueue(a)
    assert q.take() == [a.id, c.id]


def test_a_retry_waits_for_its_time_and_others_go_first() -> None:
    q = Queue()
    late, early = q.add(waiting=False), q.add(waiting=False)
    q.scheduler.enqueue(late, not_before=5.0, now=1.0)
    q.scheduler.enqueue(early)
    started, wake = q.scheduler.take(1.0)
    assert started == [early.id] and wake == 5.0
    assert q.hosts["a"].queued == 1
    assert q.take(now=4.9) == []
    assert q.take(now=5.0) == [late.id]


def test_a_cooling_host_waits_and_others_do_not() -> None:
    q = Queue()
    a1, b1 = q.add("a"), q.add("b")
    q.hosts["a"].cooldown_until = 3.0
    started, wake = q.scheduler.take(1.0)
    assert started == [b1.id] and wake == 3.0
    q.hosts["a"].cooldown_until = 4.0  # pushed back again meanwhile
    assert q.take(now=3.0) == []
    assert q.take(now=4.0) == [a1.id]


def test_a_download_that_has_its_bytes_gives_its_slot_to_the_next() -> None:
    q = Queue(Limits(max_concurrent=2, max_per_host=2))
    first, second, third, fourth, fifth = (q.add() for _ in range(5))
    assert q.take() == [first.id, second.id]
    assert q.scheduler.network_done(first)
    assert not q.scheduler.network_done(first)
    assert q.take() == [third.id]
    assert q.hosts["a"].running_downloads == 2
    assert q.scheduler.network_done(second)
    assert q.take() == [fourth.id]
    assert not q.scheduler.network_done(third)  # two are finishing already: keep the slot
    assert q.take() == []
    q.scheduler.finished(first)
    q.scheduler.finished(first)  # twice is harmless
    assert q.take() == []
    assert q.scheduler.network_done(third)
    assert q.take() == [fifth.id]
    assert q.hosts["a"].running_downloads == 2 and q.hosts["a"].reserved_connections == 2


def test_a_lower_cap_and_new_limits_take_effect() -> None:
    q = Queue(Limits(max_per_host=4))
    for _ in range(6):
        q.add()
    host = q.hosts["a"]
    host.reduced_cap = 1
    assert len(q.take()) == 1
    q.scheduler.limits = Limits(max_per_host=4)
    host.reduced_cap = None
    q.scheduler.hosts_changed()
    assert len(q.take()) == 3


def test_extra_connections_only_when_nothing_is_queued() -> None:
    q = Queue(Limits(max_concurrent=1, max_per_host=2))
    _first, second = q.add(), q.add()
    host = q.hosts["a"]
    q.take()
    assert not q.scheduler.take_extra(host)  # the second download wants that slot
    q.scheduler.limits = Limits(max_concurrent=2, max_per_host=2)
    q.take()
    q.scheduler.finished(second)
    assert q.scheduler.take_extra(host) and host.reserved_connections == 2
    assert not q.scheduler.take_extra(host)


def test_a_new_url_moves_a_waiting_download_to_its_new_host() -> None:
    q = Queue(Limits(max_per_host=1))
    q.add("a")
    moved = q.add("a")
    q.take()
    q.hosts["b"] = Host("b", 0.0)
    q.scheduler.move_host(moved, q.hosts["b"], 0.0)
    assert (q.hosts["a"].queued, q.hosts["b"].queued) == (0, 1)
    assert q.take() == [moved.id]


def test_pause_and_resume_cycles_do_not_grow_the_heaps() -> None:
    q = Queue(Limits(max_concurrent=1000, max_per_host=1000))
    downloads = [q.add() for _ in range(200)]
    for _ in range(20):
        for d in downloads:
            q.scheduler.dequeue(d)
        for d in downloads:
            q.scheduler.enqueue(d)
    queue = q.scheduler._queues["a"]
    assert len(queue) <= 3 * len(downloads)
    assert q.take() == [d.id for d in downloads]


# ------------------------------------------------------------------ cost per download


class InstantTransfer:
    """Finishes at once: the test counts the scheduler's work, not the network's."""

    def __init__(self, d: Download, context: Any) -> None:
        self.d = d

    async def run(self) -> None:
        await asyncio.sleep(0)


async def work_per_download(count: int, tmp_path: Path, limits: Limits) -> float:
    options = ManagerOptions(trust_env=False, progress_interval=60)
    async with DownloadManager(tmp_path, options=options, limits=limits) as m:
        await m.add_many(DownloadSpec(f"http://one.example/{i}" for i in range(count)))
        await asyncio.wait_for(m.wait(), 60)
        assert all(d.state is State.COMPLETED for d in m.downloads())
        return m._scheduler.work / count


@pytest.mark.parametrize("limits", [Limits(), Limits(max_concurrent=16, max_per_host=16)])
async def test_the_cost_of_starting_a_download_does_not_grow_with_the_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limits: Limits
) -> None:
    monkeypatch.setattr(runner_module, "Transfer", InstantTransfer)
    small = await work_per_download(2_000, tmp_path, limits)
    large = await work_per_download(20_000, tmp_path, limits)
    assert large <= 1.5 * small, (small, large)


# ------------------------------------------------------------------ the summary


def summed(m: DownloadManager) -> tuple[dict[State, int], int, int]:
    """What `summary` must say, the slow way."""
    counts = dict.fromkeys(State, 0)
    for snap in m.downloads():
        counts[snap.state] += 1
    completed = sum(s.done for s in m.downloads() if s.state is State.COMPLETED)
    return counts, sum(snap.done for snap in m.downloads()), completed


async def test_the_summary_matches_the_downloads_through_every_command(
    server: Any, tmp_path: Path
) -> None:
    slow = server.add_file("/slow.bin", b"s" * 200_000, rate=100_000)
    files = [server.add_file(f"/f{i}.bin", bytes([i]) * (1000 + i)) for i in range(6)]
    missing = server.url("/missing.bin")
    options = ManagerOptions(trust_env=False, retries=0, progress_interval=0.05)
    async with DownloadManager(tmp_path, options=options) as m:
        ids = await m.add_many(DownloadSpec([slow, *files, missing]))
        paused = await m.add(files[0], paused=True, directory=tmp_path / "p")
        await asyncio.sleep(0.3)
        counts, done, _ = summed(m)
        summary = m.summary()
        assert summary.counts == counts and summary.done >= done  # running ones move on
        assert [s.id for s in m.running()] == [
            s.id for s in m.downloads() if s.id in {r.id for r in m.running()}
        ]
        await m.cancel(ids[0])
        await asyncio.wait_for(m.wait(), 15)
        await m.remove(ids[1])
        await m.retry(ids[-1])
        await asyncio.wait_for(m.wait(), 15)
        await m.resume(paused)
        await asyncio.wait_for(m.wait(), 15)
        summary = m.summary()
        assert (summary.counts, summary.done, summary.completed_bytes) == summed(m)
        assert [s.id for s in m.downloads_in(State.FAILED)] == [ids[-1]]
        await m.remove(ids[2], delete_file=True)
        await m.clear_finished()
        summary = m.summary()
        assert (summary.counts, summary.done, summary.completed_bytes) == summed(m)
        assert summary.counts[State.FAILED] == 1 and m.running() == []


# ------------------------------------------------------------------ restoring many


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/a/b?c#d",
        "https://Example.COM:443/x",
        "http://example.com:8080",
        "http://bob:s3cret@example.com:81/f",
        "http://[::1]:8080/f?x=/y",
        "http://127.0.0.1/",
        "https://xn--80ak6aa92e.com/f",
        "HTTP://EXAMPLE.com:80/f",
    ],
)
def test_the_host_key_from_the_origin_is_the_host_key_from_the_whole_url(url: str) -> None:
    assert host_of(url) == urls._host_key(URL(url))
