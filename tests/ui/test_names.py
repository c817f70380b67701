"""Long names that differ in several places stay distinguishable in the table at 80x24."""

from __future__ import annotations

from test_live import until

from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.ui.app import AfetchApp
from afetch_tui.ui.widgets.downloads_table import DownloadsTable

RELEASE = "ubuntu-24.04.1-desktop-{arch}-very-long-release-name.iso.part{n}"


async def test_rows_differing_early_and_late_all_read_apart_at_80_columns(
    manager: DownloadManager,
) -> None:
    """amd64/arm64 with part1..3: each row has several neighbours that differ from it, one
    in the middle (the architecture), others at the end (the part). Every shown name keeps
    both differences and the extension, so no two rows read the same."""
    names = [RELEASE.format(arch=a, n=n) for n in (1, 2, 3) for a in ("amd64", "arm64")]
    await manager.add_many(
        DownloadSpec([f"http://127.0.0.1:9/{name}" for name in names], paused=True)
    )
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == len(names))
        shown = [table.cells_at(i)["name"].plain for i in range(len(names))]
        assert len(set(shown)) == len(names), shown
        for name, short in zip(names, shown, strict=True):
            assert len(short) < len(name)  # shortened, not shown whole
            arch = "amd64" if "amd64" in name else "arm64"
            assert arch in short, (name, short)
            assert short.endswith(name[-6:]), (name, short)  # .partN
