"""``afetch get`` end to end: the real program in a subprocess against the loopback server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from faultserver import FaultServer

RUN_TIMEOUT = 30


def clean_env(cwd: Path) -> dict[str, str]:
    """No proxies; resume state under the test's own directory, not the user's data dir."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONUNBUFFERED"] = "1"
    env["XDG_DATA_HOME"] = str(cwd.parent / "data")
    return env


def afetch(
    *args: str, cwd: Path, stdin: str | None = None, timeout: float = RUN_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "afetch_tui", "get", *args],
        cwd=cwd,
        env=clean_env(cwd),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """The directory afetch runs in (and downloads to unless told otherwise)."""
    directory = tmp_path / "work"
    directory.mkdir()
    return directory


# --------------------------------------------------------------------------- exit codes


def test_exit_0_when_everything_succeeds(
    server: FaultServer, payload: Callable[..., bytes], work: Path
) -> None:
    a, b = payload(300_000, seed=1), payload(2_000_000, seed=2)
    result = afetch(server.add_file("/a.bin", a), server.add_file("/b.bin", b), cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "a.bin").read_bytes() == a
    assert (work / "b.bin").read_bytes() == b
    assert tree(work) == {"a.bin", "b.bin"}
    assert result.stdout == ""
    assert "done    a.bin" in result.stderr and "done    b.bin" in result.stderr
    assert "2 completed, 0 failed" in result.stderr
    assert "Traceback" not in result.stderr and "\x1b[" not in result.stderr


def test_output_name_and_directory(server: FaultServer, payload, work: Path) -> None:
    data = payload(1000)
    result = afetch("-d", "sub/dir", "-o", "named.dat", server.add_file("/x", data), cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "sub" / "dir" / "named.dat").read_bytes() == data


def test_exit_1_when_any_download_fails(server: FaultServer, payload, work: Path) -> None:
    ok = server.add_file("/ok.bin", payload(1000))
    missing = server.url("/missing.bin")
    result = afetch("--retries", "0", ok, missing, cwd=work)
    assert result.returncode == 1, result.stderr
    assert (work / "ok.bin").read_bytes() == payload(1000)
    assert f"FAILED  {missing}: 404" in result.stderr
    summary = result.stderr[result.stderr.index("1 completed, 1 failed") :]
    assert f"failed: {missing}: 404 Not Found" in summary
    assert "Traceback" not in result.stderr
    assert not (work / "missing.bin").exists()


# -------------------------------------------------------------------------- usage errors


def _usage_cases(good: str, work: Path) -> dict[str, list[str]]:
    (work.parent / "a-file").write_text("not a directory")
    (work.parent / "a-script").write_text("#!/bin/sh\n")
    (work.parent / "a-script").chmod(0o755)  # root passes the X_OK check on it
    cr_list = work.parent / "cr.txt"
    cr_list.write_bytes(f"{good}\n{good}2\rX-Injected: yes\n".encode())
    cr_only = work.parent / "cr-only.txt"
    cr_only.write_bytes(f"{good}\r{good}2\n".encode())
    bad_option = work.parent / "bad-option.txt"
    bad_option.write_text(f"{good}\n  frobnicate=1\n")
    return {
        "not a URL": [good, "example.com/file.iso"],
        "ftp": [good, "ftp://example.com/file"],
        "file": [good, "file:///etc/passwd"],
        "CRLF in argument": [good + "\r\nX-Injected: yes"],
        "CR in input file": ["-i", str(cr_list)],
        "bare CR in input file": ["-i", str(cr_only)],
        "unknown option in input file": ["-i", str(bad_option)],
        "missing input file": ["-i", str(work.parent / "nope.txt")],
        "-d under a file": ["-d", str(work.parent / "a-file" / "sub"), good],
        "-d under an executable file": ["-d", str(work.parent / "a-script" / "sub"), good],
        "-d is a file": ["-d", str(work.parent / "a-file"), good],
        "-o with several URLs": ["-o", "x.bin", good, good + "?2"],
        "bad --limit-rate": ["--limit-rate", "fast", good],
        "bad --limit-rate-per-host": ["--limit-rate-per-host", "-5K", good],
        "--limit-rate below 1 B/s": ["--limit-rate", "0.0000001", good],
        "--limit-rate-per-host below 1 B/s": ["--limit-rate-per-host", "0.5", good],
        "--host-request-rate 1e-300": ["--host-request-rate", "1e-300", good],
        "--host-request-rate 0.0000001": ["--host-request-rate", "0.0000001", good],
        "-j 0": ["-j", "0", good],
        "-j not a number": ["-j", "many", good],
        "bad header": ["--header", "NoColonHere", good],
        "unknown flag": ["--frobnicate", good],
        "no URLs": [],
    }


USAGE_CASES = list(_usage_cases("http://x/", Path("/tmp/w")).keys())


@pytest.mark.parametrize("case", USAGE_CASES)
def test_usage_errors_exit_2_with_one_line(
    server: FaultServer, payload, work: Path, case: str
) -> None:
    good = server.add_file("/good.bin", payload(1000))
    args = _usage_cases(good, work)[case]
    before = tree(work.parent)
    result = afetch(*args, cwd=work)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("afetch: error: "), lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert tree(work.parent) == before  # nothing written, no directory made
    assert server.requests == []  # nothing queued either


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["-j", "0"], "-j must be a whole number, at least 1"),
        (["--max-per-host", "0"], "--max-per-host must be a whole number, at least 1"),
        (["-x", "17"], "-x must be 1 to 16"),
        (["--retries", "-1"], "--retries must be a whole number from 0 to 100"),
        (["--retries", "101"], "--retries must be a whole number from 0 to 100"),
        (["--timeout", "0.5"], "--timeout must be 1 to 3600 seconds"),
        (["--host-request-rate", "1e-9"], "--host-request-rate must be at least 0.001/s"),
    ],
)
def test_a_setting_out_of_range_is_named_by_its_flag(
    work: Path, args: list[str], said: str
) -> None:
    """The rule is the engine's (`Limits`, `Defaults`); the line names the flag typed."""
    result = afetch(*args, "http://127.0.0.1:9/x", cwd=work)
    assert result.returncode == 2
    assert result.stderr.strip() == f"afetch: error: {said}"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
def test_read_only_directory_is_a_usage_error(server: FaultServer, work: Path) -> None:
    locked = work / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = afetch("-d", str(locked), server.add_file("/x", b"x"), cwd=work)
        nested = afetch("-d", str(locked / "sub"), server.url("/x"), cwd=work)
    finally:
        locked.chmod(0o700)
    for run in (result, nested):
        assert run.returncode == 2
        assert len(run.stderr.splitlines()) == 1 and "permission denied" in run.stderr
    assert server.requests == []


# ---------------------------------------------------------------------------- --json


def test_json_lines_end_with_a_summary(server: FaultServer, payload, work: Path) -> None:
    ok = server.add_file("/j.bin", payload(700_000))
    missing = server.url("/gone.bin")
    result = afetch("--json", "--retries", "0", ok, missing, cwd=work)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    objects = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(isinstance(o, dict) and "event" in o for o in objects)
    kinds = [o["event"] for o in objects]
    assert kinds[-1] == "summary" and kinds.count("summary") == 1
    assert {"added", "state", "log", "updated"} <= set(kinds)
    summary = objects[-1]
    assert summary["completed"] == 1 and summary["failed"] == 1
    assert summary["bytes"] == 700_000
    assert summary["failures"][0]["url"] == missing
    assert "404" in summary["failures"][0]["error"]
    finals = {(o["id"], o["state"]) for o in objects if o["event"] == "state"}
    assert {s for _, s in finals} >= {"completed", "failed"}
    # stderr is not a terminal: plain lines, no cursor movement.
    assert "done    j.bin" in result.stderr
    assert f"FAILED  {missing}" in result.stderr
    assert "\x1b" not in result.stderr and "\x1b" not in result.stdout


# ----------------------------------------------------------------------------- Ctrl-C


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is signal.SIG_IGN,
    reason="SIGINT is ignored here, and a child would inherit that",
)
def test_ctrl_c_exits_130_and_keeps_the_part_file(server: FaultServer, payload, work: Path) -> None:
    url = server.add_file("/big.iso", payload(4_000_000), rate=400_000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "afetch_tui", "get", url],
        cwd=work,
        env=clean_env(work),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        server.wait_for_sync(lambda: server.bytes_served("/big.iso") > 200_000, timeout=10)
        part = work / "big.iso.part"
        deadline = time.monotonic() + 5
        while not (part.exists() and part.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "interrupted" in err
    assert part.exists() and 0 < part.stat().st_size < 4_000_000
    assert part.read_bytes() == payload(4_000_000)[: part.stat().st_size]
    assert not (work / "big.iso").exists()


# ------------------------------------------------------------------------ input files


def test_input_file_plain_list_with_comments(server: FaultServer, payload, work: Path) -> None:
    urls = [server.add_file(f"/list/{i}.bin", payload(5000 + i, seed=i)) for i in range(3)]
    listing = work.parent / "urls.txt"
    listing.write_text(
        f"# my downloads\n\n{urls[0]}\r\n   \n{urls[1]}\n# {server.url('/list/skip')}\n{urls[2]}"
    )
    result = afetch("-i", str(listing), cwd=work)
    assert result.returncode == 0, result.stderr
    for i in range(3):
        assert (work / f"{i}.bin").read_bytes() == payload(5000 + i, seed=i)
    assert not server.requests_for("/list/skip")


def test_input_file_aria2_format(server: FaultServer, payload, work: Path) -> None:
    first = server.add_file("/aria/first.bin", payload(4000, seed=1))
    second = server.add_file("/aria/second.bin", payload(6000, seed=2))
    plain = server.add_file("/aria/plain.bin", payload(100, seed=3))
    listing = work.parent / "aria2.txt"
    listing.write_text(
        f"{first}\t{server.url('/aria/mirror.bin')}\n"
        "  out=renamed.bin\n"
        "  dir=nested\n"
        "  header=X-Token: sesame\n"
        "  split=4\n"
        f"{second}\n"
        "\theader=Authorization: Bearer abc\n"
        f"{plain}\n"
    )
    result = afetch("-i", str(listing), "-d", "out", "--header", "X-Global: 1", cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "out" / "nested" / "renamed.bin").read_bytes() == payload(4000, seed=1)
    assert (work / "out" / "second.bin").read_bytes() == payload(6000, seed=2)
    assert (work / "out" / "plain.bin").read_bytes() == payload(100, seed=3)
    (req_first,) = server.requests_for("/aria/first.bin", "GET")
    (req_second,) = server.requests_for("/aria/second.bin", "GET")
    (req_plain,) = server.requests_for("/aria/plain.bin", "GET")
    assert req_first.header("X-Token") == "sesame"
    assert req_second.header("X-Token") is None  # options belong to their own URL
    assert req_second.header("Authorization") == "Bearer abc"
    assert req_plain.header("Authorization") is None
    assert all(r.header("X-Global") == "1" for r in (req_first, req_second, req_plain))
    assert not server.requests_for("/aria/mirror.bin")


def test_input_from_stdin(server: FaultServer, payload, work: Path) -> None:
    urls = [server.add_file(f"/in/{i}.bin", payload(2000, seed=i)) for i in range(2)]
    result = afetch("-i", "-", cwd=work, stdin="\n".join(urls) + "\n")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in work.iterdir()) == ["0.bin", "1.bin"]
    assert (work / "1.bin").read_bytes() == payload(2000, seed=1)
