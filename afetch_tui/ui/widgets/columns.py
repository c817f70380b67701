"""Fixed-width column layouts that drop low-priority columns when space runs out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column: its key, header label and width in cells.

    ``priority`` 0 columns are always shown; higher numbers are dropped first when the
    table is narrow. Columns with a ``flex`` weight share the width that is left in
    proportion to it (each at least ``width``, at most ``max_width``). ``right``
    right-aligns the header (for numbers).
    """

    key: str
    label: str
    width: int
    priority: int = 0
    flex: int = 0
    max_width: int = 60
    right: bool = False


@dataclass(frozen=True, slots=True)
class Layout:
    """The columns chosen for one table width, with their final widths."""

    columns: tuple[tuple[ColumnSpec, int], ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(spec.key for spec, _ in self.columns)

    def width_of(self, key: str) -> int:
        for spec, width in self.columns:
            if spec.key == key:
                return width
        return 0


def choose_layout(specs: Sequence[ColumnSpec], available: int, padding: int = 1) -> Layout:
    """Pick the columns that fit in `available` cells, keeping the original order.

    Columns are dropped from the highest priority number down (rightmost first among
    equals) until the minimum widths fit; then flex columns share what is left.
    """
    kept = list(specs)

    def needed(columns: Sequence[ColumnSpec]) -> int:
        return sum(spec.width + 2 * padding for spec in columns)

    while needed(kept) > available:
        droppable = [spec for spec in kept if spec.priority > 0]
        if not droppable:
            break
        worst = max(droppable, key=lambda spec: (spec.priority, kept.index(spec)))
        kept.remove(worst)

    widths = {spec.key: spec.width for spec in kept}
    spare = max(0, available - needed(kept))
    growing = [spec for spec in kept if spec.flex > 0]
    while spare > 0 and growing:
        weight = sum(spec.flex for spec in growing)
        given = 0
        for spec in growing:
            extra = min(spare * spec.flex // weight, spec.max_width - widths[spec.key])
            widths[spec.key] += extra
            given += extra
        growing = [spec for spec in growing if widths[spec.key] < spec.max_width]
        if given == 0:
            if growing:  # rounding left a few cells: hand them out one by one
                widths[growing[0].key] += 1
                given = 1
            else:
                break
        spare -= given
    return Layout(tuple((spec, widths[spec.key]) for spec in kept))
