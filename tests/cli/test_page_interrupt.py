"""Ctrl-C while ``afetch get --from-page`` parses a pathological page stops it at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from faultserver import FaultServer

DEEP = b"<div>" * 1_000_000  # lexbor would take about half an hour over this


def parser_running() -> bool:
    """Whether a page parser child (``python -m afetch_tui.engine.links``) is alive."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"afetch_tui.engine.links" in (entry / "cmdline").read_bytes():
                    return True
            except OSError:
                continue
    return False


def test_ctrl_c_during_a_page_parse_ends_the_run_at_once(
    server: FaultServer, tmp_path: Path
) -> None:
    url = server.add_raw("/deep.html", 200, headers=[("Content-Type", b"text/html")], body=DEEP)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    run = subprocess.Popen(
        [sys.executable, "-m", "afetch_tui", "get", "-d", str(tmp_path), "--from-page", url],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while not parser_running():
            assert run.poll() is None, run.stderr.read() if run.stderr else ""
            assert time.monotonic() < deadline, "the parser never started"
            time.sleep(0.02)
        time.sleep(0.2)
        sent = time.monotonic()
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=10)
        assert time.monotonic() - sent < 1.5
    finally:
        run.kill()
    assert run.returncode == 130
    assert b"interrupted" in err and b"Traceback" not in err
    assert not parser_running()
