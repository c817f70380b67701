"""The status bar's queue totals at 80x24: what is left and when it ends, honestly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from faultserver import FaultServer
from painted import screen_lines
from test_live import until

from afetch_tui.engine.events import Limits
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.ui.app import AfetchApp
from afetch_tui.ui.model import Counts
from afetch_tui.ui.widgets.status_bar import render_status


def status_line(app: AfetchApp) -> str:
    return next((line for line in screen_lines(app) if "⇣" in line), "")


async def test_the_queue_eta_says_it_is_partial_while_sizes_are_unknown(
    server: FaultServer, payload, tmp_path: Path
) -> None:
    """One file of five runs (its size known), four wait with no size yet: the status bar
    at 80x24 gives the ETA as a lower bound, 'ETA ≥…' (it read 'ETA 12s' as if for the
    whole queue, its '(+4 unsized)' cut at 80 columns with the rest of the part); once
    every size is known, a plain ETA."""
    urls = [server.add_file(f"/q/{n}.bin", payload(150_000, seed=n), rate=60_000) for n in range(5)]
    options = ManagerOptions(fsync=False, trust_env=False)
    async with DownloadManager(
        tmp_path, limits=Limits(max_concurrent=4), options=options
    ) as manager:
        await manager.add_many(DownloadSpec(urls))
        app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "ETA" in status_line(app), within=10)
            line = status_line(app)
            assert "ETA ≥" in line, line
            assert len(line.rstrip()) <= 80
            await until(pilot, lambda: manager.downloads()[-1].total is not None, within=20)

            def plain_eta() -> bool:
                line = status_line(app)
                return "ETA" in line and "≥" not in line and "unsized" not in line

            await until(pilot, plain_eta)


def test_a_queue_mostly_of_unknown_size_has_no_eta() -> None:
    """8 running with sizes known, 983 not sized yet: 'ETA ≥1s' was true and said
    nothing; it reads 'ETA ? (983 unsized)', in 80 columns."""
    counts = Counts(active=8, queued=983, speed=2.7e6, left=3_000_000, unknown=983)
    line = render_status(counts, Limits(), Path("/tmp"), 80).plain
    assert line.endswith("ETA ? (983 unsized)") and len(line) <= 80, line
    fewer = render_status(replace(counts, queued=6, unknown=6), Limits(), Path("/tmp"), 80)
    assert "ETA ≥1s" in fewer.plain, fewer.plain
