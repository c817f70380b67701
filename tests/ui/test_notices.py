"""Notices at 80x24: the newest shows in one line, in the downloads box's top border, and
no toast covers the hosts panel (or anything else on the dashboard)."""

from __future__ import annotations

from faultserver import FaultServer
from rich.text import Text
from test_live import until
from textual.notifications import Notification
from textual.widgets._toast import Toast

from afetch_tui.engine.events import State
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.spec import DownloadSpec
from afetch_tui.ui.app import AfetchApp
from afetch_tui.ui.notices import notice_line
from afetch_tui.ui.style import ERROR, STATE_LOOK
from afetch_tui.ui.widgets.hosts_panel import HostsPanel


async def test_notices_leave_the_hosts_panel_readable_at_80x24(
    server: FaultServer, manager: DownloadManager, payload
) -> None:
    urls = [server.add_file(f"/n{i}.bin", payload(5000, seed=i)) for i in range(3)]
    urls.append(server.add_status("/gone.bin", 404))
    app = AfetchApp(manager, cursor_blink=False, refresh_hz=20)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await manager.add_many(DownloadSpec(urls))
        box = app.screen.query_one("#downloads-box")

        def title() -> str:
            return Text.from_markup(box.border_title or "").plain

        summary = "Downloads · ✓ 3 completed · ✗ 1 failed · 1x 404 Not Found"
        await until(pilot, lambda: title().startswith(summary), within=15)  # under load too
        assert [d.state for d in manager.downloads()].count(State.COMPLETED) == 3
        assert app._notifications, "the notice is still a notification (its timeout runs)"
        assert not any(toast.visible for toast in app.screen.query(Toast))
        hosts = app.screen.query_one(HostsPanel)
        region = hosts.region
        assert region.height >= 3
        for y in range(region.y, region.bottom):
            for x in range(region.x, region.right):
                widget, _ = app.screen.get_widget_at(x, y)
                assert widget is hosts or hosts in widget.ancestors, (x, y, widget)
        # A notice from an action shows the same way, and goes when it times out.
        app.notify("Copied folder", timeout=0.3)
        await until(pilot, lambda: title().endswith("Copied folder (+1)"))
        await until(pilot, lambda: title().endswith(f"404 Not Found from 127.0.0.1:{server.port}"))
        app.clear_notifications()
        await until(pilot, lambda: title() == "Downloads")


def test_a_summary_colours_each_count_by_its_state() -> None:
    """An error notice for '✓ 3 completed · ✗ 1 failed': the completions stay green."""
    notice = Notification("✓ 3 completed · ✗ 1 failed\n  1x 404 Not Found", severity="error")
    line = notice_line(notice)
    assert line.plain == "✓ 3 completed · ✗ 1 failed · 1x 404 Not Found"

    def colour_at(index: int) -> str:
        styles = [str(span.style) for span in line.spans if span.start <= index < span.end]
        return styles[-1]

    assert colour_at(line.plain.index("3 completed")) == STATE_LOOK[State.COMPLETED].style
    assert colour_at(line.plain.index("1 failed")) == STATE_LOOK[State.FAILED].style
    assert colour_at(line.plain.index("404")) == ERROR


async def test_what_the_command_line_left_out_is_said_on_the_screen(
    manager: DownloadManager,
) -> None:
    """Started again with the same list, the dashboard says what it did not queue again
    (a line on stderr would be hidden under the full screen until it quits)."""
    from afetch_tui.config import listed_notice

    app = AfetchApp(manager, cursor_blink=False, refresh_hz=20, notice=listed_notice(390))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        box = app.screen.query_one("#downloads-box")
        await until(
            pilot,
            lambda: (
                "390 URLs already listed: not queued again (a: add anyway)"
                in Text.from_markup(box.border_title or "").plain
            ),
            within=5,
        )
