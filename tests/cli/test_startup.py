"""`afetch --version`, `--help` and bad options answer without loading the engine.

They must take no longer than Python's start-up (issue 12: <= 0.08 s), so nothing heavy
(aiohttp, the engine, Textual, not even asyncio: ~30 ms) may be imported before the
command line is parsed and checked. This checks the imports, which is what decides the
time, in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from faultserver import FaultServer

CHECK = """
import sys
from afetch_tui import cli
try:
    code = cli.main({argv!r})
except SystemExit as exc:
    code = exc.code
heavy = sorted(
    name for name in sys.modules
    if name.split(".")[0] in ("aiohttp", "textual", "rich", "selectolax", "asyncio")
    or name.startswith("afetch_tui.engine.manager")
)
print(code, ",".join(heavy))
"""


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--version"], 0),
        (["--help"], 0),
        (["get", "--help"], 0),
        (["get", "--bogus", "http://example.invalid/"], 2),
        (["get", "-x", "many"], 2),
        (["export", "--bogus"], 2),
        (["serve", "--help"], 0),
        (["add", "--help"], 0),
        (["ls", "--bogus"], 2),
        # Usage errors found after parsing (issue 12): the checks load no aiohttp either.
        (["get", "ftp://example.invalid/f"], 2),
        (["get", "not-a-url"], 2),
        (["get", "-j0", "http://example.invalid/f"], 2),
        (["get", "--limit-rate", "fast", "http://example.invalid/f"], 2),
        (["get", "-d", "/dev/null", "http://example.invalid/f"], 2),
        (["get"], 2),
        (["serve", "-j0"], 2),
    ],
)
def test_answers_without_loading_the_engine(argv: list[str], code: int) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    shown_code, _, heavy = result.stdout.strip().splitlines()[-1].partition(" ")
    assert (int(shown_code), heavy) == (code, "")


def test_a_usage_error_found_after_parsing_is_still_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "afetch_tui", "get", "not-a-url"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("afetch: error:")


def test_a_download_loads_no_html_parser(server: FaultServer, tmp_path: Path) -> None:
    """Only ``--from-page`` reads pages: a plain ``get`` does not import the parser (and its
    link rules) before its first request."""
    url = server.add_file("/f.bin", b"f" * 100)
    argv = ["get", "-q", "--no-fsync", "--state", str(tmp_path / "s.db"), "-d", str(tmp_path), url]
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    shown_code, _, heavy = result.stdout.strip().splitlines()[-1].partition(" ")
    assert int(shown_code) == 0
    assert (tmp_path / "f.bin").read_bytes() == b"f" * 100
    assert "selectolax" not in heavy
    assert "aiohttp" in heavy  # the check sees what the run imported
