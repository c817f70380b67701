#!/usr/bin/env python3
"""Does a download cost the same with 1,000 or 100,000 in the queue? (issue 14)

Usage::

    python benchmarks/scale.py [--sizes 1000,10000,100000] [--body BYTES]
                               [--workdir DIR] [--out-dir DIR] [--json FILE]
                               [--afetch "python -m afetch_tui"] [--server auto|nginx|aiohttp]

One list of distinct URLs on one host (``/q/<n>/f<n>.bin``, all mapped onto one small file
by the server) is fetched with ``afetch get`` at each size, once with the default limits
(``-j 5 --max-per-host 4``) and once with ``-j 16 --max-per-host 16``. For each run it
prints the wall time, the seconds per 1,000 downloads and the peak RSS of afetch alone
(``ru_maxrss`` from ``os.wait4``), then the ratio of s/1000 at the largest size to that at
the smallest, against the target of 1.2, and the marginal s/1000 between sizes (the
start-up, a second or so, weighs on the smallest size only).

``--modes get,dashboard`` also runs each list with the dashboard open: the real ``afetch``
(``afetch -i LIST``) in a pseudo-terminal of 120x40 whose output is read and thrown away,
as a terminal would draw it. Its time runs from the process start to the moment every file
is on disk (the dashboard does not exit by itself; it is then ended with SIGTERM, which
quits as ``q`` does); the "rows" column says when the table first showed a row (the
first URL's name in the output), i.e. how long the dashboard took to start with that many
downloads to queue, and the "queued" column when the last URL was queued (its ``added_at``
in the state file).

The server is a private nginx on 127.0.0.1 (its own config, pid and logs under the work
dir), or an aiohttp server in a subprocess when nginx is not installed. Downloads go to
a fresh directory on tmpfs (/dev/shm) by default, with ``--no-fsync`` and a fresh
``--state`` file per run. Every file is checked afterwards (count and size): a run that
did not finish every download is reported as failed, never as fast.

Only the standard library is used (aiohttp only for the fallback server).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_SIZES = (1_000, 10_000, 100_000)
DEFAULT_BODY = 1024
TARGET_RATIO = 1.2
VARIANTS: dict[str, tuple[str, ...]] = {
    "defaults (-j5, --max-per-host 4)": (),
    "-j16 --max-per-host 16": ("-j", "16", "--max-per-host", "16"),
}

LAUNCHER = """
import os, subprocess, sys, time, json
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=open(sys.argv[1], "wb"))
_, status, usage = os.wait4(proc.pid, 0)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "rc": os.waitstatus_to_exitcode(status), "rss_kib": usage.ru_maxrss}))
"""

DASHBOARD_LAUNCHER = """
import fcntl, json, os, pty, select, signal, struct, sys, termios, time
count, target, last, first_name = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4].encode()
argv = sys.argv[5:]
start, started = time.perf_counter(), time.time()
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    os.environ["TERM"] = "xterm-256color"
    os.execvp(argv[0], argv)
rows_at = finished_at = None
tail = b""
status = None
while finished_at is None:
    ready, _, _ = select.select([fd], [], [], 0.05)
    if ready:
        try:
            data = os.read(fd, 1 << 16)
        except OSError:
            data = b""
        if not data:
            break
        tail = (tail + data)[-65536:]
        if rows_at is None and first_name in tail:
            rows_at = time.perf_counter() - start
    if os.path.exists(last) and sum(
        1 for name in os.listdir(target) if not name.endswith(".part")
    ) >= count:
        finished_at = time.perf_counter() - start
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
        break
if finished_at is not None:
    os.kill(pid, signal.SIGTERM)
    while True:  # keep reading so that the dashboard can write its last frame and exit
        ready, _, _ = select.select([fd], [], [], 0.2)
        try:
            if ready and not os.read(fd, 1 << 16):
                break
        except OSError:
            break
    _, status, usage = os.wait4(pid, 0)
elif status is None:
    _, status, usage = os.wait4(pid, 0)
print(json.dumps({"seconds": finished_at or time.perf_counter() - start, "rows": rows_at,
                  "started": started,
                  "rc": 0 if finished_at else os.waitstatus_to_exitcode(status) or 1,
                  "rss_kib": usage.ru_maxrss,
                  "note": "" if finished_at else tail[-300:].decode(errors="replace")}))
"""

AIOHTTP_SERVER = """
import sys
from aiohttp import web

body = b"x" * int(sys.argv[2])

async def one_file(request):
    return web.Response(body=body, content_type="application/octet-stream")

app = web.Application()
app.router.add_get("/q/{n}/{name}", one_file)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


MODES = ("get", "dashboard")


@dataclass
class Run:
    variant: str
    size: int
    seconds: float
    per_thousand: float
    rss_mib: float
    ok: bool
    note: str = ""
    mode: str = "get"
    rows_s: float | None = None
    """With the dashboard: seconds from the start until the table showed a row."""
    queued_s: float | None = None
    """With the dashboard: seconds from the start until the last URL was queued (its
    ``added_at`` in the state file)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nginx_command(prefix: Path, body: Path, port: int) -> list[str]:
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {name}_temp_path {prefix / 'tmp' / name};"
        for name in ("proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""{user}worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    default_type application/octet-stream;
    client_body_temp_path {prefix / "tmp" / "body"};
{temp}
    server {{
        listen 127.0.0.1:{port};
        root {body.parent};
        location /q/ {{ rewrite ^ /{body.name} break; }}
    }}
}}
"""
    )
    return ["nginx", "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf),
            "-g", "daemon off;"]  # fmt: skip


@contextlib.contextmanager
def serve(kind: str, workdir: Path, body_size: int) -> Iterator[str]:
    """Start the server, yield its base URL, and always stop it."""
    if kind == "auto":
        kind = "nginx" if shutil.which("nginx") else "aiohttp"
    port = free_port()
    body = workdir / "body.bin"
    body.write_bytes(b"x" * body_size)
    if kind == "nginx":
        cmd = nginx_command(workdir / "nginx", body, port)
    else:
        cmd = [sys.executable, "-c", AIOHTTP_SERVER, str(port), str(body_size)]
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the {kind} server exited early (see {workdir}/server.log)")
            try:
                with urllib.request.urlopen(base + "/q/0/f0.bin", timeout=1) as response:
                    if len(response.read()) == body_size:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the {kind} server did not answer") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def run_once(
    afetch: list[str],
    base: str,
    workdir: Path,
    out_root: Path,
    size: int,
    label: str,
    body: int,
    mode: str = "get",
) -> Run:
    urls = workdir / f"urls-{size}.txt"
    urls.write_text("".join(f"{base}/q/{n}/f{n}.bin\n" for n in range(size)))
    out = Path(tempfile.mkdtemp(prefix=f"scale-{size}-", dir=out_root))
    state = out / "state.sqlite"
    target = out / "files"
    options = ["--no-fsync", "--state", str(state), "-d", str(target), "-i", str(urls)]
    stderr = out / "stderr.txt"
    if mode == "get":
        launcher = [sys.executable, "-c", LAUNCHER, str(stderr),
                    *afetch, "get", "-q", *options, *VARIANTS[label]]  # fmt: skip
    else:
        target.mkdir(parents=True)
        last = target / f"f{size - 1}.bin"
        launcher = [sys.executable, "-c", DASHBOARD_LAUNCHER, str(size), str(target), str(last),
                    "f0.bin", *afetch, *options, *VARIANTS[label]]  # fmt: skip
    result = subprocess.run(launcher, capture_output=True, text=True, check=True)
    measured = json.loads(result.stdout)
    files = list(target.iterdir()) if target.is_dir() else []
    ok = measured["rc"] == 0 and len(files) == size and all(f.stat().st_size == body for f in files)
    said = measured.get("note") or (stderr.read_text()[-300:] if stderr.exists() else "")
    note = "" if ok else f"rc {measured['rc']}, {len(files)} files: {said}"
    queued = None
    if mode == "dashboard" and state.exists():
        with contextlib.closing(sqlite3.connect(state)) as db:
            (last_added,) = db.execute("SELECT max(added_at) FROM downloads").fetchone()
        if last_added is not None:
            queued = last_added - measured["started"]
    shutil.rmtree(out, ignore_errors=True)
    seconds = measured["seconds"]
    return Run(
        label, size, seconds, seconds / size * 1000, measured["rss_kib"] / 1024, ok, note,
        mode, measured.get("rows"), queued,
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--body", type=int, default=DEFAULT_BODY, help="bytes per file")
    parser.add_argument("--variants", default="all", help="defaults, j16 or all")
    parser.add_argument("--modes", default="get", help="get, dashboard or get,dashboard")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/afetch-scale"))
    out_default = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    parser.add_argument("--out-dir", type=Path, default=out_default)
    parser.add_argument("--json", type=Path, help="write the runs as JSON here")
    parser.add_argument("--afetch", default=f"{sys.executable} -m afetch_tui")
    parser.add_argument("--server", choices=("auto", "nginx", "aiohttp"), default="auto")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    labels = list(VARIANTS)
    if args.variants == "defaults":
        labels = labels[:1]
    elif args.variants == "j16":
        labels = labels[1:]
    modes = [mode for mode in args.modes.split(",") if mode]
    if not modes or set(modes) - set(MODES):
        parser.error(f"--modes: a list of {', '.join(MODES)}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    print(f"{'mode':9} {'variant':34} {'URLs':>8} {'seconds':>9} {'s/1000':>8} {'peak RSS':>10}"
          f" {'rows':>6} {'queued':>7}")  # fmt: skip
    with serve(args.server, args.workdir, args.body) as base:
        for mode in modes:
            for label in labels:
                for size in sizes:
                    run = run_once(
                        shlex.split(args.afetch), base, args.workdir, args.out_dir, size, label,
                        args.body, mode,
                    )  # fmt: skip
                    runs.append(run)
                    status = "" if run.ok else f"  FAILED {run.note}"
                    rows = f"{run.rows_s:>5.2f}s" if run.rows_s is not None else ""
                    queued = f"{run.queued_s:>6.2f}s" if run.queued_s is not None else ""
                    print(
                        f"{mode:9} {label:34} {size:>8,} {run.seconds:>9.2f}"
                        f" {run.per_thousand:>8.3f} {run.rss_mib:>7.0f} MiB {rows:>6}"
                        f" {queued:>7}{status}",
                        flush=True,
                    )
    failed = False
    for mode, label in itertools.product(modes, labels):
        mine = [run for run in runs if run.variant == label and run.mode == mode]
        first, last = mine[0], mine[-1]
        ratio = last.per_thousand / first.per_thousand
        verdict = "pass" if ratio <= TARGET_RATIO and all(r.ok for r in mine) else "FAIL"
        failed |= verdict == "FAIL"
        print(
            f"{mode} {label}: s/1000 at {last.size:,} is {ratio:.2f}x that at {first.size:,}"
            f" (target <= {TARGET_RATIO}): {verdict}; peak RSS at {last.size:,}:"
            f" {last.rss_mib:.0f} MiB"
        )
        for before, after in itertools.pairwise(mine):
            marginal = (after.seconds - before.seconds) / (after.size - before.size) * 1000
            print(
                f"  marginal s/1000 from {before.size:,} to {after.size:,}: {marginal:.3f}"
                " (start-up left out)"
            )
    if args.json:
        args.json.write_text(json.dumps([asdict(run) for run in runs], indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
