"""``afetch get`` leaves without the interpreter's teardown, and loses nothing by it.

The console script (`cli.run`) ends a ``get`` with ``os._exit`` once everything is closed:
its output must still all be there, and its exit code the run's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from faultserver import FaultServer

# The console script's entry point, with an exit handler that says whether teardown ran.
SCRIPT = """
import atexit, sys
atexit.register(lambda: print("teardown ran", file=sys.stderr))
from afetch_tui.cli import run
sys.argv = ["afetch", *sys.argv[1:]]
run()
"""


def afetch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["XDG_DATA_HOME"] = str(cwd / "data")
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_get_skips_the_teardown_and_keeps_its_output_and_exit_code(
    server: FaultServer, tmp_path: Path
) -> None:
    good = [server.add_file(f"/f{n}.bin", bytes([n]) * 4096) for n in range(20)]
    missing = server.add_status("/gone.bin", 404)
    done = afetch("get", "--json", "--no-fsync", "-d", str(tmp_path / "out"), *good, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "teardown ran" not in done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]  # stdout was flushed
    completed = [e for e in events if e["event"] == "state" and e["state"] == "completed"]
    assert len(completed) == len(good)
    assert "20 completed" in done.stderr  # the summary on stderr too
    failed = afetch("get", "-d", str(tmp_path / "out"), missing, cwd=tmp_path)
    assert failed.returncode == 1
    assert "teardown ran" not in failed.stderr
    assert "404" in failed.stderr


def test_other_commands_end_as_usual(tmp_path: Path) -> None:
    version = afetch("--version", cwd=tmp_path)
    assert version.returncode == 0
    assert version.stdout.startswith("afetch ")
    assert "teardown ran" in version.stderr
