"""The downloads table: one line per download shown, painted only where it is visible.

A `DataTable` keeps a row object per row and `remove_row` costs O(rows): with 100,000
downloads building it takes many seconds and every removal stalls. This table keeps no
rows of its own. It reads the view model's list of shown ids and renders the lines on
screen (Textual's Line API), caching each line until what it shows changes.
"""

from __future__ import annotations

import re
import time
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from afetch_tui.engine import DownloadSnapshot, State
from afetch_tui.ui.elide import elide_name, truncate_middle
from afetch_tui.ui.format import human_duration, human_size, human_speed, percent, progress_bar
from afetch_tui.ui.format import sparkline as draw_sparkline
from afetch_tui.ui.model import Changes, DownloadRow, ViewModel, display_name
from afetch_tui.ui.style import (
    BAR_STYLE,
    DIM,
    ERROR,
    SPARK_STYLE,
    STATE_LOOK,
    TRACK_STYLE,
    WARN,
)
from afetch_tui.ui.widgets.columns import ColumnSpec, Layout, choose_layout

PADDING = 1
"""Cells of padding on each side of a column."""

MARK = "●"

CELL_CACHE = 20_000
"""Rendered cells kept (by what they show) for building lines."""

LINE_CACHE = 2000
"""Rendered lines kept across reloads (each is checked against what it shows before use):
Escape back from a filter or a sort finds the lines it showed before."""


class DownloadsTable(ScrollView, can_focus=True):
    """Every shown download with its progress, speed, trend, ETA and state (or why it waits)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "downloads--header",
        "downloads--cursor",
        "downloads--marked",
    }

    DEFAULT_CSS = """
    DownloadsTable {
        background: transparent;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 0;
    }
    DownloadsTable > .downloads--header { color: $text-muted; text-style: bold; }
    DownloadsTable > .downloads--cursor { background: $primary 18%; }
    DownloadsTable:focus > .downloads--cursor { background: $primary 45%; }
    DownloadsTable > .downloads--marked { background: $accent 15%; }
    """

    SPECS: ClassVar[tuple[ColumnSpec, ...]] = (
        ColumnSpec("mark", "", 1),
        ColumnSpec("pos", "#", 3, priority=6, right=True),
        ColumnSpec("name", "Name", 22, flex=6, max_width=72),
        ColumnSpec("host", "Host", 14, priority=4, flex=1, max_width=24),
        ColumnSpec("size", "Size", 9, priority=2, right=True),
        ColumnSpec("progress", "Progress", 10, priority=3, flex=2, max_width=30),
        ColumnSpec("percent", "%", 5, right=True),
        ColumnSpec("speed", "Speed", 10, right=True),
        ColumnSpec("now", "Now", 10, priority=7, right=True),
        ColumnSpec("trend", "Trend", 10, priority=5),
        ColumnSpec("eta", "ETA", 5, priority=2, right=True),
        ColumnSpec("state", "State", 18, flex=1, max_width=30),
        ColumnSpec("retries", "Retry", 5, priority=4, right=True),
    )

    cursor = reactive(0, always_update=True, init=False, repaint=False)
    """The index (into the shown rows) of the highlighted row."""

    class Highlighted(Message):
        """The cursor moved to another download (or to none)."""

        def __init__(self, download_id: int | None) -> None:
            super().__init__()
            self.download_id = download_id

    class Selected(Message):
        """Enter or a click on the highlighted row."""

        def __init__(self, download_id: int | None) -> None:
            super().__init__()
            self.download_id = download_id

    def __init__(self, model: ViewModel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self.layout_: Layout | None = None
        self._ids: list[int] = []
        self._lines: dict[int, tuple[tuple[object, ...], Strip]] = {}
        self._header: tuple[tuple[object, ...], Strip] | None = None
        self._cells: dict[tuple[object, ...], list[Segment]] = {}
        self._selected: int | None = None
        self._last_selected: int | None = None
        """The download the cursor was last on (kept while a filter shows nothing)."""

    # -- what is shown ---------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._ids)

    @property
    def cursor_row(self) -> int:
        return self.cursor

    @property
    def shown_ids(self) -> list[int]:
        return list(self._ids)

    @property
    def selected_id(self) -> int | None:
        """The id of the download under the cursor."""
        if 0 <= self.cursor < len(self._ids):
            return self._ids[self.cursor]
        return None

    def cells_at(self, index: int) -> dict[str, Text]:
        """What the shown row at `index` says, by column (for tests and tools)."""
        layout = self.layout_
        row = self.model.rows[self._ids[index]] if layout and index < len(self._ids) else None
        if row is None or layout is None:
            return {}
        cells = download_cells(
            row,
            self.model.position(row.snap.id),
            layout,
            self._neighbour_names(index),
            self.model.waiting(row.snap),
            row.snap.id in self.model.marks,
        )
        return {key: value for key, value in cells.items() if isinstance(value, Text)}

    def painted(self, download_id: int) -> tuple[DownloadSnapshot, bool] | None:
        """What the line last painted for a download showed: the snapshot it was drawn
        from and whether it had the cursor (None if none was painted; for tests and tools)."""
        line = self._lines.get(download_id)
        if line is None:
            return None
        snap, _, _, _, cursor, *_ = line[0]
        assert isinstance(snap, DownloadSnapshot) and isinstance(cursor, bool)
        return snap, cursor

    def select_id(self, download_id: int) -> None:
        """Move the cursor to this download, if it is shown."""
        index = self._index_of(download_id)
        if index is not None:
            self.cursor = index

    def select_key(self, key: str) -> None:
        self.select_id(int(key))

    def move_cursor(self, *, row: int) -> None:
        self.cursor = row

    def _index_of(self, download_id: int) -> int | None:
        """Where a download is shown (a scan in C: cheaper than a map rebuilt per reload)."""
        try:
            return self._ids.index(download_id)
        except ValueError:
            return None

    def sync(self, changes: Changes) -> None:
        """Follow one batch of view-model changes; repaint only the lines they touch."""
        if changes.reset or changes.added or changes.removed or changes.order or changes.view:
            self._reload()
        if changes.reset:
            self._lines.clear()
        if changes.reset or changes.names or changes.view:
            self.refresh()  # a name is elided against its neighbours
            return
        self._refresh_visible(changes.dirty)

    def _refresh_visible(self, dirty: set[int]) -> None:
        """Repaint the visible lines of `dirty` rows, and of waiting rows (why they wait
        reads the time, the hosts, the limits and how many run). A tick that repainted
        every line spent most of the dashboard's time re-checking lines that had not
        changed."""
        top = round(self.scroll_y)
        rows = self.model.rows
        waiting = (State.QUEUED, State.RETRYING)
        for index in range(top, min(len(self._ids), top + self._visible_rows())):
            download_id = self._ids[index]
            row = rows.get(download_id)
            if download_id in dirty or (row is not None and row.state in waiting):
                self.refresh_line(index + 1)  # line 0 is the header

    def _reload(self) -> None:
        """Take the shown ids from the model, keeping the cursor on its download."""
        selected = self._selected if self._selected is not None else self._last_selected
        self._ids = self.model.shown()
        self.virtual_size = Size(self.size.width, len(self._ids) + 1)
        index = self._index_of(selected) if selected is not None else None
        if index is None:
            # the selected download left the view: stay at the same place in the list
            index = min(self.cursor, len(self._ids) - 1)
        self._set_cursor(max(0, index))
        if len(self._lines) > LINE_CACHE:
            self._lines.clear()

    # -- cursor and scrolling --------------------------------------------------------

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self._ids) - 1)) if self._ids else 0

    def watch_cursor(self, before: int, value: int) -> None:
        self._set_cursor(value, before)

    def _set_cursor(self, value: int, before: int | None = None) -> None:
        """Put the cursor on the row at `value`, repainting only the lines that changed
        (`before`: where it was, if the reactive has already moved it)."""
        value = self.validate_cursor(value)
        if before is None:
            before = self.cursor
        if self.cursor != value:
            self.set_reactive(DownloadsTable.cursor, value)
        if self._scroll_to_cursor():
            self.refresh()
        else:  # only the line the cursor left and the one it is on
            self.refresh_line(before + 1)
            self.refresh_line(value + 1)
        selected = self.selected_id
        if selected != self._selected:
            self._selected = selected
            if selected is not None:
                self._last_selected = selected
            self.post_message(self.Highlighted(selected))

    def _visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> bool:
        """Scroll so the cursor's row is visible; whether that scrolled."""
        visible = self._visible_rows()
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)
        else:
            return False
        return True

    def action_cursor(self, step: int) -> None:
        self.cursor += step

    def action_page(self, direction: int) -> None:
        self.cursor += direction * max(1, self.scrollable_content_region.height - 2)

    def action_first(self) -> None:
        self.cursor = 0

    def to_top(self) -> None:
        """The cursor on the first row and the view at the top (a new order or filter:
        its best rows are first)."""
        self.cursor = 0
        self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()

    def action_last(self) -> None:
        self.cursor = len(self._ids) - 1

    def action_select(self) -> None:
        self.post_message(self.Selected(self.selected_id))

    async def _on_click(self, event: events.Click) -> None:
        row = round(self.scroll_y) + event.y - 1
        if event.y >= 1 and 0 <= row < len(self._ids):
            if row == self.cursor and event.chain > 1:
                self.post_message(self.Selected(self.selected_id))
            self.cursor = row

    # -- layout ----------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self.relayout()

    def relayout(self) -> None:
        """Choose the columns for the current width.

        The scrollbar's column is always left out, shown or not: it comes and goes with
        the table's height (the details pane opening, a longer list), and columns chosen
        with it dropped the Size column at 80 cells and never brought it back."""
        width = self.size.width - self.styles.gutter.width - self.styles.scrollbar_size_vertical
        if width <= 0:
            return
        layout = choose_layout(self.SPECS, width, PADDING)
        if layout != self.layout_:
            self.layout_ = layout
            self._lines.clear()
            self._header = None
        self._reload()
        self.refresh()

    # -- rendering -------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        layout = self.layout_
        if layout is None:
            return Strip.blank(width, base)
        if y == 0:
            return self._header_strip(layout, width)
        index = round(self.scroll_y) + y - 1
        if not 0 <= index < len(self._ids):
            return Strip.blank(width, base)
        download_id = self._ids[index]
        row = self.model.rows.get(download_id)
        if row is None:
            return Strip.blank(width, base)
        cursor = index == self.cursor
        marked = download_id in self.model.marks
        neighbours = self._neighbour_names(index)
        now = time.time()
        snap = row.snap
        reason = self.model.waiting(snap, now)
        key = (
            snap,
            row.ticks,
            reason,
            marked,
            cursor,
            cursor and self.has_focus,  # focus shows on the cursor's line only
            neighbours,
            layout,
            width,
            self.model.position(download_id) if "pos" in layout.keys else 0,
        )
        cached = self._lines.get(download_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        cells = download_cells(
            row, self.model.position(download_id), layout, neighbours, reason, marked
        )
        if cursor:
            style = self.get_component_rich_style("downloads--cursor")
        elif marked:
            style = self.get_component_rich_style("downloads--marked")
        else:
            style = Style()
        strip = self._strip(cells, layout, width, base + style)
        self._lines[download_id] = (key, strip)
        return strip

    def _neighbour_names(self, index: int) -> tuple[str, ...]:
        """The names this row's name must stay distinguishable from."""
        row = self.model.rows.get(self._ids[index])
        return self.model.similar_names(row.label) if row else ()

    def _header_strip(self, layout: Layout, width: int) -> Strip:
        key = (layout, width, self.model.sort)
        if self._header is not None and self._header[0] == key:
            return self._header[1]
        sorted_column = self.model.sort.column
        cells: dict[str, object] = {}
        for spec, _ in layout.columns:
            label = spec.label
            if spec.key == sorted_column:
                label += "▼" if spec.key in ("size", "percent", "speed") else "▲"
            cells[spec.key] = Text(label, justify="right" if spec.right else "left")
        style = self.rich_style + self.get_component_rich_style("downloads--header")
        strip = self._strip(cells, layout, width, style)
        self._header = (key, strip)
        return strip

    def _strip(self, cells: dict[str, object], layout: Layout, width: int, style: Style) -> Strip:
        """One line: each cell cut to its column and padded, then the row's style."""
        segments: list[Segment] = []
        columns = spill_state(cells, layout)
        for spec, column_width in columns:
            cell = cells.get(spec.key)
            text = cell if isinstance(cell, Text) else Text(str(cell or ""))
            segments += self._cell_segments(text, column_width, spec.right)
        strip = Strip(Segment.simplify(segments)).crop_extend(0, width, None)
        return strip.apply_style(style)

    def _cell_segments(self, text: Text, width: int, right: bool) -> list[Segment]:
        """A cell's segments with its padding, kept while the same text is shown: most
        cells of a line (name, host, size, state) stay the same when its progress moves."""
        key = (text.plain, text.style, tuple(text.spans), text.justify, width, right)
        cached = self._cells.get(key)
        if cached is not None:
            return cached
        text = text.copy()
        text.truncate(width, overflow="ellipsis")
        gap = " " * (width - text.cell_len)
        pad = " " * PADDING
        line = Text(no_wrap=True, overflow="crop")
        line.append(pad)
        if right or text.justify == "right":
            line.append(gap)
            line.append_text(text)
        else:
            line.append_text(text)
            line.append(gap)
        line.append(pad)
        segments = list(line.render(self.app.console))
        if len(self._cells) >= CELL_CACHE:
            self._cells.clear()
        self._cells[key] = segments
        return segments


SPILL = frozenset({"speed", "now", "trend", "eta"})
"""Columns that are blank unless a download runs: a longer state text (a failure's
reason) may take their room."""


def spill_state(cells: dict[str, object], layout: Layout) -> tuple[tuple[ColumnSpec, int], ...]:
    """The row's columns, the state's widened over the blank `SPILL` columns just before
    it when its text is longer than its own column (a failure's reason at 80 cells, where
    Name has no room to give: the State column starts there for this row only)."""
    columns = layout.columns
    state = cells.get("state")
    keys = layout.keys
    if not isinstance(state, Text) or "state" not in keys:
        return columns
    at = keys.index("state")
    room = columns[at][1]
    if state.cell_len <= room:
        return columns
    start = at
    while start > 0 and keys[start - 1] in SPILL:
        cell = cells.get(keys[start - 1])
        if cell is not None and (not isinstance(cell, Text) or cell.plain.strip()):
            break
        start -= 1
        room += columns[start][1] + 2 * PADDING
        if state.cell_len <= room:
            break
    if start == at:
        return columns
    return (*columns[:start], (columns[at][0], room), *columns[at + 1 :])


def download_cells(
    row: DownloadRow,
    position: int,
    layout: Layout,
    neighbours: tuple[str, ...] = (),
    reason: str | None = None,
    marked: bool = False,
) -> dict[str, object]:
    """Every cell of one download row, for the columns in `layout`."""
    snap = row.snap
    state = snap.state
    running = state.is_running
    cells: dict[str, object] = {}
    for key in layout.keys:
        width = layout.width_of(key)
        if key == "mark":
            value: object = Text(MARK if marked else "", style="bold #bc8cff")
        elif key == "pos":
            value = Text(str(position + 1), style=DIM, justify="right")
        elif key == "name":
            style = "" if snap.name else "italic"
            if state is State.CANCELLED:
                style += " strike"
            name = elide_name(display_name(snap), width, neighbours)
            value = Text(name, style=style.strip())
        elif key == "host":
            value = Text(truncate_middle(snap.host, width), style=DIM)
        elif key == "size":
            value = Text(human_size(snap.total) if snap.total else "?", justify="right")
        elif key == "progress":
            value = _bar(snap, width)
        elif key == "percent":
            value = Text(percent(snap.fraction), justify="right")
        elif key == "speed":
            value = Text(human_speed(snap.speed) if running else "", justify="right")
        elif key == "now":
            value = Text(human_speed(snap.speed_now) if running else "", justify="right")
        elif key == "trend":
            value = Text(draw_sparkline(row.samples or (), width), style=SPARK_STYLE)
        elif key == "eta":
            value = Text(human_duration(snap.eta) if running else "", justify="right")
        elif key == "state":
            value = state_cell(snap, reason)
        elif key == "retries":
            value = Text(str(snap.retries) if snap.retries else "", style=WARN, justify="right")
        else:
            continue
        cells[key] = value
    return cells


def state_cell(snap: DownloadSnapshot, reason: str | None = None) -> Text:
    """The state word, why a download waits, or a failure's short reason."""
    look = STATE_LOOK[snap.state]
    if reason is not None:
        icon = look.icon
        if reason.startswith("retry in"):
            return Text(f"{icon} {reason}", style=WARN)
        return Text(f"{icon} {reason}", style=look.style)
    if snap.state is State.FAILED and snap.error and snap.checksum_ok is not False:
        text = Text(f"{look.icon} ", style=look.style)
        text.append(short_reason(snap.error, snap.host), style=ERROR)
        return text
    return Text(f"{look.icon} {_state_word(snap)}", style=look.style)


def short_reason(error: str, host: str) -> str:
    """A failure's reason without the host it names (the row's own; the details pane
    keeps the whole message), so what went wrong comes first and why right after it:
    `404 Not Found from host` reads `404 Not Found`, `cannot connect to host (addresses):
    Connection refused` reads `cannot connect: Connection refused`."""
    named = rf" (?:from|by|to|with) {re.escape(host)}(?: \([^)]*\))?"
    return re.sub(named, "", error, count=1)


def _state_word(snap: DownloadSnapshot) -> str:
    """The state, or how the checksum went once it is known."""
    if snap.checksum_ok is True and snap.state is State.COMPLETED:
        return "verified"
    if snap.checksum_ok is False and snap.state is State.FAILED:
        return "bad checksum"
    return STATE_LOOK[snap.state].word


def _bar(snap: DownloadSnapshot, width: int) -> Text:
    done, rest = progress_bar(snap.fraction, width)
    text = Text(done, style=BAR_STYLE[snap.state])
    text.append(rest, style=TRACK_STYLE)
    return text
