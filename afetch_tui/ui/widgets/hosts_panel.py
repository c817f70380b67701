"""The hosts panel: per-host speed, history, health and the host's own rate limit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text

from afetch_tui.engine import HostSnapshot, Limits
from afetch_tui.format import countdown
from afetch_tui.ui.elide import elide_name
from afetch_tui.ui.format import human_rate, human_size, human_speed
from afetch_tui.ui.format import sparkline as draw_sparkline
from afetch_tui.ui.model import Changes, ViewModel
from afetch_tui.ui.style import DIM, ERROR, GOOD, SPARK_STYLE, WARN
from afetch_tui.ui.widgets.columns import ColumnSpec, Layout
from afetch_tui.ui.widgets.live_table import Cells, LiveTable


class HostsPanel(LiveTable):
    """One row per host, in name order (the screen's `l` edits the selected host's limit)."""

    SPECS: ClassVar[tuple[ColumnSpec, ...]] = (
        ColumnSpec("host", "Host", 16, flex=2, max_width=28),
        ColumnSpec("actq", "Act/Q", 7, priority=1, right=True),
        ColumnSpec("conns", "Conn", 5, right=True),
        ColumnSpec("now", "Now", 10, right=True),
        ColumnSpec("history", "Last 60 s", 10, priority=1, flex=3, max_width=60),
        ColumnSpec("speed", "Speed", 9, priority=4, right=True),
        ColumnSpec("bytes", "Bytes", 9, priority=3, right=True),
        ColumnSpec("ok", "Done/Fail", 9, priority=3, right=True),
        ColumnSpec("retries", "Retry", 5, priority=4, right=True),
        ColumnSpec("errors", "429/5xx", 7, priority=2, right=True),
        ColumnSpec("cooldown", "Cool", 5, right=True),
        ColumnSpec("ttfb", "TTFB", 7, priority=5, right=True),
        ColumnSpec("limit", "Limit", 9, right=True),
    )

    def __init__(self, model: ViewModel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model

    @property
    def selected_host(self) -> str | None:
        return self.selected_key

    def row_keys(self) -> Iterable[str]:
        return iter(self.model.hosts)

    def row_cells(self, key: str, layout: Layout) -> Cells:
        return host_cells(self.model.hosts[key], layout, self.model.limits, tuple(self.model.hosts))

    def sync(self, changes: Changes) -> None:
        """Apply host changes from one batch."""
        if self.layout_ is None:
            return
        if changes.reset:
            self.rebuild()
            return
        if len(self._shown) != len(self.model.hosts):  # a new host: keep them in name order
            self.rebuild()
            return
        for host in changes.hosts:
            if host in self.model.hosts:
                self.upsert(host)


def host_cells(
    host: HostSnapshot, layout: Layout, limits: Limits, others: tuple[str, ...] = ()
) -> dict[str, object]:
    """Every cell of one host row, for the columns in `layout` (`others`: the host names
    it must stay distinguishable from)."""
    cells: dict[str, object] = {}
    for key in layout.keys:
        width = layout.width_of(key)
        if key == "host":
            value: object = Text(elide_name(host.host, width, others), style="bold")
        elif key == "actq":
            value = Text(f"{host.active}/{host.queued}", justify="right")
        elif key == "conns":
            # A cap lowered after 429/503 shows with a down arrow until it recovers.
            lowered = host.connection_cap < limits.max_per_host
            full = host.connections >= host.connection_cap > 0
            value = Text(
                f"{host.connections}/{host.connection_cap}{'↓' if lowered else ''}",
                style=WARN if full or lowered else "",
                justify="right",
            )
        elif key == "now":
            value = Text(human_speed(host.speed_now), style="bold", justify="right")
        elif key == "history":
            value = Text(draw_sparkline(host.history[-60:], width), style=SPARK_STYLE)
        elif key == "speed":  # smoothed, as the downloads' Speed
            value = Text(human_speed(host.speed), style=DIM, justify="right")
        elif key == "bytes":
            value = Text(human_size(host.bytes) if host.bytes else "", justify="right")
        elif key == "ok":
            value = Text(str(host.completed), style=GOOD if host.completed else DIM)
            value.append("/")
            value.append(str(host.failed), style=ERROR if host.failed else DIM)
            value.justify = "right"
        elif key == "retries":
            value = Text(str(host.retries or ""), style=WARN, justify="right")
        elif key == "errors":
            pushback = host.status_429 or host.status_5xx
            value = Text(
                f"{host.status_429}/{host.status_5xx}" if pushback else "",
                style=ERROR,
                justify="right",
            )
        elif key == "cooldown":
            value = Text(
                countdown(host.cooldown_remaining) if host.cooldown_remaining > 0 else "",
                style=WARN,
                justify="right",
            )
        elif key == "ttfb":
            value = Text(
                f"{host.ttfb_mean * 1000:.0f} ms" if host.ttfb_mean is not None else "",
                style=DIM,
                justify="right",
            )
        elif key == "limit":
            value = Text(
                human_rate(host.limit_rate),
                style="" if host.limit_rate else DIM,
                justify="right",
            )
        else:
            continue
        cells[key] = value
    return cells
