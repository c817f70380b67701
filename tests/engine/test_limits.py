"""Bandwidth limits: size parsing, the token bucket, and caps measured on real transfers.

The rate tests download from the loopback server (which sends as fast as it can) through a
real manager, and compare bytes / wall time with the cap. The four 5-second cases run at the
same time, each with its own manager, so the file costs about 5 s for them instead of 20.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace

import pytest
from faultserver import FaultServer

from afetch_tui.engine.errors import InputError
from afetch_tui.engine.events import Limits, State
from afetch_tui.engine.limits import BURST_SECONDS, TokenBucket, parse_size, read_size, throttle
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions

KIB = 1024
MIB = 1024 * 1024
TOLERANCE = 0.05
SECONDS = 5.0


def options() -> ManagerOptions:
    return ManagerOptions(trust_env=False, retry_base=0.02, retry_cap=0.1, progress_interval=0.05)


# ------------------------------------------------------------------------ parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2M", 2 * MIB),
        ("500K", 500 * KIB),
        ("500k", 500 * KIB),
        ("1.5MiB", 1.5 * MIB),
        ("1.5MB", 1.5 * MIB),
        ("2M/s", 2 * MIB),
        ("1G", 1024**3),
        ("1000", 1000),
        (" 64 KiB ", 64 * KIB),
        ("0", None),
        ("0K", None),
        ("0.0M", None),
    ],
)
def test_parse_size(text: str, expected: float | None) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "fast", "M", "-1M", "1X", "1.2.3K", "1 M B", "1e6", "K2"])
def test_parse_size_rejects_garbage(text: str) -> None:
    with pytest.raises(InputError, match="--limit-rate"):
        parse_size(text, what="--limit-rate")


# ----------------------------------------------------------------------- TokenBucket


def test_bucket_unlimited_never_waits() -> None:
    bucket = TokenBucket()
    assert bucket.rate is None
    assert bucket.reserve(10**12, time.monotonic()) == 0.0


def test_bucket_rejects_non_positive_rate() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)
    bucket = TokenBucket(100)
    with pytest.raises(ValueError):
        bucket.rate = -5


def test_bucket_starts_with_a_burst_then_charges_debt() -> None:
    bucket = TokenBucket(1000, burst=100)
    now = time.monotonic()
    assert bucket.reserve(100, now) == 0.0  # the initial burst is free
    assert bucket.reserve(100, now) == pytest.approx(0.1, abs=1e-3)  # 100 bytes of debt
    assert bucket.reserve(300, now) == pytest.approx(0.4, abs=1e-3)  # debt accumulates
    # Once the debt is paid off by elapsed time, nothing more to wait.
    assert bucket.reserve(0, now + 0.4) == pytest.approx(0.0, abs=1e-3)


def test_bucket_default_burst_is_a_fraction_of_a_second() -> None:
    bucket = TokenBucket(10_000)
    now = time.monotonic()
    assert bucket.reserve(10_000 * BURST_SECONDS, now) == 0.0
    assert bucket.reserve(1000, now) == pytest.approx(0.1, abs=1e-3)


def test_bucket_refill_is_capped_at_the_burst() -> None:
    bucket = TokenBucket(1000, burst=100)
    now = time.monotonic()
    # A long idle spell does not bank more than one burst.
    assert bucket.reserve(100, now + 60) == 0.0
    assert bucket.reserve(500, now + 60) == pytest.approx(0.5, abs=1e-3)


def test_bucket_long_run_rate_is_exact() -> None:
    """Chunks larger than the burst, sleeping as told: the long-run rate is the rate."""
    bucket = TokenBucket(1000, burst=50)
    start = now = time.monotonic()
    total = 0
    for _ in range(200):
        now += bucket.reserve(123, now)
        total += 123
    assert total / (now - start) == pytest.approx(1000 * total / (total - 50), rel=1e-3)


def test_bucket_rate_change_applies_to_the_next_reservation() -> None:
    bucket = TokenBucket(1000, burst=100)
    now = time.monotonic()
    bucket.reserve(100, now)
    assert bucket.reserve(1000, now) == pytest.approx(1.0, abs=0.01)
    bucket.rate = 2000  # the 1000-byte debt is now paid twice as fast
    assert bucket.reserve(0, now) == pytest.approx(0.5, abs=0.01)
    bucket.rate = 500
    assert bucket.reserve(0, now) == pytest.approx(2.0, abs=0.02)


def test_bucket_from_unlimited_to_limited_and_back() -> None:
    bucket = TokenBucket()
    bucket.rate = 1000
    now = time.monotonic()
    assert bucket.reserve(1000 * BURST_SECONDS, now) == 0.0  # becomes limited with a full burst
    assert bucket.reserve(500, now) > 0.4
    bucket.rate = None
    assert bucket.reserve(10**9, now) == 0.0


async def test_throttle_sleeps_for_the_slowest_bucket() -> None:
    fast = TokenBucket(1_000_000, burst=1)
    slow = TokenBucket(1000, burst=1)
    unlimited = TokenBucket()
    started = time.monotonic()
    await throttle((fast, slow, unlimited), 201)  # slow: 200 bytes of debt = 0.2 s
    assert 0.18 <= time.monotonic() - started < 0.5


def test_read_size_follows_the_widest_cap_within_a_second_of_the_tightest() -> None:
    assert read_size([TokenBucket()], 4 * MIB) == 4 * MIB
    assert read_size([TokenBucket(), TokenBucket(10 * MIB)], 4 * MIB) == MIB
    # under a shared 10M cap a transfer capped at 1M reads what the others read (fair share)
    assert read_size([TokenBucket(10 * MIB), TokenBucket(MIB)], 4 * MIB) == MIB
    # but never more than a second of its own cap at once
    assert read_size([TokenBucket(100 * MIB), TokenBucket(100 * KIB)], 4 * MIB) == 100 * KIB
    assert read_size([TokenBucket(1000)], 4 * MIB) == 16 * KIB  # never absurdly small


# ------------------------------------------------------------- caps on real transfers


@dataclass
class Measured:
    name: str
    cap: float
    rate: float
    seconds: float

    @property
    def error(self) -> float:
        return self.rate / self.cap - 1

    def __str__(self) -> str:
        return (
            f"{self.name}: {self.rate / MIB:.4f} MiB/s for a cap of {self.cap / MIB:.4f} MiB/s "
            f"({self.error:+.2%}) over {self.seconds:.2f} s"
        )


async def _measure(
    server: FaultServer,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    cap: float,
    urls: list[str],
    limits: Limits,
    limit_rate: float | None = None,
) -> Measured:
    directory = tmp_path_factory.mktemp(name)
    started = time.monotonic()
    async with DownloadManager(directory, options=options(), limits=limits) as m:
        ids = [await m.add(url, limit_rate=limit_rate) for url in urls]
        await asyncio.wait_for(m.wait(), SECONDS * 3)
        snaps = [m.download(i) for i in ids]
    elapsed = time.monotonic() - started
    assert all(s.state is State.COMPLETED for s in snaps), snaps
    return Measured(name, cap, sum(s.done for s in snaps) / elapsed, elapsed)


async def test_caps_hold_within_5_percent_over_5_seconds(
    server: FaultServer, payload, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Global, per-host, per-download, and a global cap shared by two downloads."""
    cap = 1 * MIB
    size = int(cap * SECONDS)
    one = server.add_file("/one.bin", payload(size, seed=1))
    half_a = server.add_file("/half-a.bin", payload(size // 2, seed=2))
    half_b = server.add_file("/half-b.bin", payload(size // 2, seed=3))
    results = await asyncio.gather(
        _measure(server, tmp_path_factory, "global", cap, [one], Limits(rate=cap)),
        _measure(
            server, tmp_path_factory, "per-host-shared", cap, [half_a, half_b],
            Limits(rate_per_host=cap),
        ),
        _measure(server, tmp_path_factory, "per-download", cap, [one], Limits(), cap),
        _measure(
            server, tmp_path_factory, "global-shared", cap, [half_a, half_b], Limits(rate=cap)
        ),
    )  # fmt: skip
    report = "\n".join(str(r) for r in results)
    print(report)
    for result in results:
        assert abs(result.error) <= TOLERANCE, report
        assert result.seconds >= SECONDS * (1 - TOLERANCE), report


async def test_per_download_cap_leaves_other_downloads_alone(
    server: FaultServer, payload, tmp_path
) -> None:
    capped = server.add_file("/capped.bin", payload(1 * MIB, seed=4))
    free = server.add_file("/free.bin", payload(8 * MIB, seed=5))
    async with DownloadManager(tmp_path, options=options()) as m:
        slow = await m.add(capped, limit_rate=512 * KIB)
        fast = await m.add(free)
        assert m.download(slow).limit_rate == 512 * KIB
        await asyncio.wait_for(m.wait(), 10)
        snaps = {d.id: d for d in m.downloads()}
    assert snaps[fast].finished_at is not None and snaps[slow].finished_at is not None
    # 8 MiB unlimited on loopback finishes well before 1 MiB at 512 KiB/s (~2 s).
    assert snaps[fast].finished_at < snaps[slow].finished_at - 1.0
    assert snaps[slow].finished_at - snaps[slow].added_at >= 1.8


async def _rate_over(m: DownloadManager, download_id: int, seconds: float) -> float:
    before, t0 = m.download(download_id).done, time.monotonic()
    await asyncio.sleep(seconds)
    return (m.download(download_id).done - before) / (time.monotonic() - t0)


async def test_live_rate_change_changes_the_observed_rate(
    server: FaultServer, payload, tmp_path
) -> None:
    data = payload(16 * MIB, seed=6)
    url = server.add_file("/live.bin", data)
    low, high, lower = 512 * KIB, 2 * MIB, 256 * KIB
    async with DownloadManager(tmp_path, options=options(), limits=Limits(rate=low)) as m:
        download_id = await m.add(url)
        await server.wait_for(lambda: m.download(download_id).done > 0)
        await asyncio.sleep(0.2)
        first = await _rate_over(m, download_id, 1.0)
        assert (await m.set_limits(replace(m.limits, rate=high))).rate == high
        await asyncio.sleep(0.2)
        second = await _rate_over(m, download_id, 1.0)
        await m.set_limits(replace(m.limits, rate=lower))
        await asyncio.sleep(0.6)  # the last chunk read at the high rate is paid off first
        third = await _rate_over(m, download_id, 1.0)
        await m.set_limits(replace(m.limits, rate=None))
        await asyncio.wait_for(m.wait(), 10)
        assert m.download(download_id).state is State.COMPLETED
    figures = f"{first / KIB:.0f} → {second / KIB:.0f} → {third / KIB:.0f} KiB/s"
    print(figures)
    assert first == pytest.approx(low, rel=0.15), figures
    assert second == pytest.approx(high, rel=0.15), figures
    assert third == pytest.approx(lower, rel=0.2), figures
    assert (tmp_path / "live.bin").read_bytes() == data


async def test_live_per_download_limit_change(server: FaultServer, payload, tmp_path) -> None:
    url = server.add_file("/dl.bin", payload(8 * MIB, seed=7))
    async with DownloadManager(tmp_path, options=options()) as m:
        download_id = await m.add(url, limit_rate=256 * KIB)
        await server.wait_for(lambda: m.download(download_id).done > 0)
        await asyncio.sleep(0.2)
        first = await _rate_over(m, download_id, 0.8)
        await m.set_download_limit(download_id, 1 * MIB)
        assert m.download(download_id).limit_rate == 1 * MIB
        await asyncio.sleep(0.2)
        second = await _rate_over(m, download_id, 0.8)
        await m.set_download_limit(download_id, None)
        await asyncio.wait_for(m.wait(), 10)
    assert first == pytest.approx(256 * KIB, rel=0.2)
    assert second == pytest.approx(1 * MIB, rel=0.2)


async def test_bad_limits_are_refused(tmp_path) -> None:
    with pytest.raises(InputError):
        DownloadManager(tmp_path, options=options(), limits=Limits(rate=0))
    async with DownloadManager(tmp_path, options=options()) as m:
        for change in ({"rate": -1}, {"max_concurrent": 0}, {"max_per_host": 0}):
            with pytest.raises(InputError):
                await m.set_limits(replace(m.limits, **change))
        assert m.limits == Limits()
        with pytest.raises(InputError):
            await m.add("http://127.0.0.1:9/x", limit_rate=0)
        assert m.downloads() == []
