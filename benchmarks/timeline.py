#!/usr/bin/env python3
"""Where the latency scenario's time goes, per tool, seen from the server.

Usage::

    python benchmarks/timeline.py [--runs N] [--count N] [--tools afetch,bare,aria2c]
                                  [--latency-ms MS] [--workdir DIR] [--afetch CMD]
                                  [--baseline CMD]

Starts benchmarks/latency_server.py with ``--trace`` (when each request arrived and when
its answer went out), runs each tool on the latency scenario's list (``-j16``; the runs
alternate between the tools, as in bench.py), and splits each run's wall time into:

- ``first``: from the launch to the first request's arrival (start-up: imports, the
  state file, queueing the list);
- ``all16``: from the launch to the first request on the 16th connection (how long the
  ramp to full parallelism takes);
- ``gap``: per connection, from an answer going out to the next request arriving on
  that connection (the client's turnaround; the server's delay is not in it). Median,
  90th percentile and max over all requests; ``lost`` is the gaps' sum divided by the
  number of connections: the wall time they cost if spread evenly;
- ``tail``: from the last answer to the process's exit (the end: the last save, the
  state file's close, the summary).

``--baseline CMD`` adds a row ``baseline``: another afetch (e.g. ``env PYTHONPATH=/tmp/before
python -m afetch_tui`` for a checkout of main), run alternating with the others; the tools
run in a temporary directory, so ``-m`` does not import this tree.

The gaps are what a busy machine inflates least (each is one client's own turnaround),
so they compare tools better than the wall time on a shared machine. A run's trace is
the server's lines between its launch and its exit.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench

Request = tuple[int, float, float]
"""(connection, arrived, sent): one line of the server's trace."""


@dataclass
class Run:
    tool: str
    launched: float
    exited: float
    code: int
    requests: list[Request]

    def summary(self) -> dict[str, float]:
        by_connection: dict[int, list[Request]] = defaultdict(list)
        for request in self.requests:
            by_connection[request[0]].append(request)
        gaps = [
            later[1] - earlier[2]
            for requests in by_connection.values()
            for earlier, later in itertools.pairwise(requests)
        ]
        firsts = sorted(requests[0][1] for requests in by_connection.values())
        return {
            "wall": self.exited - self.launched,
            "first": firsts[0] - self.launched,
            "all16": firsts[min(len(firsts), bench.PARALLEL) - 1] - self.launched,
            "gap50": statistics.median(gaps) * 1000 if gaps else 0.0,
            "gap90": _quantile(gaps, 0.9) * 1000,
            "gapmax": max(gaps, default=0.0) * 1000,
            "lost": sum(gaps) / max(1, len(by_connection)),
            "tail": self.exited - max(r[2] for r in self.requests),
            "conns": float(len(by_connection)),
            "reqs": float(len(self.requests)),
        }


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextlib.contextmanager
def traced_server(root: Path, delay_ms: float, trace: Path) -> Iterator[str]:
    port = bench.free_port()
    script = Path(bench.__file__).with_name("latency_server.py")
    cmd = [sys.executable, str(script), str(root), str(port), "--delay-ms", str(delay_ms)]
    proc = subprocess.Popen([*cmd, "--trace", str(trace)])
    base = f"http://127.0.0.1:{port}"
    try:
        bench.wait_until_serving(proc, base + "/small/s0000.bin")
        yield base
    finally:
        bench.stop_process(proc)


def command(tool: str, afetch: list[str], urls: Path, out: Path, state: Path) -> list[str]:
    jobs = f"-j{bench.PARALLEL}"
    match tool:
        case "afetch" | "baseline":
            return [*afetch, "get", jobs, *bench.AFETCH_COMMON, "--state", str(state),
                    "-d", str(out), "-i", str(urls)]  # fmt: skip
        case "bare":
            return [sys.executable, str(bench.HERE / "bare.py"), jobs, "-d", str(out),
                    "-i", str(urls)]  # fmt: skip
        case "aria2c":
            return ["aria2c", jobs, *bench.ARIA2_COMMON, "-i", str(urls), "-d", str(out)]
    raise SystemExit(f"unknown tool {tool}")


def run_once(cmd: list[str], out: Path) -> tuple[float, float, int]:
    out.mkdir(parents=True)
    launched = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=out, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    code = proc.wait()
    return launched, time.monotonic(), code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=bench.SMALL_COUNT)
    parser.add_argument("--tools", default="afetch,bare,aria2c")
    parser.add_argument("--latency-ms", type=float, default=bench.LATENCY_MS)
    parser.add_argument("--workdir", type=Path, default=bench.default_workdir())
    parser.add_argument("--afetch", default=str(Path(sys.executable).parent / "afetch"))
    parser.add_argument("--baseline", help="another afetch command, run as row 'baseline'")
    args = parser.parse_args()
    tools = args.tools.split(",") + (["baseline"] if args.baseline else [])
    if "aria2c" in tools and shutil.which("aria2c") is None:
        tools.remove("aria2c")
    data = bench.ensure_data(args.workdir / "data", ["small"])
    bench.compile_afetch()
    scenario = bench.build_scenarios(data, args.latency_ms)["latency"]
    files = scenario.files[: args.count]
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="afetch-timeline-", dir="/dev/shm") as tmp:
        work = Path(tmp)
        trace = work / "trace.txt"
        windows: list[tuple[str, float, float, int]] = []
        with traced_server(data.root, args.latency_ms, trace) as base:
            urls = work / "urls.txt"
            urls.write_text("".join(f"{base}{f.url_path}\n" for f in files))
            start = time.monotonic()
            for n in range(args.runs):
                for tool in tools:
                    out = work / f"{tool}-{n}"
                    afetch = args.baseline if tool == "baseline" else args.afetch
                    cmd = command(tool, shlex.split(afetch), urls, out / "files",
                                  out / "state.db")  # fmt: skip
                    windows.append((tool, *run_once(cmd, out / "files")))
                    shutil.rmtree(out)
        lines = [line.split() for line in trace.read_text().splitlines()]
        requests = [(int(n), float(a), float(s)) for n, a, s in lines if float(a) >= start]
        for tool, launched, exited, code in windows:
            mine = [r for r in requests if launched <= r[1] <= exited]
            runs.append(Run(tool, launched, exited, code, mine))
    report(runs, scenario.ideal_s or 0.0, len(files), args.latency_ms)
    return 0 if all(r.code == 0 for r in runs) else 1


COLUMNS = ("wall", "first", "all16", "gap50", "gap90", "gapmax", "lost", "tail", "conns", "reqs")


def report(runs: list[Run], ideal: float, count: int, delay_ms: float) -> None:
    ideal = count * delay_ms / 1000 / bench.PARALLEL
    print(f"{count} x 16 KiB, {delay_ms:g} ms per request, -j{bench.PARALLEL}: ideal {ideal:.2f} s")
    print("seconds except gap* (ms); medians over runs; load", os.getloadavg()[0])
    print(f"{'tool':8}" + "".join(f"{c:>8}" for c in COLUMNS))
    for run in runs:
        s = run.summary()
        print(f"{run.tool:8}" + "".join(_cell(c, s[c]) for c in COLUMNS) + f"  exit {run.code}")
    print("median")
    for tool in dict.fromkeys(r.tool for r in runs):
        summaries = [r.summary() for r in runs if r.tool == tool]
        cells = "".join(_cell(c, statistics.median(s[c] for s in summaries)) for c in COLUMNS)
        print(f"{tool:8}" + cells)


def _cell(column: str, value: float) -> str:
    if column in ("conns", "reqs"):
        return f"{value:8.0f}"
    if column.startswith("gap"):
        return f"{value:8.2f}"
    return f"{value:8.3f}"


if __name__ == "__main__":
    sys.exit(main())
