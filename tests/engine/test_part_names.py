"""A server name ending in ``.part`` never replaces another download's live ``.part``."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from afetch_tui.engine import file_ops


def test_publishing_a_part_named_file_never_replaces_a_part_made_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A's name is ``f.bin.part``; B's ``.part`` for ``f.bin`` is created (as `file_ops.claim`
    does, O_EXCL) at the worst moment: right before A's publish moves its file into place
    (the race the property test found). Even with --overwrite, B's ``.part`` survives."""
    a = file_ops.claim(tmp_path, "f.bin.part", set(), overwrite=True, data=b"A")
    assert a == "f.bin.part"
    b_part: list[int] = []

    def b_claims_first(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if not b_part:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
                b_part.append(os.open(tmp_path / "f.bin.part", flags))
                os.write(b_part[0], b"B's bytes")
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(file_ops.os, "replace", b_claims_first(os.replace))
    monkeypatch.setattr(file_ops.os, "link", b_claims_first(os.link))
    final = file_ops.publish(tmp_path, a, set(), overwrite=True)
    os.close(b_part[0])
    assert final != "f.bin.part"
    assert (tmp_path / final).read_bytes() == b"A"
    assert (tmp_path / "f.bin.part").read_bytes() == b"B's bytes"


def test_a_held_name_keeps_its_part_name_free_and_the_other_way_round(tmp_path: Path) -> None:
    """A cancelled download keeps ``x.bin`` (its ``.part`` deleted): another download the
    server names ``x.bin.part`` must not take what a retry will reopen as its ``.part``."""
    from afetch_tui.engine.name_rules import unique_name

    assert unique_name(tmp_path, "x.bin.part", taken={"x.bin"}) != "x.bin.part"
    assert unique_name(tmp_path, "x.bin", taken={"x.bin.part"}) != "x.bin"
