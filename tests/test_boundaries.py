"""The engine, the headless runner and the CLI never pull in Textual or Rich."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UI_PACKAGES = ("textual", "rich")

CHECK = """
import importlib, sys
importlib.import_module({module!r})
loaded = sorted(
    name for name in sys.modules
    if name.split(".")[0] in {ui!r}
)
print(",".join(loaded))
"""


@pytest.mark.parametrize(
    "module", ["afetch_tui.engine.manager", "afetch_tui.headless", "afetch_tui.cli"]
)
def test_module_does_not_import_ui_libraries(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(module=module, ui=UI_PACKAGES)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} imported {result.stdout.strip()}"


def test_check_can_see_a_ui_import() -> None:
    """The check above would notice: importing the dashboard does load Textual."""
    pytest.importorskip("textual")
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(module="textual.app", ui=UI_PACKAGES)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert "textual" in result.stdout.split(",")


def _lint_imports() -> str | None:
    beside = Path(sys.executable).with_name("lint-imports")
    return str(beside) if beside.exists() else shutil.which("lint-imports")


@pytest.mark.skipif(_lint_imports() is None, reason="import-linter is not installed")
def test_import_contract_holds() -> None:
    binary = _lint_imports()
    assert binary is not None
    result = subprocess.run(
        [binary, "--no-cache"], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout and "BROKEN" not in result.stdout


def _import_cycles(package: str) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), TYPE_CHECKING imports too."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph(package, exclude_type_checking_imports=False)
    modules = sorted(graph.modules)
    edges = {
        module: sorted(graph.find_modules_directly_imported_by(module) & graph.modules)
        for module in modules
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(start: str) -> None:
        # Iterative, so a deep import chain cannot hit the recursion limit.
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                    break
                if child in on_stack:
                    low[module] = min(low[module], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[module])
                if low[module] == index[module]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == module:
                            break
                    if len(group) > 1:
                        cycles.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycles() -> None:
    assert _import_cycles("afetch_tui") == []


def test_cycle_check_sees_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above would notice a cycle hidden behind TYPE_CHECKING."""
    package = tmp_path / "cyclic"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from cyclic import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cyclic import a\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _import_cycles("cyclic") == [["cyclic.a", "cyclic.b"]]
