"""The benchmark harness itself: a few-second smoke run of the latency scenario.

It starts the real servers (the main one and benchmarks/latency_server.py), runs afetch and
the bare aiohttp loop through the launcher, verifies their outputs and writes the JSON and
Markdown: if any of that breaks, the full benchmark would break on the quiet machine too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_latency_run_measures_afetch_and_the_bare_loop(tmp_path: Path) -> None:
    out_json, out_md = tmp_path / "results.json", tmp_path / "results.md"
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "bench.py"),
        "--quick",
        "--scenarios", "latency",
        "--tools", "afetch,bare",
        "--latency-ms", "5",
        "--server", "aiohttp",
        "--afetch", f"{sys.executable} -m afetch_tui",
        "--workdir", str(tmp_path / "work"),
        "--out-dir", str(tmp_path / "out"),
        "--json", str(out_json),
        "--markdown", str(out_md),
        "--timeout", "60",
    ]  # fmt: skip
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rows = json.loads(out_json.read_text())["results"]
    assert [(r["label"], r["ok"]) for r in rows] == [("afetch -j16", True), ("bare -j16", True)]
    assert all(r["runs"][0]["cpu_s"] > 0 for r in rows)
    table = out_md.read_text()
    assert "| latency | `afetch -j16` | 1 |" in table
    assert "latency: afetch -j16 <= 1.05x bare -j16" in table
