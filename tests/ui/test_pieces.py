"""Small UI pieces: names that stay distinguishable, and the Textual internal we override."""

from __future__ import annotations

import inspect

from textual.widgets import DataTable

from afetch_tui.ui.elide import SimilarNames, elide_name
from afetch_tui.ui.widgets.live_table import LiveTable


def test_similar_long_names_stay_distinguishable() -> None:
    amd = "ubuntu-24.04.1-desktop-amd64-very-long-release-name.iso"
    arm = amd.replace("amd64", "arm64")
    for width in (18, 20, 30, 40):
        short_amd, short_arm = elide_name(amd, width, (arm,)), elide_name(arm, width, (amd,))
        assert len(short_amd) <= width and len(short_arm) <= width
        assert short_amd != short_arm
        assert short_amd.endswith(".iso")
    parts = [f"dataset-part-{n:04d}-of-0100.parquet" for n in range(3)]
    shown = {elide_name(p, 18, tuple(parts)) for p in parts}
    assert len(shown) == 3
    assert elide_name("short.bin", 20, ("short.bin",)) == "short.bin"


def test_names_differing_in_two_fields_read_apart_in_any_company() -> None:
    """Two fields vary (architecture, part) among 4 x 5 names with noise around them:
    each name's neighbours, alphabetical and read backwards, let it keep both."""
    names = [
        f"ubuntu-24.04.1-desktop-{arch}-very-long-release-name.iso.part{n}"
        for arch in ("amd64", "arm64", "i386", "riscv64")
        for n in range(5)
    ]
    names += ["ubuntu-24.04.1-desktop-amd64.iso", "ubuntu-24.04.1.iso", "zz.iso"]
    similar = SimilarNames(lambda: names)
    similar.reset()
    for width in (20, 24, 30):
        shown = [elide_name(name, width, similar.of(name)) for name in names]
        assert len(set(shown)) == len(names), shown


def test_render_cell_is_the_datatable_internal_we_override() -> None:
    """`LiveTable._render_cell` overrides a private DataTable method (pyproject pins
    textual <9 for it). If Textual renames it or changes its arguments, this fails loudly
    instead of the cache silently never being used."""
    ours = inspect.signature(LiveTable._render_cell)
    theirs = inspect.signature(DataTable._render_cell)
    assert list(ours.parameters) == list(theirs.parameters)
    source = inspect.getsource(DataTable._render_line_in_row)
    assert "self._render_cell" in source
