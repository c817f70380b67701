"""A failed row says what went wrong first; its details say all of it, at 80x24."""

from __future__ import annotations

from pathlib import Path

from faultserver import FaultServer
from painted import screen_lines
from test_live import until

from afetch_tui.engine.events import Limits, State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.ui.app import AfetchApp
from afetch_tui.ui.widgets.downloads_table import DownloadsTable

REASON = (
    "Forbidden: the signature of this request expired at 2026-12-02T18:00:00Z, "
    "ask the owner for a new link"
)


async def test_a_failed_rows_reason_leads_with_what_went_wrong_and_reads_whole(
    server: FaultServer, tmp_path: Path
) -> None:
    """At 80x24 a refused connection's row reads 'cannot connect: Connection refused'
    (it read 'cannot connect to 127.0.0.1…', the why cut for the host the row names
    already), a 403 with a long reason phrase leads with its status, and that row's
    details show the whole reason, wrapped."""
    forbidden = server.add_raw("/dataset-part-0001-of-0100.parquet", 403, reason=REASON.encode())
    refused = "http://127.0.0.1:9/dataset-part-0002-of-0100.parquet"
    options = ManagerOptions(fsync=False, retries=0, trust_env=False)
    async with DownloadManager(tmp_path, limits=Limits(), options=options) as manager:
        first, _ = await manager.add_many(DownloadSpec([forbidden, refused]))
        await manager.wait()
        assert [d.state for d in manager.downloads()] == [State.FAILED] * 2
        app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.screen.query_one(DownloadsTable)
            await until(pilot, lambda: table.row_count == 2)
            await pilot.pause()
            rows = [line for line in screen_lines(app) if ".parquet" in line]
            assert len(rows) == 2, "\n".join(screen_lines(app))
            assert "✗ 403 Forbidden: the" in rows[0], rows
            assert "✗ cannot connect: Connection" in rows[1], rows
            table.select_id(first)
            await pilot.press("enter")
            await pilot.pause(0.3)
            shown = " ".join(
                line.strip("│ ").strip() for line in screen_lines(app) if line.startswith("│")
            )
            assert f"403 {REASON}" in " ".join(shown.split()), shown
