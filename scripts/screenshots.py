"""Drive the real dashboard through a realistic scene and save SVG screenshots.

Everything runs on loopback: two FaultServers (127.0.0.1, also reached as ``localhost``,
and 127.0.0.2) serve rate-limited, flaky and missing files to a real DownloadManager.

    python scripts/screenshots.py [OUTPUT_DIR]   # default: screenshots/
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import faultserver  # noqa: E402
from faultserver import FaultServer  # noqa: E402
from textual.widgets import Input, SelectionList, TextArea  # noqa: E402

from afetch_tui.engine.events import Limits, State  # noqa: E402
from afetch_tui.engine.manager import DownloadManager  # noqa: E402
from afetch_tui.engine.options import ManagerOptions  # noqa: E402
from afetch_tui.engine.spec import DownloadSpec  # noqa: E402
from afetch_tui.ui.app import AfetchApp  # noqa: E402
from afetch_tui.ui.widgets.downloads_table import DownloadsTable  # noqa: E402
from afetch_tui.ui.widgets.hosts_panel import HostsPanel  # noqa: E402

SIZE = (160, 45)
MiB = 1024 * 1024


def start_server(host: str) -> FaultServer:
    """A FaultServer bound to `host` (it reads the module's HOST when it starts)."""
    faultserver.HOST = host
    try:
        return FaultServer().start()
    finally:
        faultserver.HOST = "127.0.0.1"


def blob(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def serve(server: FaultServer, host: str, path: str, data: bytes, **options: object) -> str:
    """Register a file and return its URL as reached through `host`."""
    server.add_file(path, data, **options)
    return f"http://{host}:{server.port}{path}"


def populate(a: FaultServer, b: FaultServer) -> list[str]:
    """Files for every state worth showing, in the order they are queued."""
    return [
        serve(
            a,
            "127.0.0.1",
            "/releases/ubuntu-24.04.1-desktop-amd64.iso",
            blob(40 * MiB, 1),
            rate=2.2 * MiB,
        ),
        serve(a, "127.0.0.1", "/pub/linux-6.11.tar.xz", blob(24 * MiB, 2), rate=900_000),
        serve(a, "localhost", "/media/Big_Buck_Bunny_1080p.mov", blob(30 * MiB, 3), rate=600_000),
        serve(b, "127.0.0.2", "/go/go1.23.2.linux-amd64.tar.gz", blob(3 * MiB, 6)),
        serve(
            b,
            "127.0.0.2",
            "/data/dataset-part-07.parquet",
            blob(12 * MiB, 4),
            statuses=[503] * 6,
            retry_after="20",
        ),
        serve(b, "127.0.0.2", "/reports/report-2024-q3.pdf", blob(200_000, 5), statuses=[404] * 10),
        serve(a, "localhost", "/media/sintel-4k.mkv", blob(20 * MiB, 7), rate=500_000),
        serve(a, "127.0.0.1", "/pub/gcc-14.2.0.tar.xz", blob(20 * MiB, 8), rate=700_000),
        serve(b, "127.0.0.2", "/data/dataset-part-08.parquet", blob(8 * MiB, 9), rate=400_000),
        serve(
            a, "127.0.0.1", "/pub/llvm-project-19.1.0.src.tar.xz", blob(20 * MiB, 10), rate=800_000
        ),
        serve(b, "127.0.0.2", "/data/dataset-part-09.parquet", blob(8 * MiB, 11), rate=400_000),
    ]


async def shoot(app: AfetchApp, pilot, out: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause(0.3)
    app.save_screenshot(filename=f"{name}.svg", path=str(out))
    print(f"  {out / name}.svg")


async def scene(out: Path) -> None:
    a, b = start_server("127.0.0.1"), start_server("127.0.0.2")
    urls = populate(a, b)
    page = serve(
        b,
        "127.0.0.2",
        "/iso/",
        (
            "<html><body><h1>Index of /iso/</h1><pre>"
            + "".join(
                f'<a href="{name}">{name}</a>\n'
                for name in (
                    "debian-12.7.0-amd64-netinst.iso",
                    "debian-12.7.0-arm64-netinst.iso",
                    "debian-edu-12.7.0-amd64-netinst.iso",
                    "SHA256SUMS",
                    "SHA256SUMS.sign",
                )
            )
            + '<a href="../">Parent</a><a href="https://www.debian.org/">debian.org</a>'
            + "</pre></body></html>"
        ).encode(),
        content_type="text/html",
    )
    for n, name in enumerate(
        ("debian-12.7.0-amd64-netinst.iso", "debian-12.7.0-arm64-netinst.iso"), start=20
    ):
        serve(b, "127.0.0.2", f"/iso/{name}", blob((6 + n % 3) * MiB, n))
    serve(b, "127.0.0.2", "/iso/debian-edu-12.7.0-amd64-netinst.iso", blob(9 * MiB, 30))
    options = ManagerOptions(
        fsync=False, retries=2, retry_base=0.3, connections=4, min_split_size=16 * MiB
    )
    limits = Limits(max_concurrent=6, max_per_host=6)
    try:
        with tempfile.TemporaryDirectory(prefix="afetch-shots-") as tmp:
            async with DownloadManager(Path(tmp), limits=limits, options=options) as manager:
                await manager.set_host_limit(f"127.0.0.1:{a.port}", 3 * MiB)
                ids = await manager.add_many(DownloadSpec(urls))
                app = AfetchApp(manager, cursor_blink=False)
                async with app.run_test(size=SIZE) as pilot:
                    await pilot.pause(1.0)
                    await manager.pause(ids[2])  # the film: paused part-way
                    await pilot.pause(1.0)
                    await manager.cancel(ids[9])
                    await pilot.pause(7.0)  # let the sparklines fill
                    await shoot(app, pilot, out, "main")
                    states = {d.state for d in manager.downloads()}
                    print("  states shown:", ", ".join(sorted(s.value for s in states)))
                    assert State.DOWNLOADING in states

                    await pilot.resize_terminal(80, 24)  # while it still runs
                    await pilot.pause(0.5)
                    await shoot(app, pilot, out, "narrow-80x24")
                    await pilot.press("slash", *"parquet", "enter", "m", "m")
                    await shoot(app, pilot, out, "narrow-filter-marks")
                    await pilot.press("escape", "escape")
                    table = app.screen.query_one(DownloadsTable)
                    table.select_id(ids[4])  # retrying: the host held, the log says why
                    await pilot.press("enter")
                    await shoot(app, pilot, out, "narrow-details")
                    await pilot.press("enter")
                    await pilot.press("question_mark")
                    await shoot(app, pilot, out, "narrow-help")
                    await pilot.press("escape")
                    await pilot.press("s")
                    await shoot(app, pilot, out, "narrow-settings")
                    await pilot.press("escape")
                    await pilot.resize_terminal(*SIZE)
                    await pilot.pause(0.5)

                    table.select_id(ids[0])  # split over four connections
                    await pilot.press("enter")
                    await shoot(app, pilot, out, "details")
                    table.select_id(ids[4])  # retrying: the log says why
                    await shoot(app, pilot, out, "details-retrying")
                    await pilot.press("enter")

                    await pilot.press("f")
                    await pilot.pause()
                    app.screen.query_one("#page", Input).value = page
                    app.screen.query_one("#match", Input).value = "*.iso"
                    await pilot.press("enter")
                    links = app.screen.query_one("#links", SelectionList)
                    for _ in range(100):
                        if links.option_count and "…" not in str(
                            links.get_option_at_index(0).prompt
                        ):
                            break
                        await pilot.pause(0.05)
                    links.deselect(links.get_option_at_index(1).value)
                    await shoot(app, pilot, out, "add-from-page")
                    await pilot.press("escape")

                    await pilot.press("a")
                    await pilot.pause()
                    app.screen.query_one("#urls", TextArea).text = (
                        "# tonight's mirrors\n"
                        f"http://127.0.0.2:{b.port}/iso/debian-12.7.0-amd64-netinst.iso\n"
                        "ftp://ftp.example.org/pub/old-file.tar.gz\n"
                        f"http://localhost:{a.port}/media/tears-of-steel.mov\n"
                    )
                    await shoot(app, pilot, out, "add-dialog")
                    await pilot.press("escape")

                    await pilot.press("s")
                    await shoot(app, pilot, out, "settings")
                    await pilot.press("escape")

                    app.screen.query_one(HostsPanel).focus()
                    await pilot.press("l")
                    await shoot(app, pilot, out, "host-limit")
                    await pilot.press("escape")

                    await pilot.press("question_mark")
                    await shoot(app, pilot, out, "help")
                    await pilot.press("escape")

                    await manager.pause_all()
    finally:
        a.stop()
        b.stop()


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    print(f"writing screenshots to {out}")
    asyncio.run(scene(out))


if __name__ == "__main__":
    main()
