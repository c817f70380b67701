#!/usr/bin/env python3
"""CPU per file of ``afetch get`` and of the bare aiohttp loop: a load-tolerant measure.

Usage::

    python benchmarks/cpu_per_file.py [--scenario small|latency] [--runs N]
                                      [--counts 200,1000] [--tools afetch,bare]
                                      [--afetch "python -m afetch_tui"] [-- AFETCH-ARGS...]

Wall time on a shared machine says more about the neighbours than about afetch; CPU time
(user + system of the process and its threads, from ``os.wait4``) moves far less with the
load. Each tool downloads the first N files of bench.py's scenario for each N in
``--counts``, ``--runs`` times, the runs alternating between tools and counts. Start-up
and shut-down cost the same whatever N, so the slope between the smallest and the largest
N is the CPU each further file costs: ``ms/file``. The medians of CPU and wall are printed
beside it. afetch runs as in bench.py (-j16 -q --no-fsync --max-per-host 16, a fresh
--state and directory on tmpfs each run).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench


def run_once(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of ``cmd`` in ``cwd``; exit on failure.

    ``cwd`` must not hold an ``afetch_tui``: ``python -m`` imports from there first (run
    from the repository, ``--baseline`` would measure this tree twice)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{shlex.join(cmd)} exited {proc.returncode}: {err[-400:].decode()}")
    return usage.ru_utime + usage.ru_stime, wall


def command(tool: str, afetch: list[str], urls: Path, out: Path, extra: list[str]) -> list[str]:
    if tool == "bare":
        return [sys.executable, str(bench.HERE / "bare.py"), f"-j{bench.PARALLEL}",
                "-d", str(out), "-i", str(urls)]  # fmt: skip
    return [*afetch, "get", f"-j{bench.PARALLEL}", *bench.AFETCH_COMMON,
            "--state", str(out / ".state.db"), "-d", str(out), "-i", str(urls), *extra]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="small", choices=("small", "latency"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--counts", default="200,1000")
    parser.add_argument("--tools", default="afetch,bare")
    parser.add_argument("--afetch", default=f"{sys.executable} -m afetch_tui")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also run the afetch_tui in this source tree (e.g. `git archive main` unpacked),"
        " as the tool 'baseline', for a before/after in the same runs",
    )
    parser.add_argument("--workdir", type=Path, default=bench.default_workdir())
    parser.add_argument("--latency-ms", type=float, default=bench.LATENCY_MS)
    parser.add_argument("extra", nargs="*", help="more afetch get options")
    args = parser.parse_args()
    counts = sorted({int(n) for n in args.counts.split(",")})
    tools = args.tools.split(",")
    envs: dict[str, dict[str, str] | None] = dict.fromkeys(tools)
    if args.baseline:
        tools.append("baseline")
        envs["baseline"] = {**os.environ, "PYTHONPATH": str(args.baseline.resolve())}
        compileall.compile_dir(args.baseline / "afetch_tui", quiet=1)
    bench.compile_afetch()
    data = bench.ensure_data(args.workdir / "data", bench.parts_for([args.scenario]))
    bench.warm_page_cache(data)
    scenario = bench.build_scenarios(data, args.latency_ms)[args.scenario]
    tmp = Path(tempfile.mkdtemp(prefix="afetch-cpu-", dir="/dev/shm"))
    cpu: dict[tuple[str, int], list[float]] = {(t, n): [] for t in tools for n in counts}
    wall: dict[tuple[str, int], list[float]] = {(t, n): [] for t in tools for n in counts}
    load = os.getloadavg()[0]
    try:
        with contextlib.ExitStack() as stack:
            base = stack.enter_context(bench.serve(bench.choose_server("auto"), data, args.workdir))
            if scenario.server == "latency":
                base = stack.enter_context(bench.serve_latency(data, args.workdir, args.latency_ms))
            lists = {}
            for n in counts:
                lists[n] = tmp / f"urls-{n}.txt"
                lists[n].write_text("".join(f"{base}{f.url_path}\n" for f in scenario.files[:n]))
            for _ in range(args.runs):
                for n in counts:
                    for tool in tools:
                        out = tmp / "out"
                        shutil.rmtree(out, ignore_errors=True)
                        out.mkdir()
                        cmd = command(tool, shlex.split(args.afetch), lists[n], out, args.extra)
                        c, w = run_once(cmd, tmp, envs[tool])
                        cpu[tool, n].append(c)
                        wall[tool, n].append(w)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load = (load + os.getloadavg()[0]) / 2
    print(f"{scenario.name}: {args.runs} runs, load average ~{load:.1f} (start/end mean)")
    print(f"{'tool':8} {'files':>6} {'CPU s':>7} {'wall s':>7}")
    for tool in tools:
        for n in counts:
            print(
                f"{tool:8} {n:>6} {statistics.median(cpu[tool, n]):>7.3f}"
                f" {statistics.median(wall[tool, n]):>7.3f}"
            )
    lo, hi = counts[0], counts[-1]
    slopes = {}
    for tool in tools:
        extra_cpu = statistics.median(cpu[tool, hi]) - statistics.median(cpu[tool, lo])
        slopes[tool] = extra_cpu / (hi - lo) * 1000
        print(f"{tool}: {slopes[tool]:.3f} ms CPU per file ({lo} to {hi} files)")
    for tool in ("afetch", "baseline"):
        if tool in slopes and "bare" in slopes and slopes["bare"] > 0:
            print(f"{tool} / bare per file: {slopes[tool] / slopes['bare']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
