"""``afetch get`` with --from-page, --checksum(s) and --on-complete, in a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from faultserver import FaultServer

RUN_TIMEOUT = 30
HTML = "text/html; charset=utf-8"


def afetch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["XDG_DATA_HOME"] = str(cwd.parent / "data")
    return subprocess.run(
        [sys.executable, "-m", "afetch_tui", "get", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


@pytest.fixture
def work(tmp_path: Path) -> Path:
    directory = tmp_path / "work"
    directory.mkdir()
    return directory


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# ------------------------------------------------------------------------------ --from-page


def test_from_page_queues_the_matching_links(
    server: FaultServer, payload: Callable[..., bytes], work: Path
) -> None:
    for name in ("a.iso", "b.iso", "notes.txt"):
        server.add_file(f"/pub/{name}", payload(30_000, seed=len(name)))
    extra = server.add_file("/extra.bin", payload(100))
    page = server.add_file(
        "/pub/",
        b'<a href="a.iso">a</a> <a href="b.iso">b</a> <a href="a.iso#again">a</a> '
        b'<a href="notes.txt">n</a> <a href="http://localhost:1/far.iso">elsewhere</a>',
        content_type=HTML,
    )
    done = afetch(
        "--from-page", page, "--match", "*.iso", "--same-host", "-d", "out", extra, cwd=work
    )
    assert done.returncode == 0, done.stderr
    assert files_in(work / "out") == ["a.iso", "b.iso", "extra.bin"]
    assert f"page    {page}: 2 links (match '*.iso', on the same host)" in done.stderr


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda s: s.add_file("/f.zip", b"PK", content_type="application/zip"), "not an HTML"),
        (lambda s: s.url("/gone.html"), "404 Not Found"),
        (lambda s: s.add_file("/e.html", b"<p>no links</p>", content_type=HTML), "no links on"),
        (
            lambda s: s.add_file("/t.html", b'<a href="x.txt">x</a>', content_type=HTML),
            "no links on .* \\(match '\\*.iso'\\)",
        ),
    ],
    ids=["not-html", "404", "no-links", "none-match"],
)
def test_unusable_pages_fail_with_one_line(
    server: FaultServer,
    work: Path,
    setup: Callable[[FaultServer], str],
    message: str,
) -> None:
    done = afetch("--from-page", setup(server), "--match", "*.iso", cwd=work)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("afetch: error: ")
    assert re.search(message, lines[0]), lines[0]
    assert files_in(work) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--match", "re:(", "--from-page", "http://127.0.0.1:1/"], "not a valid regular"),
        (["--same-host", "--other-hosts", "--from-page", "http://127.0.0.1:1/"], "not allowed"),
        (["--match", "*.iso", "http://127.0.0.1:1/x"], "filter --from-page links"),
        (["--checksum", "crc32=1234", "http://127.0.0.1:1/x"], "unsupported checksum"),
        (["--checksum", "sha256=abcd", "http://127.0.0.1:1/x"], "64 hex digits"),
        (
            ["--checksum", "md5=" + "0" * 32, "http://127.0.0.1:1/x", "http://127.0.0.1:1/y"],
            "applies to one URL",
        ),
        (["--on-complete", "no-such-program-afetch", "http://127.0.0.1:1/x"], "not found"),
        (["--checksums", "missing-SUMS", "http://127.0.0.1:1/x"], "cannot read missing-SUMS"),
    ],
)
def test_bad_options_are_usage_errors(work: Path, args: list[str], message: str) -> None:
    done = afetch(*args, cwd=work)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr


# ------------------------------------------------------------------------------ checksums


def test_checksum_pass_and_fail(
    server: FaultServer, payload: Callable[..., bytes], work: Path
) -> None:
    data = payload(700_000)
    url = server.add_file("/c.bin", data)
    good = "sha256=" + hashlib.sha256(data).hexdigest()
    done = afetch("--checksum", good, "-o", "good.bin", url, cwd=work)
    assert done.returncode == 0, done.stderr
    wrong = "sha1=" + hashlib.sha1(b"x").hexdigest()
    failed = afetch("--checksum", wrong, "-o", "bad.bin", url, cwd=work)
    assert failed.returncode == 1
    assert f"sha1 mismatch: expected {wrong[5:]}, got {hashlib.sha1(data).hexdigest()}" in (
        failed.stderr
    )
    assert files_in(work) == ["bad.bin.part", "good.bin"]


def test_checksums_file(server: FaultServer, payload: Callable[..., bytes], work: Path) -> None:
    one, two = payload(5000, seed=1), payload(600_000, seed=2)
    urls = [server.add_file("/one.bin", one), server.add_file("/two.bin", two)]
    (work / "SHA256SUMS").write_text(
        f"{hashlib.sha256(one).hexdigest()}  one.bin\n"
        f"SHA512 (two.bin) = {hashlib.sha512(b'other').hexdigest()}\n"
    )
    done = afetch("--checksums", "SHA256SUMS", "--json", "-d", "out", *urls, cwd=work)
    assert done.returncode == 1
    assert files_in(work / "out") == ["one.bin", "two.bin.part"]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["completed"] == 1 and summary["failed"] == 1
    assert "sha512 mismatch" in summary["failures"][0]["error"]


# ------------------------------------------------------------------------------ --on-complete


def test_on_complete_success_and_failure(
    server: FaultServer, payload: Callable[..., bytes], work: Path
) -> None:
    url = server.add_file("/h.bin", payload(1000))
    script = work.parent / "hook.py"
    script.write_text(
        "import sys\n"
        "open(sys.argv[2], 'a').write(sys.argv[-1] + '\\n')\n"
        "sys.exit(int(sys.argv[1]))\n"
    )
    marker = work.parent / "calls.txt"
    hook = f"{sys.executable} '{script}' {{code}} '{marker}'"
    ok = afetch("--on-complete", hook.format(code=0), "-d", "ok", url, cwd=work)
    assert ok.returncode == 0, ok.stderr
    bad = afetch("--on-complete", hook.format(code=4), "-d", "bad", url, cwd=work)
    assert bad.returncode == 1
    assert "HOOK FAILED h.bin: on-complete exited with 4" in bad.stderr
    assert f"on-complete failed for {work / 'bad' / 'h.bin'}" in bad.stderr
    assert (work / "bad" / "h.bin").exists()  # the download itself stays completed
    assert marker.read_text().splitlines() == [
        str(work / "ok" / "h.bin"),
        str(work / "bad" / "h.bin"),
    ]
