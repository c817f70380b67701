"""A DataTable with fixed column widths that repaints only the cells that changed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.timer import Timer
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from afetch_tui.ui.widgets.columns import ColumnSpec, Layout, choose_layout

Cells = Mapping[str, Any]

RELAYOUT_DELAY = 0.1
"""Seconds a resize must settle before the columns are chosen again."""


class LiveTable(DataTable[Any]):
    """Base for tables fed from the view model.

    Subclasses set ``SPECS`` and implement `row_cells` (one row's cells for a layout) and
    `row_keys` (every row key, in display order). Column widths are fixed, so updates
    never re-measure the column (`update_width=False`); a resize that changes which
    columns fit rebuilds the table once.
    """

    SPECS: ClassVar[tuple[ColumnSpec, ...]] = ()
    SCROLLBAR_ALLOWANCE: ClassVar[int] = 2

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            id=id,
            classes=classes,
            cursor_type="row",
            zebra_stripes=False,
            cell_padding=1,
            cursor_foreground_priority="renderable",
        )
        self.layout_: Layout | None = None
        self._shown: dict[str, dict[str, Any]] = {}
        self._relayout_timer: Timer | None = None
        self._cell_cache: dict[tuple[Any, Any], tuple[object, tuple[Any, ...], Any]] = {}

    # -- to implement ----------------------------------------------------------------

    def row_keys(self) -> Iterable[str]:
        """Every row key in display order."""
        raise NotImplementedError

    def row_cells(self, key: str, layout: Layout) -> Cells:
        """The cells of one row, by column key."""
        raise NotImplementedError

    # -- layout --------------------------------------------------------------------

    def _on_resize(self, event: events.Resize) -> None:
        super()._on_resize(event)
        if self.layout_ is None:
            self.relayout()
            return
        # A resize drag sends many events: rebuild once it settles.
        if self._relayout_timer is not None:
            self._relayout_timer.stop()
        self._relayout_timer = self.set_timer(RELAYOUT_DELAY, self.relayout)

    def relayout(self, force: bool = False) -> None:
        """Choose columns for the current width; rebuild if the choice changed."""
        width = self.size.width - self.SCROLLBAR_ALLOWANCE
        if width <= 0:
            return
        layout = choose_layout(self.SPECS, width, self.cell_padding)
        if force or layout != self.layout_:
            self.layout_ = layout
            self.rebuild()

    def rebuild(self) -> None:
        """Recreate every column and row, keeping the cursor on the same row."""
        layout = self.layout_
        if layout is None:
            return
        selected = self.selected_key
        self.clear(columns=True)
        self._shown.clear()
        self._cell_cache.clear()
        for spec, width in layout.columns:
            label = Text(spec.label, justify="right" if spec.right else "left")
            self.add_column(label, width=width, key=spec.key)
        for key in self.row_keys():
            self._add(key, layout)
        if selected is not None:
            self.select_key(selected)

    # -- rows ----------------------------------------------------------------------

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:
            return None
        return row_key.value

    def select_key(self, key: str) -> None:
        """Move the cursor to the row with this key (if it exists)."""
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return
        self.move_cursor(row=index, animate=False, scroll=True)

    def _add(self, key: str, layout: Layout) -> None:
        cells = dict(self.row_cells(key, layout))
        self._shown[key] = cells
        self.add_row(*(cells.get(k) for k in layout.keys), key=key)

    def upsert(self, key: str) -> None:
        """Add the row if new, else update only the cells whose value changed."""
        layout = self.layout_
        if layout is None:
            return
        shown = self._shown.get(key)
        if shown is None:
            self._add(key, layout)
            return
        for column, value in self.row_cells(key, layout).items():
            if not same_cell(shown.get(column), value):
                shown[column] = value
                self.update_cell(key, column, value, update_width=False)

    def drop(self, key: str) -> None:
        """Remove a row if it is shown."""
        if self._shown.pop(key, None) is not None:
            self.remove_row(key)
            for cell in [cell for cell in self._cell_cache if cell[0].value == key]:
                del self._cell_cache[cell]

    # -- rendering -----------------------------------------------------------------

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> Any:
        """Render a cell, re-using the last rendering while its value is the same object.

        DataTable keys its own cell cache on a table-wide update counter, so updating
        one cell re-renders every visible cell. With fifty rows changing four times a
        second that is most of the app's CPU; here a cell re-renders only when its own
        value (or its position, style or cursor state) changed.
        """
        if row_index < 0 or column_index < 0:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        value = self._data[row_key][column_key]
        params = (
            row_index,
            column_index,
            base_style,
            width,
            cursor,
            hover,
            self._show_hover_cursor,
            self._pseudo_class_state,
        )
        cached = self._cell_cache.get((row_key, column_key))
        if cached is not None and cached[0] is value and cached[1] == params:
            return cached[2]
        lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        self._cell_cache[row_key, column_key] = (value, params, lines)
        return lines


def same_cell(old: object, new: object) -> bool:
    """Whether two cell values look the same (Rich's `Text ==` ignores the base style)."""
    if isinstance(old, Text) and isinstance(new, Text):
        return (
            old.plain == new.plain
            and old.style == new.style
            and old.justify == new.justify
            and old.spans == new.spans
        )
    return old == new
