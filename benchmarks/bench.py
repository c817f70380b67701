#!/usr/bin/env python3
"""Compare afetch with curl, aria2c, wget, parfive, pypdl and a bare aiohttp loop.

Usage::

    python benchmarks/bench.py [--runs N] [--quick]
                               [--scenarios big,throttled,small,medium,queue10k,latency,writer]
                               [--workdir DIR] [--out-dir DIR] [--json out.json]
                               [--markdown [FILE]] [--afetch "python -m afetch_tui"]
                               [--tools afetch,bare,aria2c,curl,wget,parfive,pypdl]
                               [--server auto|nginx|aiohttp] [--latency-ms MS]
                               [--timeout SECONDS]

The complete table for the README, in one command (about 15 minutes on 2 cores)::

    .venv/bin/python benchmarks/bench.py --markdown

A smoke run of the harness itself (under a minute once the data and tools exist)::

    .venv/bin/python benchmarks/bench.py --quick

The test data (one 1 GiB file, one 100 MiB file, 1000 x 16 KiB, 200 x 1 MiB) is created
once in the work dir (default /tmp/afetch-bench) and reused afterwards. It is served by a
private nginx on 127.0.0.1 (its own config, pid, logs and temp paths under the work dir),
or by an aiohttp static server in a subprocess when nginx is not installed. The queue10k
scenario uses 10,000 distinct URLs /q/<n>/q<n>.bin that the server maps onto one file.
The throttled scenario fetches the 100 MiB file from /slow/, where nginx sends at most
10 MiB/s per connection (limit_rate), so that several connections pay off; it needs nginx.
The scale scenario runs benchmarks/scale.py (1k, 10k and 100k URLs of 1 KiB on one host,
at the default limits and at -j16; its own server) with the same afetch, in ``get`` and
with the dashboard open (the real afetch in a pseudo-terminal), and reports its seconds
per 1000 downloads, peak RSS and when the dashboard first showed rows in a table of their
own. The dashboard's answer to each key with 100,000 rows is benchmarks/dashboard_keys.py.
The writer scenario (run only when named) downloads the 1 GiB file with afetch's aiofiles
body writer and with the ``os.pwritev`` writer it replaced (benchmarks/writers.py runs
afetch with that one), at -x1 and -x4, the runs alternating; it prints aiofiles/pwritev.
The latency scenario fetches the 1000 small files from a second server,
benchmarks/latency_server.py, which holds every response back by --latency-ms (default
20 ms) and keeps connections alive; its ideal time (count x delay / 16) is printed beside.

Reference rows: ``bare`` is benchmarks/bare.py, a minimal aiohttp loop (one session, a
semaphore, blocking writes; no retries, no state) run with this interpreter, i.e. the
same aiohttp as afetch: the library's floor as a measured number. ``parfive`` and
``pypdl`` are what a Python user would pick instead; they run through
benchmarks/pylibs.py in the benchmark's own tool environment (WORKDIR/tools-venv, made
with pip when this interpreter cannot import them).

A scenario has several rows, one per tool and option set (``afetch -x1``, ``afetch -x4``,
``aria2c -x16 -s16`` ...). afetch always runs with -q, --no-fsync (the other tools do not
fsync either), --max-per-host 16 and a fresh --state file per run, so that nothing resumes.
The results end with the performance bar of issue 5 (pass/FAIL per target); --markdown
prints the table in Markdown with the machine, date, server and output filesystem.

Every run downloads into a fresh empty directory, on tmpfs (/dev/shm) by default so that
disk writeback does not dominate; --out-dir picks another place. Each tool is started by
a tiny launcher that measures wall time (time.perf_counter, process start-up included)
and peak RSS (ru_maxrss from os.wait4) of the tool alone. Outputs are verified after the
timed part (sizes and content; sha256 for the big file), so a tool that failed is
reported as failed, never as fast. The source files are read once before timing, so
they are served from the page cache. The runs of a scenario alternate between its rows
(row 1, row 2, ..., row 1, row 2, ...), so that a noisy neighbour hurts every row alike;
the table shows medians. CPU seconds (user + system of the tool and its children, from
os.wait4) are shown per GiB and per 1000 files for every row.

--quick runs each row once on smaller lists (200 small files, 20 medium, 1000 queued,
200 with latency) and leaves out the big and throttled scenarios unless they are named:
a smoke test of the harness, not a measurement.

Only the standard library is used (aiohttp for the bare loop and the fallback server).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import datetime as dt
import hashlib
import importlib.util
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

BIG_SIZE = 1 * GIB
BIG_CHUNK = 4 * MIB
SLOW_SIZE = 100 * MIB
SLOW_RATE = "10m"  # nginx limit_rate per connection (m = MiB)
SMALL_COUNT, SMALL_SIZE = 1000, 16 * KIB
MEDIUM_COUNT, MEDIUM_SIZE = 200, 1 * MIB
QUEUE_COUNT = 10_000
PARALLEL = 16
DATA_VERSION = 3

LATENCY_MS = 20.0

ALL_SCENARIOS = ("big", "throttled", "small", "medium", "queue10k", "latency", "scale", "writer")
QUICK_SCENARIOS = ("small", "medium", "queue10k", "latency")
SCALE_QUICK_SIZES = "200,1000"  # --quick --scenarios scale: a smoke run of scale.py
SCALE_RATIO = 1.2  # issue 14: s/1000 at 100k within 1.2x that at 1k
SCALE_RSS_MB = 250  # issue 12: 100,000 URLs with <= 250 MB RSS
SCALE_DASHBOARD_START = 5.0  # issue 14: the dashboard with 100,000 rows starts in <= 5 s
QUICK_COUNTS = {"small": 200, "medium": 20, "queue10k": 1000, "latency": 200}
NGINX_ONLY = ("throttled",)
ALL_TOOLS = ("afetch", "bare", "aria2c", "curl", "wget", "parfive", "pypdl")
PYTHON_LIBS = ("parfive", "pypdl")
PYTHON_LIB_REQUIREMENTS = ("parfive>=2.3,<3", "pypdl>=1.5,<2")
HERE = Path(__file__).resolve().parent
ARIA2_COMMON = (
    "--allow-overwrite=true",
    "--auto-file-renaming=false",
    "--file-allocation=none",
    "--console-log-level=warn",
    "--summary-interval=0",
    "-q",
)
AFETCH_COMMON = ("-q", "--no-fsync", "--max-per-host", str(PARALLEL))
STDERR_TAIL = 400


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class FileSpec:
    """One file a scenario downloads: its URL path, output name and expected content."""

    url_path: str
    out_name: str
    source: Path


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    files: tuple[FileSpec, ...]
    total_bytes: int
    server: str = "main"  # "latency": the delaying server of benchmarks/latency_server.py
    ideal_s: float | None = None  # the best time the server allows (latency scenario)

    @property
    def is_single(self) -> bool:
        return len(self.files) == 1


@dataclass
class DataSet:
    root: Path
    big_sha256: str

    @property
    def big(self) -> Path:
        return self.root / "big.bin"

    @property
    def slow(self) -> Path:
        return self.root / "slow" / "slow.bin"

    def small(self, i: int) -> Path:
        return self.root / "small" / f"s{i:04d}.bin"

    def medium(self, i: int) -> Path:
        return self.root / "medium" / f"m{i:03d}.bin"

    @property
    def queue_source(self) -> Path:
        return self.small(0)


def _write_big(path: Path) -> str:
    """Write BIG_SIZE bytes: one random block, each copy stamped with its index."""
    base = os.urandom(BIG_CHUNK)
    digest = hashlib.sha256()
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        for i in range(BIG_SIZE // BIG_CHUNK):
            chunk = i.to_bytes(8, "little") + base[8:]
            digest.update(chunk)
            f.write(chunk)
    tmp.replace(path)
    return digest.hexdigest()


def _write_many(directory: Path, names: list[str], size: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_bytes(os.urandom(size))


# The parts of the data set, and the scenarios that need each.
DATA_PARTS = {
    "big": ("big", "writer"),
    "slow": ("throttled",),
    "small": ("small", "queue10k", "latency"),
    "medium": ("medium",),
}


def parts_for(scenarios: list[str]) -> list[str]:
    """The data parts the chosen scenarios read (small is always made: servers probe it)."""
    return [p for p, users in DATA_PARTS.items() if p == "small" or set(users) & set(scenarios)]


def _part_complete(data: DataSet, part: str) -> bool:
    checks = {
        "big": [(data.big, BIG_SIZE)],
        "slow": [(data.slow, SLOW_SIZE)],
        "small": [(data.small(i), SMALL_SIZE) for i in range(SMALL_COUNT)],
        "medium": [(data.medium(i), MEDIUM_SIZE) for i in range(MEDIUM_COUNT)],
    }[part]
    return all(p.is_file() and p.stat().st_size == size for p, size in checks)


def _make_part(data: DataSet, part: str) -> None:
    if part == "big":
        data.big_sha256 = _write_big(data.big)
    elif part == "slow":
        _write_many(data.slow.parent, [data.slow.name], SLOW_SIZE)
    elif part == "small":
        names = [data.small(i).name for i in range(SMALL_COUNT)]
        _write_many(data.small(0).parent, names, SMALL_SIZE)
    else:
        names = [data.medium(i).name for i in range(MEDIUM_COUNT)]
        _write_many(data.medium(0).parent, names, MEDIUM_SIZE)


def ensure_data(root: Path, parts: list[str] | None = None) -> DataSet:
    """Create the parts of the test data the run needs once; reuse complete parts afterwards.

    The small files are always made (the servers are probed with one). The manifest lists
    the parts made with this DATA_VERSION (and the big file's sha256).
    """
    wanted = list(DATA_PARTS) if parts is None else list(dict.fromkeys(["small", *parts]))
    manifest = root / "manifest.json"
    meta: dict[str, object] = {}
    if manifest.is_file():
        meta = json.loads(manifest.read_text())
        if meta.get("version") != DATA_VERSION:
            meta = {}
    made = set(meta.get("parts", [])) if isinstance(meta.get("parts"), list) else set()
    data = DataSet(root, str(meta.get("big_sha256", "")))
    missing = [p for p in wanted if p not in made or not _part_complete(data, p)]
    if not missing:
        print(f"Reusing test data in {root}")
        return data
    print(f"Creating test data in {root} ({', '.join(missing)}) ...", flush=True)
    t0 = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    for part in missing:
        _make_part(data, part)
        made.add(part)
    manifest.write_text(
        json.dumps({"version": DATA_VERSION, "big_sha256": data.big_sha256, "parts": sorted(made)})
    )
    print(f"  done in {time.perf_counter() - t0:.1f} s")
    return data


def warm_page_cache(data: DataSet) -> None:
    """Read every source file once so that all tools see the same (cached) source."""
    for path in sorted(data.root.rglob("*.bin")):
        with path.open("rb") as f:
            while f.read(BIG_CHUNK):
                pass


def build_scenarios(
    data: DataSet, latency_ms: float = LATENCY_MS, counts: dict[str, int] | None = None
) -> dict[str, Scenario]:
    """Every scenario; counts (from --quick) shortens the lists of the named ones."""
    counts = counts or {}
    n_small = counts.get("small", SMALL_COUNT)
    n_medium = counts.get("medium", MEDIUM_COUNT)
    n_queue = counts.get("queue10k", QUEUE_COUNT)
    n_latency = counts.get("latency", SMALL_COUNT)
    small = tuple(
        FileSpec(f"/small/{data.small(i).name}", data.small(i).name, data.small(i))
        for i in range(SMALL_COUNT)
    )
    medium = tuple(
        FileSpec(f"/medium/{data.medium(i).name}", data.medium(i).name, data.medium(i))
        for i in range(n_medium)
    )
    # /q/<n>/q<n>.bin is mapped by the server onto one 16 KiB file: 10,000 distinct URLs
    # with distinct output names, without 10,000 files on disk.
    queue = tuple(
        FileSpec(f"/q/{n}/q{n:05d}.bin", f"q{n:05d}.bin", data.queue_source) for n in range(n_queue)
    )
    ideal = n_latency * latency_ms / 1000 / PARALLEL
    return {
        "big": Scenario(
            "big", "1 file x 1 GiB", (FileSpec("/big.bin", "big.bin", data.big),), BIG_SIZE
        ),
        "writer": Scenario(
            "writer",
            "1 file x 1 GiB: the aiofiles body writer against the old pwritev one",
            (FileSpec("/big.bin", "big.bin", data.big),),
            BIG_SIZE,
        ),
        "throttled": Scenario(
            "throttled",
            f"1 file x 100 MiB, nginx limit_rate {SLOW_RATE} per connection",
            (FileSpec("/slow/slow.bin", "slow.bin", data.slow),),
            SLOW_SIZE,
        ),
        "small": Scenario("small", f"{n_small} x 16 KiB", small[:n_small], n_small * SMALL_SIZE),
        "medium": Scenario("medium", f"{n_medium} x 1 MiB", medium, n_medium * MEDIUM_SIZE),
        "queue10k": Scenario("queue10k", f"{n_queue} x 16 KiB queued", queue, n_queue * SMALL_SIZE),
        "latency": Scenario(
            "latency",
            f"{n_latency} x 16 KiB, {latency_ms:g} ms per request"
            f" (ideal at {PARALLEL} connections: {ideal:.2f} s)",
            small[:n_latency],
            n_latency * SMALL_SIZE,
            server="latency",
            ideal_s=ideal,
        ),
    }


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nginx_config(prefix: Path, data_root: Path, port: int) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = {name: prefix / "tmp" / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    return f"""{user}worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    default_type application/octet-stream;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    server {{
        listen 127.0.0.1:{port};
        root {data_root};
        location /q/ {{ rewrite ^ /small/s0000.bin break; }}
        location /slow/ {{ limit_rate {SLOW_RATE}; }}
    }}
}}
"""


def nginx_command(prefix: Path, data_root: Path, port: int) -> list[str]:
    for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(prefix, data_root, port))
    return [
        "nginx",
        "-p", str(prefix),
        "-e", str(prefix / "error.log"),
        "-c", str(conf),
        "-g", "daemon off;",
    ]  # fmt: skip


AIOHTTP_SERVER = """
import sys
from pathlib import Path
from aiohttp import web

root, port = Path(sys.argv[1]), int(sys.argv[2])
queued = root / "small" / "s0000.bin"

async def queue_file(request):
    return web.FileResponse(queued)

app = web.Application()
app.router.add_get("/q/{n}/{name}", queue_file)
app.router.add_static("/", root)
web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)
"""


def aiohttp_command(data_root: Path, port: int) -> list[str]:
    return [sys.executable, "-c", AIOHTTP_SERVER, str(data_root), str(port)]


def wait_until_serving(proc: subprocess.Popen[bytes], url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if len(resp.read()) == SMALL_SIZE:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url} within {timeout:.0f} s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def choose_server(kind: str) -> str:
    if kind != "auto":
        return kind
    if shutil.which("nginx"):
        return "nginx"
    return "aiohttp"


@contextlib.contextmanager
def serve(kind: str, data: DataSet, workdir: Path) -> Iterator[str]:
    """Start the HTTP server, yield its base URL, and always stop it."""
    if kind == "aiohttp" and importlib.util.find_spec("aiohttp") is None:
        raise SystemExit("nginx is not installed and aiohttp is not importable: no server")
    port = free_port()
    prefix = workdir / "nginx"
    if kind == "nginx":
        cmd = nginx_command(prefix, data.root, port)
    else:
        cmd = aiohttp_command(data.root, port)
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_serving(proc, base + "/small/s0000.bin")
        except RuntimeError as exc:
            extra = ""
            if kind == "nginx" and (prefix / "error.log").is_file():
                extra = (prefix / "error.log").read_text()[-STDERR_TAIL:]
            raise SystemExit(f"Could not start the {kind} server: {exc}\n{extra}") from exc
        yield base
    finally:
        stop_process(proc)
        log.close()


@contextlib.contextmanager
def serve_latency(data: DataSet, workdir: Path, delay_ms: float) -> Iterator[str]:
    """Start benchmarks/latency_server.py on the data dir, yield its base URL, stop it."""
    port = free_port()
    script = HERE / "latency_server.py"
    cmd = [sys.executable, str(script), str(data.root), str(port), "--delay-ms", str(delay_ms)]
    log = (workdir / "latency-server.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_serving(proc, base + "/small/s0000.bin")
        except RuntimeError as exc:
            raise SystemExit(f"Could not start the latency server: {exc}") from exc
        yield base
    finally:
        stop_process(proc)
        log.close()


# --------------------------------------------------------------------------- tools


@dataclass
class Tool:
    name: str
    argv: list[str]  # the command prefix, e.g. ["curl"] or ["python", "-m", "afetch_tui"]
    available: bool
    note: str = ""


@dataclass
class Lists:
    """Input files for one scenario: a plain URL list and a curl config."""

    urls: Path
    curl_config: Path


@dataclass(frozen=True)
class Variant:
    """One row of a scenario: a tool with its own options, e.g. ``afetch -x4``."""

    label: str
    tool: str
    args: tuple[str, ...] = ()
    max_runs: int | None = None  # fewer runs, e.g. a row that is only there for its RSS
    aria2c_peer: str = ""  # the aria2c row it is compared with (default: the first one)
    writer: str = ""  # "pwritev": afetch with the old body writer (benchmarks/writers.py)


def variants_for(scenario: Scenario) -> tuple[Variant, ...]:
    """The rows of a scenario, in table order."""
    if scenario.name == "big":
        return (
            Variant("afetch -x1", "afetch", ("-x1",)),
            Variant("afetch -x4", "afetch", ("-x4",)),
            Variant("afetch -x16", "afetch", ("-x16",), max_runs=1),
            Variant("aria2c -x16 -s16", "aria2c", ("-x16", "-s16")),
            Variant("curl", "curl"),
            Variant("wget", "wget"),
            Variant("bare", "bare", ("-j1",)),
            Variant("parfive -s16", "parfive", ("-j1", "-s16"), max_runs=1),
            Variant("pypdl -s16", "pypdl", ("-j1", "-s16"), max_runs=1),
        )
    if scenario.name == "writer":
        return (
            Variant("afetch -x1", "afetch", ("-x1",)),
            Variant("pwritev -x1", "afetch", ("-x1",), writer="pwritev"),
            Variant("afetch -x4", "afetch", ("-x4",)),
            Variant("pwritev -x4", "afetch", ("-x4",), writer="pwritev"),
        )
    if scenario.name == "throttled":
        return (
            Variant("afetch -x1", "afetch", ("-x1",), aria2c_peer="aria2c -x1"),
            Variant("afetch -x4", "afetch", ("-x4",), aria2c_peer="aria2c -x4 -s4"),
            Variant("aria2c -x1", "aria2c", ("-x1",)),
            Variant("aria2c -x4 -s4", "aria2c", ("-x4", "-s4")),
            Variant("curl", "curl"),
        )
    jobs = f"-j{PARALLEL}"
    rows = [
        Variant(f"afetch {jobs}", "afetch", (jobs,)),
        Variant(f"bare {jobs}", "bare", (jobs,)),
        Variant(f"aria2c {jobs}", "aria2c", (jobs,)),
        Variant("curl --parallel", "curl", ("--parallel", "--parallel-max", str(PARALLEL))),
        Variant(f"parfive {jobs}", "parfive", (jobs,)),
        # pypdl takes ~40x the ideal with latency and ~4x afetch on 10k: one run is enough
        Variant(
            f"pypdl {jobs}",
            "pypdl",
            (jobs,),
            max_runs=1 if scenario.name in ("latency", "queue10k") else None,
        ),
    ]
    if scenario.name != "latency":  # one file at a time: count x delay, nothing to learn
        rows.insert(4, Variant("wget", "wget"))
    return tuple(rows)


def python_libs_env(workdir: Path) -> tuple[str | None, str]:
    """An interpreter that imports parfive and pypdl: this one, or WORKDIR/tools-venv.

    Returns (python, "") or (None, why not). The tool venv is made once with pip.
    """
    probe = "import parfive, pypdl"

    def imports(python: str) -> bool:
        out = subprocess.run([python, "-c", probe], capture_output=True, check=False)
        return out.returncode == 0

    if imports(sys.executable):
        return sys.executable, ""
    venv = workdir / "tools-venv"
    python = venv / "bin" / "python"
    if python.exists() and imports(str(python)):
        return str(python), ""
    print(f"Installing {', '.join(PYTHON_LIB_REQUIREMENTS)} into {venv} ...", flush=True)
    steps = (
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "-q", *PYTHON_LIB_REQUIREMENTS],
    )
    for step in steps:
        out = subprocess.run(step, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["?"]
            return None, f"could not install into {venv}: {tail[0]}"
    return str(python), ""


def find_tools(afetch_cmd: str, wanted: list[str], workdir: Path) -> dict[str, Tool]:
    tools: dict[str, Tool] = {}
    libs_python: tuple[str | None, str] | None = None
    for name in wanted:
        if name == "bare":
            found = importlib.util.find_spec("aiohttp") is not None
            argv = [sys.executable, str(HERE / "bare.py")]
            tools[name] = Tool(name, argv, found, "" if found else "aiohttp is not importable")
            continue
        if name in PYTHON_LIBS:
            if libs_python is None:
                libs_python = python_libs_env(workdir)
            python, why = libs_python
            argv = [python or "python", str(HERE / "pylibs.py"), name]
            tools[name] = Tool(name, argv, python is not None, why)
            continue
        argv = shlex.split(afetch_cmd) if name == "afetch" else [name]
        exe = shutil.which(argv[0])
        if exe is None and name == "afetch":
            # Running with the venv's python while its bin/ is not on PATH.
            candidate = Path(sys.executable).parent / "afetch"
            exe = str(candidate) if candidate.exists() else None
        if exe is None:
            tools[name] = Tool(name, argv, False, f"not found on PATH ({argv[0]})")
        else:
            tools[name] = Tool(name, [exe, *argv[1:]], True)
    return tools


def compile_afetch() -> None:
    """Write afetch's bytecode once, as installing it does: with PYTHONDONTWRITEBYTECODE set
    (as on some CI machines) an editable install would otherwise compile its ~60 modules
    again in every run (~0.1 s of start-up that no installed afetch pays)."""
    spec = importlib.util.find_spec("afetch_tui")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            compileall.compile_dir(location, quiet=1)


def tool_version(tool: Tool) -> str:
    try:
        out = subprocess.run(
            [*tool.argv, "--version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (out.stdout or out.stderr).strip().splitlines()
    if out.returncode != 0 or not text:
        return "? (--version failed)"
    return " ".join(text[0].split()[:3])


def write_lists(scenario: Scenario, base: str, listdir: Path, out_dir: Path) -> Lists:
    listdir.mkdir(parents=True, exist_ok=True)
    urls = listdir / f"{scenario.name}.txt"
    urls.write_text("".join(f"{base}{f.url_path}\n" for f in scenario.files))
    curl_config = listdir / f"{scenario.name}.curl"
    curl_config.write_text(
        "".join(
            f'url = "{base}{f.url_path}"\noutput = "{out_dir / f.out_name}"\n'
            for f in scenario.files
        )
    )
    return Lists(urls, curl_config)


def afetch_prefix(tool: Tool, variant: Variant, state: Path) -> list[str]:
    argv = tool.argv
    if variant.writer == "pwritev":  # this interpreter, with afetch's old body writer
        argv = [sys.executable, str(HERE / "writers.py"), "afetch"]
    return [*argv, "get", *variant.args, *AFETCH_COMMON, "--state", str(state)]


def single_command(
    tool: Tool, variant: Variant, url: str, out_dir: Path, out_name: str, state: Path
) -> list[str]:
    target = str(out_dir / out_name)
    extra = list(variant.args)
    match tool.name:
        case "afetch":
            return [*afetch_prefix(tool, variant, state), "-d", str(out_dir), url]
        case "curl":
            return [*tool.argv, *extra, "-s", "-f", "-o", target, url]
        case "aria2c":
            return [*tool.argv, *extra, *ARIA2_COMMON, "-d", str(out_dir), url]
        case "wget":
            return [*tool.argv, *extra, "-q", "-O", target, url]
        case "bare" | "parfive" | "pypdl":
            return [*tool.argv, *extra, "-d", str(out_dir), url]
    raise ValueError(tool.name)


def list_command(
    tool: Tool, variant: Variant, lists: Lists, out_dir: Path, state: Path
) -> list[str]:
    extra = list(variant.args)
    match tool.name:
        case "afetch":
            return [*afetch_prefix(tool, variant, state), "-d", str(out_dir), "-i", str(lists.urls)]
        case "curl":
            return [*tool.argv, *extra, "-s", "-f", "-K", str(lists.curl_config)]
        case "aria2c":
            return [*tool.argv, *extra, *ARIA2_COMMON, "-i", str(lists.urls), "-d", str(out_dir)]
        case "wget":
            return [*tool.argv, *extra, "-q", "-i", str(lists.urls), "-P", str(out_dir)]
        case "bare" | "parfive" | "pypdl":
            return [*tool.argv, *extra, "-d", str(out_dir), "-i", str(lists.urls)]
    raise ValueError(tool.name)


# --------------------------------------------------------------------------- measuring


@dataclass
class RunResult:
    wall_s: float
    maxrss_kib: int
    cpu_s: float  # user + system seconds of the tool and the children it waited for
    ok: bool
    error: str = ""  # one line, for the tables
    output_tail: str = ""  # the end of the tool's stdout/stderr, kept for --json


@dataclass
class Measurement:
    tool: str
    scenario: str
    label: str  # the row, e.g. "afetch -x4"
    command: list[str]
    runs: list[RunResult] = field(default_factory=list)
    skipped: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r.ok for r in self.runs)

    @property
    def median_s(self) -> float:
        return statistics.median(r.wall_s for r in self.runs)

    @property
    def peak_rss_kib(self) -> int:
        return max(r.maxrss_kib for r in self.runs)

    @property
    def median_cpu_s(self) -> float:
        return statistics.median(r.cpu_s for r in self.runs)

    @property
    def error(self) -> str:
        return next((r.error for r in self.runs if not r.ok), "")


# ru_maxrss also counts the memory of the process that called exec(): a child that this
# (large) Python process vfork()s would report at least this process's own peak RSS. So
# each tool is forked by a small fresh interpreter that reports wall time, exit status
# and ru_maxrss from os.wait4. Its own footprint is a floor, measured with `true`.
LAUNCHER = """
import os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        os.write(2, f"cannot run {argv[0]}: {exc}\\n".encode())
    os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(report, "w") as f:
    cpu = usage.ru_utime + usage.ru_stime
    f.write(f"{wall} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)} {cpu}")
"""


@dataclass
class ProcResult:
    wall_s: float
    maxrss_kib: int
    exit_code: int
    output_tail: str
    cpu_s: float = 0.0
    timed_out: bool = False


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the launcher and the tool (they share a new session) if still running."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_timed(cmd: list[str], cwd: Path, timeout: float) -> ProcResult:
    """Run cmd through LAUNCHER; stdout and stderr are kept for error messages."""
    with tempfile.TemporaryDirectory(prefix="afetch-bench-") as tmp:
        report, output = Path(tmp) / "report", Path(tmp) / "output"
        launcher = [sys.executable, "-S", "-I", "-c", LAUNCHER, str(report), *cmd]
        with output.open("wb") as out:
            proc = subprocess.Popen(
                launcher,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
            finally:
                kill_group(proc)
        tail = output.read_bytes()[-STDERR_TAIL:].decode(errors="replace").strip()
        if not report.is_file():
            return ProcResult(timeout, 0, -1, tail, timed_out=True)
        wall, rss, code, cpu = report.read_text().split()
    return ProcResult(float(wall), int(rss), int(code), tail, float(cpu))


def rss_floor_kib() -> int:
    """The smallest peak RSS the launcher can report (its own footprint at fork)."""
    true = shutil.which("true") or "/bin/true"
    return run_timed([true], Path.cwd(), 30).maxrss_kib


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(BIG_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(scenario: Scenario, out_dir: Path, data: DataSet) -> str:
    """Return "" when every expected output is complete and correct, else a reason."""
    cached: tuple[Path, bytes] | None = None  # queue10k compares against one source
    bad: list[str] = []
    for spec in scenario.files:
        out = out_dir / spec.out_name
        if not out.is_file():
            bad.append(f"{spec.out_name}: missing")
        elif out.stat().st_size != spec.source.stat().st_size:
            bad.append(f"{spec.out_name}: {out.stat().st_size} bytes")
        elif spec.source == data.big:
            if file_sha256(out) != data.big_sha256:
                bad.append(f"{spec.out_name}: sha256 mismatch")
        else:
            if cached is None or cached[0] != spec.source:
                cached = (spec.source, spec.source.read_bytes())
            if out.read_bytes() != cached[1]:
                bad.append(f"{spec.out_name}: content differs")
    if not bad:
        return ""
    return f"{len(bad)}/{len(scenario.files)} outputs wrong, e.g. " + "; ".join(bad[:3])


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def measure_once(
    cmd: list[str], scenario: Scenario, out_dir: Path, data: DataSet, timeout: float
) -> RunResult:
    fresh_dir(out_dir)
    fresh_dir(state_dir(out_dir))  # afetch's --state: nothing resumes from an earlier run
    res = run_timed(cmd, out_dir.parent, timeout)
    if res.timed_out:
        error = f"timed out after {timeout:.0f} s"
    elif res.exit_code != 0:
        last_line = res.output_tail.splitlines()[-1] if res.output_tail else "(no output)"
        error = f"exit code {res.exit_code}: {last_line}"
    else:
        error = verify(scenario, out_dir, data)
    shutil.rmtree(out_dir, ignore_errors=True)
    return RunResult(res.wall_s, res.maxrss_kib, res.cpu_s, not error, error, res.output_tail)


def state_dir(out_dir: Path) -> Path:
    """Where afetch keeps its state file: next to the output dir, not inside it."""
    return out_dir.parent / "state"


def command_for(
    tool: Tool, variant: Variant, scenario: Scenario, base: str, lists: Lists, out_dir: Path
) -> list[str]:
    state = state_dir(out_dir) / "state.db"
    if scenario.is_single:
        spec = scenario.files[0]
        return single_command(tool, variant, base + spec.url_path, out_dir, spec.out_name, state)
    return list_command(tool, variant, lists, out_dir, state)


@dataclass
class RunContext:
    data: DataSet
    base_url: str
    out_dir: Path
    list_dir: Path
    timeout: float
    latency_url: str = ""


@dataclass
class Row:
    """A row being measured: its variant, command and the runs so far."""

    variant: Variant
    measurement: Measurement
    runs: int


def run_scenario(
    scenario: Scenario, tools: dict[str, Tool], runs: int, ctx: RunContext
) -> list[Measurement]:
    """Measure every row of a scenario, the runs alternating between rows."""
    print(f"\n[{scenario.name}] {scenario.description}", flush=True)
    base = ctx.latency_url if scenario.server == "latency" else ctx.base_url
    lists = write_lists(scenario, base, ctx.list_dir, ctx.out_dir)
    results: list[Measurement] = []
    rows: list[Row] = []
    for variant in variants_for(scenario):
        tool = tools.get(variant.tool)
        if tool is None:  # not picked with --tools
            continue
        cmd = command_for(tool, variant, scenario, base, lists, ctx.out_dir)
        m = Measurement(tool.name, scenario.name, variant.label, cmd)
        results.append(m)
        if not tool.available:
            m.skipped = tool.note
            print(f"  {variant.label:<16} skipped: {tool.note}")
            continue
        rows.append(Row(variant, m, min(runs, variant.max_runs or runs)))
    for i in range(runs):
        for row in rows:
            m = row.measurement
            if i >= row.runs or (m.runs and not m.ok):  # a failing tool is not timed again
                continue
            r = measure_once(m.command, scenario, ctx.out_dir, ctx.data, ctx.timeout)
            m.runs.append(r)
            status = "ok" if r.ok else f"FAILED: {r.error}"
            print(
                f"  {row.variant.label:<16} {scenario.name:<9} run {i + 1}/{row.runs}: "
                f"{r.wall_s:7.2f} s  {r.cpu_s:6.2f} CPU s  {r.maxrss_kib / KIB:7.1f} MiB  {status}",
                flush=True,
            )
    return results


# --------------------------------------------------------------------------- report


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def mem_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / MIB:.1f} GiB"
    except OSError:
        pass
    return "?"


def machine_info(tools: dict[str, Tool], server: str) -> dict[str, str]:
    info = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": f"{os.cpu_count()} (usable: {len(os.sched_getaffinity(0))})",
        "cpu": cpu_model(),
        "memory": mem_total(),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "server": server,
        "rss floor": f"{rss_floor_kib() / KIB:.1f} MiB",
    }
    for tool in tools.values():
        info[tool.name] = tool_version(tool) if tool.available else f"skipped: {tool.note}"
    return info


def nginx_version() -> str:
    """'nginx/1.22.1' from `nginx -v` (which prints to stderr), or 'nginx'."""
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        out = subprocess.run(["nginx", "-v"], capture_output=True, text=True, timeout=10)
        for word in (out.stderr + out.stdout).split():
            if word.startswith("nginx/"):
                return word
    return "nginx"


def server_description(server: str) -> str:
    if server == "nginx":
        return f"{nginx_version()} (1 worker, sendfile, 127.0.0.1)"
    return "aiohttp static server (127.0.0.1)"


def print_header(info: dict[str, str]) -> None:
    print("afetch benchmark")
    print("=" * 78)
    for key, value in info.items():
        print(f"{key:>9}: {value}")
    notes = [
        "source files are in the page cache (one warm-up read before timing)",
        "wall time includes process start-up; peak RSS is ru_maxrss from os.wait4",
        f"peak RSS values at the launcher floor ({info['rss floor']}) are upper bounds",
        f"afetch runs with {' '.join(AFETCH_COMMON)} and a fresh --state per run",
        f"  (its default per-host cap is 4); aria2c -j{PARALLEL} is not per-host limited",
        "the 'afetch -x16' row in big runs once: it is there for its peak RSS;"
        " so do parfive and pypdl in big, and pypdl in queue10k and latency (slow)",
        f"throttled: nginx limit_rate {SLOW_RATE} (MiB/s) per connection; needs nginx",
        "wget fetches lists sequentially (a reference only; not in latency)",
        "runs alternate between the rows of a scenario; the table shows medians",
        "bare = benchmarks/bare.py: one aiohttp session, a semaphore, blocking writes",
        "latency: benchmarks/latency_server.py delays every request, keeps connections alive",
        "CPU: user + system seconds of the tool and its children (os.wait4)",
        "outputs go to the 'output' dir above: tmpfs keeps disk speed out of it;"
        " try --out-dir for a disk",
    ]
    print("    notes: " + "\n           ".join(notes))
    print("=" * 78)


def fmt_ratio(num: Measurement | None, den: Measurement | None, attr: str) -> str:
    if num is None or den is None or not num.ok or not den.ok:
        return "n/a"
    a, b = getattr(num, attr), getattr(den, attr)
    return f"{a / b:.2f}x" if b else "n/a"


def find_row(results: list[Measurement], scenario: str, label: str) -> Measurement | None:
    return next((m for m in results if m.scenario == scenario and m.label == label), None)


def reference(
    results: list[Measurement], m: Measurement, tool: str, scenarios: dict[str, Scenario]
) -> Measurement | None:
    """The row m is compared with: its own aria2c peer, else the scenario's first row of tool."""
    rows = [r for r in results if r.scenario == m.scenario and r.tool == tool]
    if tool == "aria2c":
        peers = {v.label: v.aria2c_peer for v in variants_for(scenarios[m.scenario])}
        peer = find_row(results, m.scenario, peers.get(m.label, ""))
        if peer is not None:
            return peer
    return rows[0] if rows else None


def rate_mb_s(m: Measurement, scenarios: dict[str, Scenario]) -> float:
    return scenarios[m.scenario].total_bytes / m.median_s / 1e6


def cpu_per_gib(m: Measurement, scenarios: dict[str, Scenario]) -> float:
    return m.median_cpu_s / (scenarios[m.scenario].total_bytes / GIB)


def cpu_per_1000_files(m: Measurement, scenarios: dict[str, Scenario]) -> float:
    return m.median_cpu_s / (len(scenarios[m.scenario].files) / 1000)


def vs_ideal(m: Measurement, scenarios: dict[str, Scenario]) -> str:
    ideal = scenarios[m.scenario].ideal_s
    return f"{m.median_s / ideal:.2f}x ideal" if ideal else ""


def print_results(results: list[Measurement], scenarios: dict[str, Scenario]) -> None:
    print("\nResults (median wall time and CPU, max peak RSS over runs)")
    cols = f"{'runs':>4} {'median s':>9} {'MB/s':>7} {'CPU/GiB':>8} {'CPU/1k':>7} {'peak RSS':>10}"
    print(f"{'scenario':<9} {'tool':<16} {cols}  status")
    for m in results:
        head = f"{m.scenario:<9} {m.label:<16}"
        blank = f"{'':>9} {'':>7} {'':>8} {'':>7} {'':>10}"
        if m.skipped:
            print(f"{head} {'':>4} {blank}  skipped: {m.skipped}")
        elif not m.ok:
            print(f"{head} {len(m.runs):>4} {blank}  FAILED: {m.error}")
        else:
            rate = rate_mb_s(m, scenarios)
            rss = f"{m.peak_rss_kib / KIB:.1f} MiB"
            cpu = f"{cpu_per_gib(m, scenarios):>8.2f} {cpu_per_1000_files(m, scenarios):>7.2f}"
            print(
                f"{head} {len(m.runs):>4} {m.median_s:>9.2f} {rate:>7.0f} {cpu} {rss:>10}"
                f"  ok {vs_ideal(m, scenarios)}"
            )
    print("(CPU/GiB and CPU/1k: median CPU seconds, user + system, per GiB and per 1000 files)")
    print_ratios(results, scenarios)
    print_writers(results)
    print_speedups(results)
    print_bar(results)


REFERENCES = ("aria2c", "curl", "bare")


def print_ratios(results: list[Measurement], scenarios: dict[str, Scenario]) -> None:
    print("\nRatios of afetch rows (below 1.00x means afetch is faster / smaller)")
    cols = f"{'time/aria2c':>11} {'RSS/aria2c':>10} {'time/curl':>9} {'RSS/curl':>8}"
    cols += f" {'time/bare':>9}"
    print(f"{'scenario':<9} {'tool':<12} {cols}  aria2c row")
    for m in results:
        if m.tool != "afetch":
            continue
        aria2c, curl, bare = (reference(results, m, ref, scenarios) for ref in REFERENCES)
        print(
            f"{m.scenario:<9} {m.label:<12} {fmt_ratio(m, aria2c, 'median_s'):>11}"
            f" {fmt_ratio(m, aria2c, 'peak_rss_kib'):>10}"
            f" {fmt_ratio(m, curl, 'median_s'):>9}"
            f" {fmt_ratio(m, curl, 'peak_rss_kib'):>8}"
            f" {fmt_ratio(m, bare, 'median_s'):>9}  {aria2c.label if aria2c else '-'}"
        )
    afetch_rows = [m for m in results if m.tool == "afetch"]
    if not afetch_rows or all(m.skipped for m in afetch_rows):
        print("(afetch was not measured: install it, or pass --afetch 'python -m afetch_tui')")
    elif any(not m.ok for m in afetch_rows):
        print("(afetch FAILED in some scenarios; see the status column above)")


WRITER_TARGET = 1.03  # issue 10: the aiofiles writer within 3% of the pwritev one


def writer_ratios(results: list[Measurement]) -> list[tuple[str, float | None, float | None]]:
    """(connections, time aiofiles/pwritev, CPU aiofiles/pwritev) in the writer scenario."""
    out: list[tuple[str, float | None, float | None]] = []
    for x in ("-x1", "-x4"):
        a = find_row(results, "writer", f"afetch {x}")
        b = find_row(results, "writer", f"pwritev {x}")
        if a is None or b is None:
            continue
        ok = a.ok and b.ok
        out.append(
            (
                x,
                a.median_s / b.median_s if ok else None,
                a.median_cpu_s / b.median_cpu_s if ok and b.median_cpu_s else None,
            )
        )
    return out


def print_writers(results: list[Measurement]) -> None:
    rows = writer_ratios(results)
    if not rows:
        return
    print(f"\nBody writer, 1 GiB: aiofiles / pwritev (target <= {WRITER_TARGET:g}x at -x1)")
    for x, wall, cpu in rows:
        shown = f"{wall:.3f}x" if wall is not None else "n/a"
        cpu_shown = f"{cpu:.3f}x" if cpu is not None else "n/a"
        print(f"  {x:<4} time {shown:>7}  CPU {cpu_shown:>7}")


# (tool, single-connection row, multi-connection row) in the throttled scenario
SPEEDUPS = (
    ("afetch", "afetch -x1", "afetch -x4"),
    ("aria2c", "aria2c -x1", "aria2c -x4 -s4"),
)
SPEEDUP_TARGET = 3.5


def speedups(results: list[Measurement]) -> list[tuple[str, str, float | None]]:
    """(tool, 'x4 vs x1' text, speed-up) for the throttled scenario, where measured."""
    out: list[tuple[str, str, float | None]] = []
    for tool, one, many in SPEEDUPS:
        a, b = find_row(results, "throttled", one), find_row(results, "throttled", many)
        if a is None or b is None:
            continue
        value = a.median_s / b.median_s if a.ok and b.ok else None
        out.append((tool, f"{many} vs {one}", value))
    return out


def print_speedups(results: list[Measurement]) -> None:
    rows = speedups(results)
    if not rows:
        return
    print(f"\nSpeed-up with 4 connections, throttled (target >= {SPEEDUP_TARGET}x)")
    for tool, what, value in rows:
        shown = f"{value:.2f}x" if value is not None else "n/a"
        print(f"  {tool:<7} {what:<30} {shown:>7}")


RSS_MB = 1_000_000 / KIB  # KiB per MB, for the targets in MB


def bar_checks(results: list[Measurement]) -> list[tuple[str, str, bool | None]]:
    """The targets of issues 5 and 12: (target, measured, passed or None when not measured)."""
    checks: list[tuple[str, str, bool | None]] = []

    def ratio(scenario: str, label: str, ref: str, limit: float, what: str) -> None:
        a, b = find_row(results, scenario, label), find_row(results, scenario, ref)
        if a is None or b is None:
            return
        text = f"{scenario}: {label} <= {limit:g}x {ref} ({what})"
        if a.ok and b.ok:
            value = a.median_s / b.median_s
            checks.append((text, f"{value:.2f}x", value <= limit))
        else:
            checks.append((text, "n/a", None))

    def rss(scenario: str, label: str, limit_mb: int) -> None:
        m = find_row(results, scenario, label)
        if m is None:
            return
        text = f"{scenario}: {label} peak RSS <= {limit_mb} MB"
        if m.ok:
            mb = m.peak_rss_kib / RSS_MB
            checks.append((text, f"{mb:.0f} MB", mb <= limit_mb))
        else:
            checks.append((text, "n/a", None))

    ratio("big", "afetch -x1", "aria2c -x16 -s16", 1.0, "issue 12")
    ratio("big", "afetch -x1", "curl", 1.2, "issue 12")
    ratio("big", "afetch -x4", "aria2c -x16 -s16", 1.0, "issue 5")
    ratio("big", "afetch -x4", "curl", 1.3, "issue 5")
    rss("big", "afetch -x16", 100)
    for tool, what, value in speedups(results):
        if tool == "afetch":
            text = f"throttled: {what} speed-up >= {SPEEDUP_TARGET}x"
            shown = f"{value:.2f}x" if value is not None else "n/a"
            checks.append((text, shown, None if value is None else value >= SPEEDUP_TARGET))
    jobs = f"-j{PARALLEL}"
    for scenario in ("small", "queue10k"):
        ratio(scenario, f"afetch {jobs}", f"bare {jobs}", 1.3, "issue 12")
        ratio(scenario, f"afetch {jobs}", f"aria2c {jobs}", 3.0, "issue 12")
    ratio("queue10k", f"afetch {jobs}", f"aria2c {jobs}", 1.2, "issue 5")
    rss("queue10k", f"afetch {jobs}", 100)
    ratio("latency", f"afetch {jobs}", f"aria2c {jobs}", 1.1, "issue 12")
    ratio("latency", f"afetch {jobs}", f"bare {jobs}", 1.05, "issue 12")
    return checks


def fmt_pass(ok: bool | None) -> str:
    return {True: "pass", False: "FAIL", None: "n/a"}[ok]


def print_bar(results: list[Measurement]) -> None:
    checks = bar_checks(results)
    if not checks:
        return
    print("\nTargets (issues 5 and 12)")
    for text, value, ok in checks:
        print(f"  {fmt_pass(ok):<4}  {text:<62} {value:>7}")


def markdown(
    info: dict[str, str], results: list[Measurement], scenarios: dict[str, Scenario], runs: int
) -> str:
    """The results as Markdown for the README: a header line, the table, the bar."""
    versions = [info[name] for name in ALL_TOOLS if name in info]
    tools = ", ".join(v.split(" (")[0] for v in versions if not v.startswith("skipped"))
    lines = [
        f"Measured {info['date'][:10]} on {info['nproc'].split()[0]} CPUs (nproc) "
        f"{info['cpu']}, {info['memory']} RAM, {info['kernel']}; "
        f"server {info['server']}; output on {info['output']}; "
        f"median of {runs} alternating run{'s' if runs > 1 else ''}"
        f" (peak RSS: max over runs); {tools}.",
        "",
        "| Scenario | Tool | Runs | Median s | MB/s | CPU s/GiB | CPU s/1000 files"
        " | Peak RSS MiB | Time vs aria2c | Time vs curl | Time vs bare |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    failures: list[str] = []
    for m in results:
        head = f"| {m.scenario} | `{m.label}` |"
        if m.skipped:
            lines.append(f"{head} | skipped | | | | | | | |")
            continue
        if not m.ok:
            failures.append(f"{m.scenario} `{m.label}`: {m.error}")
            lines.append(f"{head} {len(m.runs)} | **failed** | | | | | | | |")
            continue
        vs = []
        for ref in REFERENCES:
            other = reference(results, m, ref, scenarios)
            vs.append("" if other is m else fmt_ratio(m, other, "median_s"))
        lines.append(
            f"{head} {len(m.runs)} | {m.median_s:.2f} | {rate_mb_s(m, scenarios):.0f} |"
            f" {cpu_per_gib(m, scenarios):.2f} | {cpu_per_1000_files(m, scenarios):.2f} |"
            f" {m.peak_rss_kib / KIB:.1f} | {' | '.join(vs)} |"
        )
    shown = dict.fromkeys(m.scenario for m in results)
    lines += ["", "Scenarios: " + "; ".join(f"{s}: {scenarios[s].description}" for s in shown)]
    note = "Ratios are wall-time ratios (below 1.00x = faster)"
    if "throttled" in shown:
        note += "; in throttled, `afetch -xN` is compared with `aria2c -xN`"
    lines.append(note + ".")
    for text in failures:
        lines.append(f"Failed: {text}")
    for tool, what, value in speedups(results):
        shown_value = f"{value:.2f}x" if value is not None else "n/a"
        lines.append(f"Throttled speed-up, {tool} ({what}): {shown_value}.")
    checks = bar_checks(results)
    if checks:
        lines += ["", "| Target | Measured | |", "|---|--:|---|"]
        lines += [f"| {text} | {value} | {fmt_pass(ok)} |" for text, value, ok in checks]
    return "\n".join(lines) + "\n"


def write_json(
    path: Path, info: dict[str, str], results: list[Measurement], scale: list[ScaleRun]
) -> None:
    rows = []
    for m in results:
        row = asdict(m)
        row["ok"] = m.ok
        if m.ok:
            row["median_s"] = m.median_s
            row["peak_rss_kib"] = m.peak_rss_kib
        rows.append(row)
    data = {"machine": info, "results": rows, "scale": [asdict(r) for r in scale]}
    path.write_text(json.dumps(data, indent=2))
    print(f"\nRaw results written to {path}")


# --------------------------------------------------------------------------- scale


@dataclass
class ScaleRun:
    """One run of benchmarks/scale.py: a limits variant at one queue size."""

    variant: str
    size: int
    seconds: float
    per_thousand: float
    rss_mib: float
    ok: bool
    note: str = ""
    mode: str = "get"
    """``get``, or ``dashboard``: the real afetch dashboard in a pseudo-terminal."""
    rows_s: float | None = None
    """With the dashboard: seconds from the process start until the table showed a row."""

    @property
    def label(self) -> str:
        return self.variant if self.mode == "get" else f"{self.variant}, dashboard open"


def run_scale(
    afetch: Tool, server: str, workdir: Path, out_root: Path, quick: bool, timeout: float
) -> tuple[list[ScaleRun], str]:
    """Run benchmarks/scale.py with this afetch; (its runs, "" or why it gave none)."""
    print("\n[scale] benchmarks/scale.py: 1k/10k/100k URLs, defaults and -j16", flush=True)
    if not afetch.available:
        return [], afetch.note
    report = workdir / "scale.json"
    report.unlink(missing_ok=True)
    out_root.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, str(HERE / "scale.py"),
        "--afetch", shlex.join(afetch.argv),
        "--server", server,
        "--workdir", str(workdir / "scale"),
        "--out-dir", str(out_root),
        "--json", str(report),
        "--modes", "get,dashboard",
    ]  # fmt: skip
    if quick:
        cmd += ["--sizes", SCALE_QUICK_SIZES]
    try:
        out = subprocess.run(cmd, text=True, timeout=timeout * 6, check=False)
    except subprocess.TimeoutExpired:
        return [], f"scale.py timed out after {timeout * 6:.0f} s"
    if not report.is_file():
        return [], f"scale.py exited with code {out.returncode} and wrote no results"
    return [ScaleRun(**row) for row in json.loads(report.read_text())], ""


def scale_checks(runs: list[ScaleRun]) -> list[tuple[str, str, bool | None]]:
    """Issue 14's flat cost per download and issue 12's RSS bound, per variant."""
    checks: list[tuple[str, str, bool | None]] = []
    for variant in dict.fromkeys(r.label for r in runs):
        mine = [r for r in runs if r.label == variant]
        first, last = mine[0], mine[-1]
        ok = all(r.ok for r in mine)
        ratio = last.per_thousand / first.per_thousand if ok and first.per_thousand else None
        checks.append(
            (
                f"scale {variant}: s/1000 at {last.size:,} <= {SCALE_RATIO:g}x at {first.size:,}",
                f"{ratio:.2f}x" if ratio is not None else "n/a",
                None if ratio is None else ratio <= SCALE_RATIO,
            )
        )
        mb = last.rss_mib * MIB / 1e6
        checks.append(
            (
                f"scale {variant}: peak RSS with {last.size:,} <= {SCALE_RSS_MB} MB",
                f"{mb:.0f} MB" if last.ok else "n/a",
                mb <= SCALE_RSS_MB if last.ok else None,
            )
        )
        if last.mode == "dashboard":
            checks.append(
                (
                    f"scale {variant}: rows shown with {last.size:,} queued"
                    f" <= {SCALE_DASHBOARD_START:g} s",
                    f"{last.rows_s:.2f} s" if last.rows_s is not None else "n/a",
                    None if last.rows_s is None else last.rows_s <= SCALE_DASHBOARD_START,
                )
            )
    return checks


def print_scale(runs: list[ScaleRun], why: str) -> None:
    if why:
        print(f"\nScale (benchmarks/scale.py): not measured: {why}")
        return
    if not runs:
        return
    print("\nScale (benchmarks/scale.py; one run each, 1 KiB bodies)")
    print(f"{'variant':<50} {'URLs':>8} {'seconds':>9} {'s/1000':>8} {'peak RSS':>10}  status")
    for r in runs:
        status = "ok" if r.ok else f"FAILED: {r.note}"
        if r.rows_s is not None:
            status += f" (rows shown at {r.rows_s:.2f} s)"
        print(
            f"{r.label:<50} {r.size:>8,} {r.seconds:>9.2f} {r.per_thousand:>8.3f}"
            f" {r.rss_mib:>6.1f} MiB  {status}"
        )
    for text, value, ok in scale_checks(runs):
        print(f"  {fmt_pass(ok):<4}  {text:<62} {value:>7}")


def scale_markdown(runs: list[ScaleRun], why: str) -> str:
    if why:
        return f"\nScale (benchmarks/scale.py): not measured: {why}\n"
    if not runs:
        return ""
    lines = [
        "",
        "Queue scale (benchmarks/scale.py in the same run; one run each, 1 KiB bodies on one"
        " host):",
        "",
        "| Limits | URLs | Seconds | s/1000 | Peak RSS MiB | Rows shown at |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for r in runs:
        shown = f"{r.seconds:.2f} | {r.per_thousand:.3f}" if r.ok else "**failed** |"
        rows = f"{r.rows_s:.2f} s" if r.rows_s is not None else ""
        lines.append(f"| {r.label} | {r.size:,} | {shown} | {r.rss_mib:.1f} | {rows} |")
    lines += ["", "| Target | Measured | |", "|---|--:|---|"]
    lines += [f"| {text} | {value} | {fmt_pass(ok)} |" for text, value, ok in scale_checks(runs)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def csv_choice(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        items = [s.strip() for s in text.split(",") if s.strip()]
        unknown = sorted(set(items) - set(allowed))
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown: {', '.join(unknown)}; known: {allowed}")
        return items

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark afetch against curl, aria2c, wget, parfive, pypdl and bare aiohttp."
    )
    p.add_argument("--runs", type=int, help="runs per row and scenario (default 3; --quick: 1)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: one run, shorter lists, no big/throttled unless named in --scenarios",
    )
    p.add_argument(
        "--scenarios",
        type=csv_choice(ALL_SCENARIOS),
        help="comma-separated subset of " + ",".join(ALL_SCENARIOS),
    )
    p.add_argument(
        "--tools",
        type=csv_choice(ALL_TOOLS),
        default=list(ALL_TOOLS),
        help="comma-separated subset of " + ",".join(ALL_TOOLS),
    )
    p.add_argument("--workdir", type=Path, help="work dir for the test data (reused)")
    p.add_argument(
        "--out-dir",
        type=Path,
        help="where downloads are written (default: a tmpfs dir under /dev/shm if it has"
        " room, else WORKDIR/out)",
    )
    p.add_argument("--json", type=Path, help="write raw results to this JSON file")
    p.add_argument(
        "--markdown",
        nargs="?",
        const="-",
        metavar="FILE",
        help="print the results as Markdown for the README (or write them to FILE)",
    )
    p.add_argument("--afetch", default="afetch", help="afetch command, e.g. 'python -m afetch_tui'")
    p.add_argument(
        "--server", choices=("auto", "nginx", "aiohttp"), default="auto", help="HTTP server"
    )
    p.add_argument(
        "--latency-ms",
        type=float,
        default=LATENCY_MS,
        help=f"delay per request in the latency scenario (default {LATENCY_MS:g})",
    )
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per run (default 300)")
    args = p.parse_args(argv)
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    if args.scenarios is None:
        args.scenarios = list(QUICK_SCENARIOS if args.quick else ALL_SCENARIOS)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    if args.latency_ms < 0:
        p.error("--latency-ms must not be negative")
    return args


def default_workdir() -> Path:
    return Path(tempfile.gettempdir()) / "afetch-bench"


def pick_out_root(arg: Path | None, workdir: Path) -> Path:
    """Downloads go to tmpfs by default, so that disk speed and writeback do not dominate."""
    if arg is not None:
        return arg.resolve()
    shm = Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > 3 * GIB:
        return Path(tempfile.mkdtemp(prefix="afetch-bench-out-", dir=shm))
    return workdir / "out"


def fs_type(path: Path) -> str:
    """The type of the filesystem that holds path, from /proc/mounts."""
    best, kind = "", "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            _, mount, typ = line.split()[:3]
            inside = str(path) == mount or str(path).startswith(mount.rstrip("/") + "/")
            if inside and len(mount) > len(best):
                best, kind = mount, typ
    return kind


def install_sigterm_handler() -> None:
    """Turn SIGTERM into SystemExit so the server is stopped by the finally blocks."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_sigterm_handler()
    workdir: Path = (args.workdir or default_workdir()).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    tools = find_tools(args.afetch, args.tools, workdir)
    compile_afetch()
    server = choose_server(args.server)
    if server == "aiohttp" and args.server == "auto":
        print("NOTE: nginx is not installed; falling back to an aiohttp static server.")
    out_root = pick_out_root(args.out_dir, workdir)
    out_root.mkdir(parents=True, exist_ok=True)
    info = machine_info(tools, server_description(server))
    info["output"] = f"{out_root} ({fs_type(out_root)})"
    print_header(info)

    list_scenarios = [name for name in args.scenarios if name != "scale"]
    data = ensure_data(workdir / "data", parts_for(list_scenarios))
    scenarios = build_scenarios(data, args.latency_ms, QUICK_COUNTS if args.quick else None)
    print("Warming the page cache ...", flush=True)
    warm_page_cache(data)

    results: list[Measurement] = []
    out_dir = out_root / "current"
    try:
        with contextlib.ExitStack() as servers:
            base = servers.enter_context(serve(server, data, workdir))
            print(f"Serving {data.root} at {base} ({server})")
            ctx = RunContext(data, base, out_dir, workdir / "lists", args.timeout)
            if "latency" in list_scenarios:
                ctx.latency_url = servers.enter_context(
                    serve_latency(data, workdir, args.latency_ms)
                )
                print(f"Serving {data.root} at {ctx.latency_url} ({args.latency_ms:g} ms delay)")
            for name in list_scenarios:
                if name in NGINX_ONLY and server != "nginx":
                    print(f"\n[{name}] skipped: needs nginx (limit_rate)")
                    continue
                results += run_scenario(scenarios[name], tools, args.runs, ctx)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
        shutil.rmtree(state_dir(out_dir), ignore_errors=True)
        with contextlib.suppress(OSError):
            out_root.rmdir()  # only when empty: never a user's files

    scale_runs: list[ScaleRun] = []
    scale_why = ""
    if "scale" in args.scenarios:
        afetch = tools.get("afetch") or Tool("afetch", [], False, "not picked with --tools")
        scale_runs, scale_why = run_scale(
            afetch, server, workdir, out_root, args.quick, args.timeout
        )
    with contextlib.suppress(OSError):
        out_root.rmdir()  # only when empty: never a user's files

    print_results(results, scenarios)
    print_scale(scale_runs, scale_why)
    if args.json:
        write_json(args.json, info, results, scale_runs)
    if args.markdown:
        text = markdown(info, results, scenarios, args.runs) + scale_markdown(scale_runs, scale_why)
        if args.markdown == "-":
            print("\nMarkdown (for the README's performance section)\n")
            print(text, end="")
        else:
            Path(args.markdown).write_text(text)
            print(f"\nMarkdown written to {args.markdown}")
    scale_ok = all(r.ok for r in scale_runs)
    return 0 if all(m.ok or m.skipped for m in results) and scale_ok else 1


if __name__ == "__main__":
    sys.exit(main())
