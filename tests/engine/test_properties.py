"""Property test: no server misbehaviour makes a download lie about its bytes.

Hypothesis draws a plan of misbehaviour for each GET (see ``tests/faultscript.py``): drops
at any offset (FIN or RST), resets, Range ignored, the entity replaced (with and without
validators), Content-Range wrong or missing, lengths that lie, other framings, 408/429/5xx
with any Retry-After, pauses. A real `DownloadManager` fetches the file from the loopback
FaultServer, with one connection or ``-x 4``, sometimes paused and resumed, quit and
started again from the state file, or started from a snapshot of that file taken while it
ran (what ``kill -9`` leaves); a third test runs two downloads at once into one directory,
their names drawn to collide. Whatever happens:

* a download ends *completed* only with exactly the bytes of one version of the file, under
  its final name, inside the directory, with the size it reports;
* otherwise it is *failed* or *paused*, and no file is under a final name;
* nothing is written outside the directory, a file that was there is untouched (unless
  ``--overwrite`` replaced it with a completed download), and no error is an "internal
  error" or a traceback;
* if every misbehaviour is retryable and the retries outnumber them, the download
  completes; and a failed download, retried once the server behaves, completes with the
  current version's bytes.

CI runs a fixed (derandomized) set of examples; ``scripts/fuzz.py`` runs many more with
random seeds. ``AFETCH_FUZZ_EXAMPLES=N`` (and optionally ``AFETCH_FUZZ_SEED``) does the
same under plain pytest.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import random
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import pytest
from faultscript import Replace, ScriptOptions, Step
from faultserver import FaultServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from afetch_tui.engine import file_ops, hosts, segmented
from afetch_tui.engine.events import State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.name_rules import PART_SUFFIX
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.engine.store import Store

KIB = 1024
MIB = 1024 * KIB
FUZZ_EXAMPLES = int(os.environ.get("AFETCH_FUZZ_EXAMPLES", "0"))
CI_EXAMPLES = {1: 30, 4: 25, 2: 20}
"""Examples per test in CI (derandomized: the same ones every run); 2 is the pair test."""
GUARD = 15.0
RUN_GUARD = 60.0
"""Seconds one example may take before it counts as a hang."""
RETRYABLE = (408, 429, 500, 502, 503, 504)
PERMANENT = (403, 404, 410)
RETRY_AFTER = ["0", "1", "3600", "-1", "1.5", "soon", "²", "99999999999999999999"]
RETRY_AFTER += ["Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT"]
DISPOSITIONS = [
    'attachment; filename="../evil.bin"',
    'attachment; filename="/tmp/evil.bin"',
    'attachment; filename=".."',
    'attachment; filename="f.bin.part"',
    "attachment; filename*=UTF-8''..%2F..%2Fevil.bin",
    'attachment; filename="a\\\\b.bin"',
    'attachment; filename="sub/dir/x.bin"',
    'attachment; filename=".part"',
    'attachment; filename="\x1b[2Jx.bin"',
]


def sometimes(strategy: st.SearchStrategy[Any], default: Any, odds: int = 4) -> Any:
    """``default`` about ``odds`` times in ``odds + 1`` (and what a failure shrinks to)."""
    return st.one_of(*[st.just(default)] * odds, strategy)


cut_modes = st.sampled_from(["fin", "rst", "pause"])
cuts = st.floats(0.0, 0.999)
facets: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.just({}),
    st.fixed_dictionaries({"cut": cuts, "cut_mode": cut_modes}),
    st.just({"reset": True}),
    st.fixed_dictionaries(
        {
            "status": st.sampled_from(RETRYABLE + PERMANENT),
            "retry_after": st.sampled_from([None, *RETRY_AFTER]),
        }
    ),
    st.just({"ignore_range": True}),
    st.fixed_dictionaries(
        {
            "replace": st.builds(
                Replace,
                kind=st.sampled_from(["fresh", "same_size", "tail", "head", "grow", "shrink"]),
                seed=st.integers(0, 2**16),
                at=st.floats(0.0, 1.0),
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "content_range": st.sampled_from(
                ["shift", "total", "end", "missing", "garbage", "star", "unit"]
            )
        }
    ),
    st.fixed_dictionaries({"framing": st.sampled_from(["chunked", "close"])}),
    st.fixed_dictionaries({"length_delta": st.integers(-4096, 4096).filter(bool)}),
    st.fixed_dictionaries({"validators": st.sampled_from(["strip", "weak"])}),
    st.fixed_dictionaries(
        {"cut": cuts, "cut_mode": st.just("pause"), "pause_seconds": st.floats(0.0, 0.2)}
    ),
)
"""One misbehaviour each; a step combines one to three of them (later ones win a clash)."""


@st.composite
def steps(draw: st.DrawFn) -> Step:
    merged: dict[str, Any] = {}
    for facet in draw(st.lists(facets, min_size=1, max_size=3)):
        merged.update(facet)
    return Step(**merged)


@dataclass(frozen=True)
class Interrupt:
    """What the user (or a crash) does once the server has seen ``after`` GETs."""

    kind: Literal["pause", "restart", "crash"]
    after: int
    hold: float = 0.0
    """Seconds paused (or between quitting and starting again)."""


@dataclass(frozen=True)
class Scenario:
    size: int
    seed: int
    connections: int
    options: ScriptOptions
    plan: list[Step]
    existing: bool
    """A file of the name the URL gives is in the directory before the download starts."""
    overwrite: bool
    interrupt: Interrupt | None = None
    limit_rate: float | None = None
    """A per-download cap: reads are then small and throttled (another copy loop), and
    small bodies are streamed rather than read whole."""

    @property
    def expect_completion(self) -> bool:
        """Every misbehaviour is one a retry gets past (the retries outnumber them)."""
        return all(step.status not in PERMANENT for step in self.plan)


@st.composite
def scenarios(draw: st.DrawFn, connections: int) -> Scenario:
    if connections == 1:
        size = draw(st.sampled_from([0, 1, 5000, 100 * KIB, 600 * KIB, 900 * KIB, 1100 * KIB]))
    else:  # splitting needs two halves of at least MIN_STEAL (1 MiB)
        size = draw(st.integers(2 * MIB, 3 * MIB))
    options = ScriptOptions(
        etag=draw(sometimes(st.sampled_from(["weak", None]), "strong", 2)),
        last_modified=draw(st.booleans()),
        accept_ranges=draw(sometimes(st.just(False), True, 6)),
        content_disposition=draw(sometimes(st.sampled_from(DISPOSITIONS), None, 3)),
    )
    plan = draw(st.lists(steps(), max_size=6))
    validated = options.etag == "strong" or options.last_modified
    if not validated or any(step.validators for step in plan):
        # Without a validator the client can only compare the bytes just before where it
        # resumes: an edit further back is undetectable by anyone (the README says so).
        plan = [_no_head_edit(step) for step in plan]
    return Scenario(
        size=size,
        seed=draw(st.integers(0, 2**16)),
        connections=connections,
        options=options,
        plan=plan,
        existing=draw(sometimes(st.just(True), False, 4)),
        overwrite=draw(sometimes(st.just(True), False, 4)),
        limit_rate=draw(sometimes(st.sampled_from([20e6, 80e6]), None, 3)),
        interrupt=draw(
            sometimes(
                st.builds(
                    Interrupt,
                    kind=st.sampled_from(["pause", "restart", "crash"]),
                    after=st.integers(1, len(plan) + 1),
                    hold=st.sampled_from([0.0, 0.01]),
                ),
                None,
                2,
            )
        ),
    )


def _no_head_edit(step: Step) -> Step:
    if step.replace is not None and step.replace.kind == "head":
        return replace(step, replace=replace(step.replace, kind="tail"))
    return step


# ----------------------------------------------------------------------------- running


@dataclass
class Outcome:
    state: State
    error: str | None
    name: str | None
    total: int | None
    done: int
    log: list[str]
    retried_state: State | None = None
    retried_error: str | None = None
    loop_errors: list[str] = field(default_factory=list)


class _Collect(logging.Handler):
    """Warnings and errors logged on the client's thread (the server's thread is apart)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.lines.append(f"{record.name}: {record.getMessage()} {record.exc_info or ''}")


async def _download(
    server: FaultServer, scenario: Scenario, path: str, url: str, root: Path
) -> Outcome:
    loop_errors: list[str] = []
    asyncio.get_running_loop().set_exception_handler(
        lambda _loop, context: loop_errors.append(repr(context))
    )
    options = ManagerOptions(
        trust_env=False,
        retries=len(scenario.plan) + 2,
        timeout=3.0,
        progress_interval=0.05,
        fsync=False,
        connections=scenario.connections,
        min_split_size=1,
        overwrite=scenario.overwrite,
        retry_base=0.001,  # tiny backoff, and Retry-After capped, so examples stay fast
        retry_cap=0.01,
        max_retry_after=0.02,
    )
    state = root / "state" / "state.db"
    store = await Store.open(state) if scenario.interrupt else None
    manager = DownloadManager(root / "dl", options=options, store=store)
    await manager.start()
    try:
        download_id = await manager.add(url, limit_rate=scenario.limit_rate)
        if scenario.interrupt is not None:
            manager, store = await _interrupt(
                scenario.interrupt, manager, store, download_id, server, path, state
            )
            (download_id,) = [d.id for d in manager.downloads()]
        await asyncio.wait_for(manager.wait(), RUN_GUARD)
        snap = manager.download(download_id)
        outcome = Outcome(
            snap.state,
            snap.error,
            snap.name,
            snap.total,
            snap.done,
            [entry.message for entry in snap.log],
        )
        if snap.state is State.FAILED:
            server.behave(path)
            await manager.retry(download_id)
            await asyncio.wait_for(manager.wait(), RUN_GUARD)
            again = manager.download(download_id)
            outcome.retried_state, outcome.retried_error = again.state, again.error
            outcome.name, outcome.total, outcome.done = again.name, again.total, again.done
    finally:
        await asyncio.wait_for(manager.close(), RUN_GUARD)
        if store is not None:
            await store.close()
    gc.collect()
    await asyncio.sleep(0)
    outcome.loop_errors = loop_errors
    return outcome


async def _interrupt(
    interrupt: Interrupt,
    manager: DownloadManager,
    store: Store | None,
    download_id: int,
    server: FaultServer,
    path: str,
    state: Path,
) -> tuple[DownloadManager, Store | None]:
    """Once the server has seen ``interrupt.after`` GETs (or the download has ended):
    pause and resume it, or quit and start again from the state file, or do that from
    the state file as it was a moment before (what ``kill -9`` leaves)."""
    while len(server.requests_for(path, "GET")) < interrupt.after:
        if manager.download(download_id).state in (State.COMPLETED, State.FAILED):
            break
        await asyncio.sleep(0.002)
    if interrupt.kind == "pause":
        await manager.pause(download_id)
        await asyncio.sleep(interrupt.hold)
        await manager.resume(download_id)
        return manager, store
    snapshot = state.with_name("snapshot.db")
    if interrupt.kind == "crash":
        await asyncio.to_thread(_backup, state, snapshot)
    await asyncio.wait_for(manager.close(), RUN_GUARD)
    assert store is not None
    await store.close()
    if interrupt.kind == "crash":
        for leftover in state.parent.glob(state.name + "*"):
            leftover.unlink()
        snapshot.rename(state)
    await asyncio.sleep(interrupt.hold)
    store = await Store.open(state)
    manager = DownloadManager(root_of(state) / "dl", options=manager.options, store=store)
    await manager.start()
    return manager, store


def root_of(state: Path) -> Path:
    return state.parent.parent


def _backup(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite file (its last commit), as a crash would leave."""
    live, copy = sqlite3.connect(source), sqlite3.connect(target)
    try:
        live.backup(copy)
    finally:
        copy.close()
        live.close()


def _listing(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes); links are reported as such."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(root))] = b"<symlink>"
        elif path.is_file():
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def check(scenario: Scenario, server: FaultServer) -> None:
    """Run one scenario and assert every invariant of the module docstring."""
    path = f"/s{next(_serial)}/f.bin"
    data = random.Random(scenario.seed).randbytes(scenario.size)
    url = server.add_scripted(path, data, scenario.plan, scenario.options)
    sentinel = b"a file that was here first\n"
    with tempfile.TemporaryDirectory(prefix="afetch-prop-") as tmp:
        root = Path(tmp)
        directory = root / "dl"
        directory.mkdir()
        if scenario.existing:
            (directory / "f.bin").write_bytes(sentinel)
        collect = _Collect()
        logging.getLogger().addHandler(collect)
        try:
            outcome = asyncio.run(_download(server, scenario, path, url, root))
        finally:
            logging.getLogger().removeHandler(collect)
        versions = server.versions(path)
        files = _listing(root)
    final = outcome.retried_state or outcome.state
    context = f"{outcome}\nfiles: {sorted(files)}"

    outside = [name for name in files if not name.startswith(("dl/", "state/"))]
    assert not outside, f"written outside the directory: {outside}\n{context}"
    messages = [m for m in [outcome.error, outcome.retried_error, *outcome.log] if m]
    bad = [m for m in messages if "internal error" in m or "Traceback" in m]
    assert not bad, f"internal errors: {bad}\n{context}"
    assert not outcome.loop_errors, f"unhandled in the loop: {outcome.loop_errors}"
    assert not collect.lines, f"logged: {collect.lines}\n{context}"

    rest = {name[len("dl/") :]: body for name, body in files.items() if name.startswith("dl/")}
    if scenario.existing and not (
        scenario.overwrite and final is State.COMPLETED and outcome.name == "f.bin"
    ):
        assert rest.pop("f.bin", None) == sentinel, f"f.bin changed\n{context}"
    body = None
    if final is State.COMPLETED:
        assert outcome.name is not None
        body = rest.pop(outcome.name, None)
        assert body is not None, f"completed, but no dl/{outcome.name}\n{context}"
        assert any(body == v for v in versions), (
            f"completed with {len(body)} bytes that are no version of the file "
            f"(sizes {[len(v) for v in versions]})\n{context}"
        )
        assert outcome.total == outcome.done == len(body), context
    else:
        assert final in (State.FAILED, State.PAUSED), context
        if outcome.name is not None:
            rest.pop(outcome.name + PART_SUFFIX, None)
    if scenario.interrupt is not None and scenario.interrupt.kind == "crash":
        # The state file is a moment behind the files (the journal batches its writes), so
        # a crash can leave what the run after it no longer knows about: a file named just
        # before the crash (the next run fetches it again as "f (1).bin") or a .part named
        # just before it. Whole copies and .part files, never anything else.
        rest = {
            name: body
            for name, body in rest.items()
            if not (name.endswith(PART_SUFFIX) or any(body == v for v in versions))
        }
    assert not rest, f"files left that are not ours to leave: {sorted(rest)}\n{context}"
    if scenario.expect_completion:
        assert outcome.state is State.COMPLETED, f"gave up on a retryable plan\n{context}"
    if outcome.retried_state is not None:
        assert outcome.retried_state is State.COMPLETED, f"retry failed\n{context}"
        assert body == versions[-1], "a retry against a correct server got an old version"


_serial = iter(range(1, 10**9))


@pytest.fixture(scope="module")
def scripted_server() -> Iterator[FaultServer]:
    """One server for every example; a host's minimum cooldown after a 429/503 (1 s) is
    cut to a few milliseconds so that each example stays fast."""
    with pytest.MonkeyPatch.context() as patch, FaultServer() as srv:
        patch.setattr(hosts, "PUSHBACK_MIN_COOLDOWN", 0.005)
        yield srv


def _settings(connections: int) -> settings:
    if FUZZ_EXAMPLES:
        return settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            database=None,
            print_blob=True,
            suppress_health_check=list(HealthCheck),
        )
    return settings(
        max_examples=CI_EXAMPLES[connections],
        derandomize=True,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )


@_settings(1)
@given(scenario=scenarios(connections=1))
def test_one_connection_never_lies(scripted_server: FaultServer, scenario: Scenario) -> None:
    check(scenario, scripted_server)


@_settings(4)
@given(scenario=scenarios(connections=4))
def test_four_connections_never_lie(scripted_server: FaultServer, scenario: Scenario) -> None:
    check(scenario, scripted_server)


# ---------------------------------------------------- two downloads, one directory

COLLIDING = [None, 'attachment; filename="f.bin"', 'attachment; filename="f.bin.part"']
COLLIDING += ['attachment; filename="f (1).bin"', 'attachment; filename="f.bin.part.part"']


@dataclass(frozen=True)
class Pair:
    """Two downloads at once into one directory, their names drawn to collide."""

    sizes: tuple[int, int]
    dispositions: tuple[str | None, str | None]
    plans: tuple[list[Step], list[Step]]
    existing: bool
    overwrite: bool


pairs = st.builds(
    Pair,
    sizes=st.tuples(*[st.sampled_from([0, 5000, 600 * KIB])] * 2),
    dispositions=st.tuples(*[st.sampled_from(COLLIDING)] * 2),
    plans=st.tuples(*[st.lists(steps(), max_size=3)] * 2),
    existing=st.booleans(),
    overwrite=st.booleans(),
)


async def _download_pair(urls: list[str], pair: Pair, directory: Path) -> list[Outcome]:
    options = ManagerOptions(
        trust_env=False,
        retries=8,
        timeout=3.0,
        fsync=False,
        overwrite=pair.overwrite,
        retry_base=0.001,
        retry_cap=0.01,
        max_retry_after=0.02,
    )
    async with DownloadManager(directory, options=options) as manager:
        ids = await manager.add_many(DownloadSpec(urls))
        await asyncio.wait_for(manager.wait(), RUN_GUARD)
        snaps = [manager.download(i) for i in ids]
    return [
        Outcome(s.state, s.error, s.name, s.total, s.done, [e.message for e in s.log])
        for s in snaps
    ]


def check_pair(pair: Pair, server: FaultServer) -> None:
    """Each download holds its own bytes under its own name; neither touches the other's
    ``.part`` or file, nor a file that was there first (unless ``--overwrite`` replaced it
    with a completed download)."""
    paths = [f"/s{next(_serial)}/f.bin" for _ in range(2)]
    urls = [
        server.add_scripted(
            path,
            random.Random(i).randbytes(size),
            plan,
            ScriptOptions(content_disposition=disposition),
        )
        for i, (path, size, plan, disposition) in enumerate(
            zip(paths, pair.sizes, pair.plans, pair.dispositions, strict=True)
        )
    ]
    sentinel = b"a file that was here first\n"
    with tempfile.TemporaryDirectory(prefix="afetch-pair-") as tmp:
        directory = Path(tmp)
        if pair.existing:
            (directory / "f.bin").write_bytes(sentinel)
        outcomes = asyncio.run(_download_pair(urls, pair, directory))
        files = _listing(directory)
    versions = [server.versions(path) for path in paths]
    context = f"{outcomes}\nfiles: {sorted(files)}"
    completed = [o.name for o in outcomes if o.state is State.COMPLETED]
    assert len(set(completed)) == len(completed), f"two downloads, one name\n{context}"
    rest = dict(files)
    for outcome, own in zip(outcomes, versions, strict=True):
        bad = [m for m in [outcome.error, *outcome.log] if m and "internal error" in m]
        assert not bad, f"internal errors: {bad}\n{context}"
        if outcome.state is State.COMPLETED:
            assert outcome.name is not None
            body = rest.pop(outcome.name, None)
            assert body is not None and any(body == v for v in own), (
                f"{outcome.name} does not hold a version of its own file\n{context}"
            )
        elif outcome.name is not None:
            assert outcome.state is State.FAILED, context
            rest.pop(outcome.name + PART_SUFFIX, None)
    if pair.existing and not (pair.overwrite and "f.bin" in completed):
        assert rest.pop("f.bin", None) == sentinel, f"f.bin changed\n{context}"
    assert not rest, f"files left that are not ours to leave: {sorted(rest)}\n{context}"


@_settings(2)
@given(pair=pairs)
def test_two_downloads_never_take_each_others_bytes(
    scripted_server: FaultServer, pair: Pair
) -> None:
    check_pair(pair, scripted_server)


# --------------------------------------------------- regressions the property test found


async def test_connections_failing_together_leave_no_unretrieved_error() -> None:
    """-x 4, a 200 whose Content-Length claims 3 bytes more than it sends: the first
    connection's payload error and another connection's "file size changed" ended in the
    same wait, one was raised and the other logged as "Task exception was never retrieved"
    (with its traceback). Every failure of a finished connection is now retrieved."""
    seen: list[str] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, ctx: seen.append(ctx["message"]))

    async def fail(message: str) -> None:
        raise ValueError(message)

    tasks = [asyncio.create_task(fail("first")), asyncio.create_task(fail("second"))]
    await asyncio.sleep(0)  # both have failed before anyone waits
    with pytest.raises(ValueError, match="first"):
        await segmented._all_or_first_error(tasks)
    del tasks
    gc.collect()
    assert seen == []


@pytest.mark.parametrize("how", ["pause", "quit"])
async def test_stopping_while_the_name_is_claimed_keeps_the_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A pause or quit arriving while the thread hop that creates ``f.bin.part`` ran left
    that ``.part`` behind, unowned (and, on quit, the name unrecorded): the resumed
    download saved ``f (1).bin`` and the empty ``f.bin.part`` stayed. The claim now
    outlasts the cancel, and the name is recorded either way."""
    real_claim = file_ops.claim
    created, release = threading.Event(), threading.Event()

    def claim_then_hold(*args: Any, **kwargs: Any) -> str:
        name = real_claim(*args, **kwargs)
        created.set()
        release.wait(GUARD)
        return name

    monkeypatch.setattr(file_ops, "claim", claim_then_hold)
    data = random.Random(1).randbytes(600 * KIB)  # streamed, so the name is claimed first
    directory, state = tmp_path / "dl", tmp_path / "state.db"
    options = ManagerOptions(trust_env=False, fsync=False, retry_base=0.001)
    with FaultServer() as server:
        url = server.add_scripted("/f.bin", data, [])
        store = await Store.open(state)
        manager = DownloadManager(directory, options=options, store=store)
        await manager.start()
        download_id = await manager.add(url)
        await asyncio.wait_for(asyncio.to_thread(created.wait, GUARD), GUARD)
        stop = manager.pause(download_id) if how == "pause" else manager.close()
        stopping = asyncio.ensure_future(stop)
        await asyncio.sleep(0.05)  # the transfer is cancelled by now, its thread still holds
        release.set()
        await asyncio.wait_for(stopping, GUARD)
        if how == "pause":
            await manager.resume(download_id)
        else:
            await store.close()
            store = await Store.open(state)
            manager = DownloadManager(directory, options=options, store=store)
            await manager.start()
        await asyncio.wait_for(manager.wait(), GUARD)
        (snap,) = manager.downloads()
        await manager.close()
        await store.close()
    assert (snap.state, snap.name) == (State.COMPLETED, "f.bin")
    assert await asyncio.to_thread(_listing, directory) == {"f.bin": data}


async def test_overwrite_never_replaces_a_file_completed_in_the_same_run(
    tmp_path: Path,
) -> None:
    """Two URLs named alike under ``--overwrite``, the second answered 503 first: it named
    its file after the first had completed (whose name was released then) and replaced
    it, so both ended "completed" with one file between them. A completed download keeps
    its name; the second is saved as ``f (1).bin``."""
    first, second = random.Random(1).randbytes(5000), random.Random(2).randbytes(6000)
    options = ManagerOptions(trust_env=False, fsync=False, overwrite=True, retry_base=0.001)
    with pytest.MonkeyPatch.context() as patch, FaultServer() as server:
        patch.setattr(hosts, "PUSHBACK_MIN_COOLDOWN", 0.005)
        urls = [
            server.add_scripted("/a/f.bin", first, []),
            server.add_scripted("/b/f.bin", second, [Step(status=503)]),
        ]
        async with DownloadManager(tmp_path, options=options) as manager:
            await manager.add_many(DownloadSpec(urls))
            await asyncio.wait_for(manager.wait(), GUARD)
            snaps = manager.downloads()
    assert [(s.state, s.name) for s in snaps] == [
        (State.COMPLETED, "f.bin"),
        (State.COMPLETED, "f (1).bin"),
    ]
    assert await asyncio.to_thread(_listing, tmp_path) == {"f.bin": first, "f (1).bin": second}
