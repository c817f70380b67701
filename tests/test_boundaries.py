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
