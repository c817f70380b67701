"""The hosts panel: per-host speed, history, health and the host's own rate limit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from afetch_tui.engine.events import HostSnapshot
from afetch_tui.ui.format import human_duration, human_rate, human_size, human_speed
from afetch_tui.ui.format import sparkline as draw_sparkline
from afetch_tui.ui.model import Changes, ViewModel
from afetch_tui.ui.style import DIM, ERROR, GOOD, SPARK_STYLE, WARN, truncate_middle
from afetch_tui.ui.widgets.columns import ColumnSpec, Layout
from afetch_tui.ui.widgets.live_table import Cells, LiveTable


class HostsPanel(LiveTable):
    """One row per host; `l` edits the selected host's bandwidth limit."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "edit_limit", "Host limit", id="afetch.host_limit"),
    ]

    SPECS: ClassVar[tuple[ColumnSpec, ...]] = (
        ColumnSpec("host", "Host", 14, flex=1, max_width=28),
        ColumnSpec("actq", "Act/Q", 7, priority=1, right=True),
        ColumnSpec("conns", "Conn", 5, priority=2, right=True),
        ColumnSpec("now", "Now", 10, right=True),
        ColumnSpec("history", "Last 60 s", 12, priority=1, flex=3, max_width=60),
        ColumnSpec("avg", "Avg", 10, priority=4, right=True),
        ColumnSpec("bytes", "Bytes", 9, priority=3, right=True),
        ColumnSpec("ok", "Done/Fail", 9, priority=3, right=True),
        ColumnSpec("retries", "Retry", 5, priority=4, right=True),
        ColumnSpec("errors", "429/5xx", 7, priority=2, right=True),
        ColumnSpec("cooldown", "Cool", 6, priority=2, right=True),
        ColumnSpec("ttfb", "TTFB", 7, priority=5, right=True),
        ColumnSpec("limit", "Limit", 10, right=True),
    )

    class EditLimit(Message):
        """The user asked to edit a host's rate limit."""

        def __init__(self, host: str) -> None:
            super().__init__()
            self.host = host

    def __init__(self, model: ViewModel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model

    @property
    def selected_host(self) -> str | None:
        return self.selected_key

    def row_keys(self) -> Iterable[str]:
        return iter(self.model.hosts)

    def row_cells(self, key: str, layout: Layout) -> Cells:
        return host_cells(self.model.hosts[key], layout)

    def sync(self, changes: Changes) -> None:
        """Apply host changes from one batch."""
        if self.layout_ is None:
            return
        if changes.reset:
            self.rebuild()
            return
        for host in changes.hosts:
            if host in self.model.hosts:
                self.upsert(host)

    def action_edit_limit(self) -> None:
        host = self.selected_host
        if host is not None:
            self.post_message(self.EditLimit(host))


def host_cells(host: HostSnapshot, layout: Layout) -> dict[str, object]:
    """Every cell of one host row, for the columns in `layout`."""
    cells: dict[str, object] = {}
    for key in layout.keys:
        width = layout.width_of(key)
        if key == "host":
            value: object = Text(truncate_middle(host.host, width), style="bold")
        elif key == "actq":
            value = Text(f"{host.active}/{host.queued}", justify="right")
        elif key == "conns":
            full = host.connections >= host.connection_cap > 0
            value = Text(
                f"{host.connections}/{host.connection_cap}",
                style=WARN if full else "",
                justify="right",
            )
        elif key == "now":
            value = Text(human_speed(host.speed_now), style="bold", justify="right")
        elif key == "history":
            value = Text(draw_sparkline(host.history[-60:], width), style=SPARK_STYLE)
        elif key == "avg":
            value = Text(human_speed(host.speed_avg), style=DIM, justify="right")
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
                human_duration(host.cooldown_remaining) if host.cooldown_remaining > 0 else "",
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
