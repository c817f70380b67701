"""Long names that differ in several places stay distinguishable in the table at 80x24."""

from __future__ import annotations

from test_live import until

from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.ui.app import AfetchApp
from afetch_tui.ui.elide import SimilarNames, elide_name
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


SHARD = "dataset-{year}-{region}-{kind}-shard-{n:04d}.parquet"


async def test_names_varying_in_four_fields_all_read_apart_at_80_columns(
    manager: DownloadManager,
) -> None:
    """Year, region, kind and shard all vary: a row's four neighbours cover only some of
    them, and rows that were no one's neighbour read the same (``dat…2023-…raw…0001.
    parquet`` for eu-west and us-east). Each family's fields are kept: no two rows read
    the same, and each keeps its extension."""
    names = [
        SHARD.format(year=year, region=region, kind=kind, n=n)
        for year in (2023, 2024)
        for region in ("eu-west", "us-east")
        for kind in ("raw", "clean")
        for n in (1, 2, 3)
    ]
    await manager.add_many(
        DownloadSpec([f"http://127.0.0.1:9/{name}" for name in names], paused=True)
    )
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(DownloadsTable)
        await until(pilot, lambda: table.row_count == len(names))
        shown = [table.cells_at(i)["name"].plain for i in range(len(names))]
        assert len(set(shown)) == len(names), sorted(shown)
        for name, short in zip(names, shown, strict=True):
            assert len(short) < len(name)
            assert short.endswith(".parquet"), (name, short)


def test_families_with_several_fields_read_apart_at_any_narrow_width() -> None:
    """The elision itself, over two families (four fields each; the second's shapes differ
    by architecture) at the widths a Name column takes from 80 columns up (26 at 80)."""
    kernels = [
        f"linux-{v}-{arch}-{flavour}-image-build{b}.tar.zst"
        for v in ("6.1.102", "6.6.44")
        for arch in ("x86_64", "aarch64", "riscv64")
        for flavour in ("generic", "lowlatency")
        for b in (7, 8)
    ]
    shards = [
        SHARD.format(year=y, region=r, kind=k, n=n)
        for y in (2023, 2024)
        for r in ("eu-west", "us-east")
        for k in ("raw", "clean")
        for n in (1, 2, 3)
    ]
    for names in (kernels, shards, kernels + shards):
        similar = SimilarNames(lambda names=names: names)  # type: ignore[misc]
        similar.reset()
        for width in (20, 24, 28, 34):
            shown = {elide_name(name, width, similar.of(name)) for name in names}
            assert len(shown) == len(names), (width, sorted(shown))
            assert all(len(short) <= width for short in shown)
