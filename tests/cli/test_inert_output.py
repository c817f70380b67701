"""``afetch get`` against a hostile server: nothing it sends reaches the terminal raw.

The server answers with escape sequences (and bytes that are not UTF-8) in its reason phrase
and its ``Location``; the URL carries a password. Neither stream may hold an ESC byte or the
password, and the text must still be there, visibly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from faultserver import FaultServer

EVIL = b"\x1b[2J\x1b[31mPWNED\x1b]0;title\x07\x9b\xe9"
SHOWN = "\\x1b[2J\\x1b[31mPWNED\\x1b]0;title\\x07\\x9b\\xe9"


def run_get(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["XDG_DATA_HOME"] = str(cwd.parent / "data")
    return subprocess.run(
        [sys.executable, "-m", "afetch_tui", "get", "--retries", "0", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
    )


def assert_inert(*streams: bytes) -> None:
    for stream in streams:
        assert b"\x1b" not in stream and b"\x07" not in stream and b"\xc2\x9b" not in stream
        assert b"pw@" not in stream
        assert b"Traceback" not in stream


def test_reason_phrase_and_location_are_shown_visibly(server: FaultServer, tmp_path: Path) -> None:
    reason = server.add_raw("/reason", 404, reason=b"Not Found " + EVIL)
    location = server.add_raw("/location", 302, headers=[("Location", b"ftp://x/" + EVIL)])
    bad_location = server.add_raw("/bad", 302, headers=[("Location", b"http://" + EVIL + b"/")])
    with_password = reason.replace("http://", "http://bob:pw@")
    result = run_get(reason, location, bad_location, with_password, cwd=tmp_path)
    assert result.returncode == 1
    assert_inert(result.stdout, result.stderr)
    err = result.stderr.decode()
    assert f"FAILED  {reason}: 404 Not Found {SHOWN}" in err
    assert f"ftp://x/{SHOWN}" in err  # the Location it was sent to
    assert f"http://{SHOWN}/" in err
    assert f"FAILED  {with_password.replace(':pw@', ':***@')}" in err
    assert f"  failed: {with_password.replace(':pw@', ':***@')}" in err  # the summary


def test_json_output_is_inert_and_masks_passwords(server: FaultServer, tmp_path: Path) -> None:
    url = server.add_raw("/reason", 500, reason=b"Oops " + EVIL).replace(
        "http://", "http://bob:pw@"
    )
    result = run_get("--json", url, cwd=tmp_path)
    assert result.returncode == 1
    assert_inert(result.stdout, result.stderr)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    added = next(e for e in events if e["event"] == "added")
    assert added["download"]["url"] == url.replace(":pw@", ":***@")
    summary = events[-1]
    assert summary["failures"][0]["url"] == url.replace(":pw@", ":***@")
    assert SHOWN in summary["failures"][0]["error"]


def test_a_hostile_file_name_is_shown_without_its_controls(
    server: FaultServer, tmp_path: Path
) -> None:
    disposition = b'attachment; filename="a' + EVIL + b'.bin"'
    url = server.add_raw("/cd", 200, headers=[("Content-Disposition", disposition)], body=b"x")
    result = run_get(url, "-d", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_inert(result.stdout, result.stderr)
