"""Out of file descriptors is back-pressure, never a failure: run under a low ulimit."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

from faultserver import FaultServer

FILES = 120
LOW = 48
"""File descriptors allowed (soft and hard): far fewer than FILES running at once need."""


def run(args: list[str], cwd: Path, soft: int, hard: int) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["XDG_DATA_HOME"] = str(cwd / "data")
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit,
    )


def test_out_of_descriptors_slows_down_and_every_file_completes(
    server: FaultServer, payload, tmp_path: Path
) -> None:
    bodies = [payload(4096, seed=i) for i in range(FILES)]
    urls = [server.add_file(f"/fd/{i}.bin", body, rate=64 * 1024) for i, body in enumerate(bodies)]
    out = tmp_path / "out"

    result = run(
        [
            "-m",
            "afetch_tui",
            "get",
            "-q",
            "--retries",
            "0",  # running short is no failure: it spends no retry
            "-j",
            str(FILES),
            "--max-per-host",
            str(FILES),
            "-d",
            str(out),
            *urls,
        ],
        tmp_path,
        LOW,
        LOW,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    for i, body in enumerate(bodies):
        assert (out / f"{i}.bin").read_bytes() == body
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{i}.bin" for i in range(FILES))


def test_the_soft_limit_is_raised_to_the_hard_one(tmp_path: Path) -> None:
    code = (
        "import asyncio, resource\n"
        "from afetch_tui.engine.manager import DownloadManager\n"
        "async def main():\n"
        "    m = DownloadManager('.')\n"
        "    await m.start()\n"
        "    print(*resource.getrlimit(resource.RLIMIT_NOFILE))\n"
        "    await m.close()\n"
        "asyncio.run(main())\n"
    )
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    hard = min(hard, 4096)

    result = run(["-c", code], tmp_path, 64, hard)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(hard), str(hard)]


def test_never_a_free_descriptor_fails_clearly_after_a_bound(
    server: FaultServer, tmp_path: Path
) -> None:
    """Running fewer at once cannot help when even one download never gets a socket:
    after a bound of tries in a row it fails with a clear message, instead of waiting
    for a descriptor forever."""
    url = server.add_file("/one.bin", b"x" * 100)
    code = (
        "import asyncio, os, sys\n"
        "from afetch_tui.engine.manager import DownloadManager\n"
        "from afetch_tui.engine.options import ManagerOptions\n"
        "async def main():\n"
        "    options = ManagerOptions(trust_env=False, retry_base=0.001, retry_cap=0.002)\n"
        "    m = DownloadManager('out', options=options)\n"
        "    await m.start()\n"
        "    held = []\n"
        "    try:\n"
        "        while True:\n"
        "            held.append(os.open(os.devnull, os.O_RDONLY))\n"
        "    except OSError:\n"
        "        pass\n"
        f"    i = await m.add({url!r})\n"
        "    await asyncio.wait_for(m.wait(), 20)\n"
        "    d = m.download(i)\n"
        "    for fd in held:\n"
        "        os.close(fd)\n"
        "    print(d.state.value)\n"
        "    print(d.error)\n"
        "    await m.close()\n"
        "asyncio.run(main())\n"
    )

    result = run(["-c", code], tmp_path, LOW, LOW)

    assert result.returncode == 0, result.stderr[-2000:]
    state, error = result.stdout.splitlines()
    assert state == "failed"
    assert error.startswith("out of file descriptors talking to 127.0.0.1:")
    assert error.endswith("(gave up after 20 tries in a row)")
