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


def parsers_of(parent: int) -> set[int]:
    """The page parser children (``python -m afetch_tui.engine.links``) of ``parent``
    (only its own: other runs on this machine parse pages too)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if ppid == parent and is_parser(int(entry.name)):
                    found.add(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def is_parser(pid: int) -> bool:
    try:
        return b"afetch_tui.engine.links" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
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
        while not (parsers := parsers_of(run.pid)):
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
    assert not [pid for pid in parsers if is_parser(pid)]  # killed, not left as an orphan
