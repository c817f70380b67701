"""The view model on its own: what it shows (filter, state filter, sort) is what the slow way
gives, it follows events, and an event costs the same with 2,000 or 20,000 rows."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from afetch_tui.engine import (
    Added,
    DownloadSnapshot,
    HostUpdate,
    Limits,
    Removed,
    Reordered,
    State,
    StateChanged,
    Updated,
)
from afetch_tui.engine.hosts import Host
from afetch_tui.ui.model import RESORT_EVERY, Show, Sort, ViewModel, display_name
from afetch_tui.ui.widgets.status_bar import render_status


def snapshot(i: int, rng: random.Random | None = None, **fields: Any) -> DownloadSnapshot:
    rng = rng or random.Random(i)
    state = rng.choice(list(State))
    total = rng.choice([None, 0, 1000, 5000, 5000, 20_000])
    values: dict[str, Any] = {
        "id": i,
        "url": f"http://h{i % 3}.example/dir/{rng.choice(['a', 'b', 'ab'])}{i}.bin",
        "host": f"h{i % 3}.example",
        "directory": Path("/tmp"),
        "name": rng.choice([None, f"File-{rng.randrange(50)}.iso", f"z{i}.txt"]),
        "state": state,
        "done": rng.randrange((total or 0) + 1),
        "total": total,
        "speed": rng.choice([0.0, 0.0, 10.0, 250.5]),
        "speed_now": 0.0,
        "eta": None,
        "retries": 0,
        "error": None,
        "connections": 0,
        "etag": None,
        "last_modified": None,
        "limit_rate": None,
        "added_at": 0.0,
        "finished_at": None,
        "log": (),
    }
    values.update(fields)
    return DownloadSnapshot(**values)


def slow_shown(model: ViewModel) -> list[int]:
    """What the table must show, computed the plain way from the snapshots."""
    text = model.filter_text.casefold()
    snaps = [model.rows[i].snap for i in model.order]
    chosen = [
        s
        for s in snaps
        if text in f"{s.name or ''}\n{s.shown_url}\n{s.host}".casefold()
        and model.show.admits(s.state)
    ]
    keys: dict[Sort, Callable[[DownloadSnapshot], Any]] = {
        Sort.QUEUE: lambda s: 0,
        Sort.NAME: lambda s: display_name(s).casefold(),
        Sort.SIZE: lambda s: -(s.total or 0),
        Sort.PROGRESS: lambda s: -(s.fraction or 0.0),
        Sort.SPEED: lambda s: -s.speed,
        Sort.STATE: lambda s: list(State).index(s.state),
    }
    return [s.id for s in sorted(chosen, key=keys[model.sort])]  # stable: queue order


def test_every_filter_and_order_shows_what_the_slow_way_does() -> None:
    rng = random.Random(7)
    model = ViewModel()
    model.load([snapshot(i, rng) for i in range(300)], [], Limits())
    for i in rng.sample(range(300), 20):  # a queue that is not in id order
        model.apply(Reordered(i, rng.randrange(300)))
    for sort in Sort:
        for show in Show:
            for text in ("", "a", "ab", "ab1", "file", "FILE-1", "h2.ex", "zz"):
                model.set_view(text=text, show=show, sort=sort)  # typing on narrows
                assert model.shown() == slow_shown(model), (sort, show, text)


@pytest.mark.parametrize("sort", [Sort.NAME, Sort.SIZE, Sort.STATE])
def test_the_view_follows_adds_removals_moves_renames_and_state_changes(sort: Sort) -> None:
    rng = random.Random(3)
    model = ViewModel()
    model.load([snapshot(i, rng) for i in range(100)], [], Limits())
    model.set_view(text="a", show=Show.QUEUED, sort=sort)
    for step in range(300):
        i = rng.randrange(130)
        kind = rng.random()
        if i not in model.rows:
            model.apply(Added(snapshot(i, rng)))
        elif kind < 0.15:
            model.apply(Removed(i))
        elif kind < 0.3:
            model.apply(Reordered(i, rng.randrange(len(model.order))))
        elif kind < 0.45:
            model.apply(Updated(snapshot(i, rng, state=model.rows[i].snap.state)))
        else:
            model.apply(StateChanged(i, rng.choice(list(State))))
        # A state change reaches the state filter's view within a second; the rest at once.
        model.refresh_view(time.monotonic() + RESORT_EVERY)
        assert model.shown() == slow_shown(model), step


# ------------------------------------------------------------------ cost per event


def seconds_per_event(rows: int, events: int = 1000) -> float:
    """Process time per Added, Reordered and Removed event with `rows` rows (best of 3)."""
    queued = snapshot(0, state=State.QUEUED, name=None)
    snaps = [replace(queued, id=i, url=f"http://h.example/{i}.bin") for i in range(rows)]
    best = float("inf")
    for _ in range(3):
        model = ViewModel()
        model.load(snaps, [], Limits())
        model.shown()
        added = [Added(replace(queued, id=rows + n)) for n in range(events)]
        started = time.process_time()
        for n, event in enumerate(added):
            model.apply(event)
            model.apply(Reordered(event.download.id, (n * 7919) % rows))
        for n in range(events):
            model.apply(Removed(n * (rows // events)))
        best = min(best, time.process_time() - started)
    return best / (3 * events)


def test_an_event_costs_the_same_with_ten_times_the_rows() -> None:
    """O(n) per event (a list.remove, an index, the whole order in a Reordered) makes an
    event ten times dearer at 20,000 rows than at 2,000; O(log n) keeps it flat."""
    small = seconds_per_event(2_000)
    large = seconds_per_event(20_000)
    assert large <= 3 * small, (small, large)


def test_the_total_speed_is_the_sum_of_the_hosts_now() -> None:
    """The status bar's rate and the hosts panel's Now come from one meter: the total is
    the hosts' Now summed, whatever the rows' own meters say (they restart with each
    attempt and drop out when a file ends, so they read differently)."""
    empty = Host("a.example", 0.0).snapshot(0.0, Limits())
    hosts = [
        replace(empty, host="a.example", speed_now=100_000.0),
        replace(empty, host="b.example", speed_now=250_000.0),
    ]
    rows = [
        snapshot(i, state=State.DOWNLOADING, host="a.example", speed_now=900_000.0)
        for i in range(3)
    ]
    model = ViewModel()
    model.load(rows, hosts, Limits())
    assert model.counts().speed == 350_000.0
    model.apply(HostUpdate(replace(hosts[0], speed_now=0.0)))
    assert model.counts().speed == 250_000.0
    assert "⇣ 244 KiB/s" in render_status(model.counts(), Limits(), Path("/tmp")).plain


def test_files_saving_apart_are_not_over_the_limit() -> None:
    """With -j 8, eight downloading and two saving their files (verifying: their slots
    went to the next two) read ``10/8 running: the extra finish first`` after a restart."""
    rows = [snapshot(i, state=State.DOWNLOADING) for i in range(8)]
    rows += [snapshot(i, state=State.VERIFYING) for i in range(8, 10)]
    limits = Limits(max_concurrent=8)
    model = ViewModel()
    model.load(rows, [], limits)
    assert model.counts().active == 10
    assert "running:" not in render_status(model.counts(), limits, Path("/tmp")).plain
    model.load(rows[2:], [], replace(limits, max_concurrent=5))  # lowered under 6 running
    shown = render_status(model.counts(), replace(limits, max_concurrent=5), Path("/tmp")).plain
    assert "6/5 running: the extra finish first" in shown
