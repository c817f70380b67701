#!/usr/bin/env python3
"""Compare afetch with curl, aria2c and wget on a local HTTP server.

Usage::

    python benchmarks/bench.py [--runs N] [--scenarios big,small,medium,queue10k]
                               [--workdir DIR] [--out-dir DIR] [--json out.json]
                               [--afetch "python -m afetch_tui"] [--tools afetch,curl]
                               [--server auto|nginx|aiohttp] [--timeout SECONDS]

The test data (one 1 GiB file, 1000 x 16 KiB, 200 x 1 MiB) is created once in the
work dir (default /tmp/afetch-bench) and reused afterwards. It is served by a private
nginx on 127.0.0.1 (its own config, pid, logs and temp paths under the work dir), or by
an aiohttp static server in a subprocess when nginx is not installed. The queue10k
scenario uses 10,000 distinct URLs /q/<n>/q<n>.bin that the server maps onto one file.

Every run downloads into a fresh empty directory, on tmpfs (/dev/shm) by default so that
disk writeback does not dominate; --out-dir picks another place. Each tool is started by
a tiny launcher that measures wall time (time.perf_counter, process start-up included)
and peak RSS (ru_maxrss from os.wait4) of the tool alone. Outputs are verified after the
timed part (sizes and content; sha256 for the big file), so a tool that failed is
reported as failed, never as fast. The source files are read once before timing, so
they are served from the page cache.

Only the standard library is used (aiohttp only for the fallback server).
"""

from __future__ import annotations

import argparse
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
SMALL_COUNT, SMALL_SIZE = 1000, 16 * KIB
MEDIUM_COUNT, MEDIUM_SIZE = 200, 1 * MIB
QUEUE_COUNT = 10_000
PARALLEL = 16
DATA_VERSION = 1

ALL_SCENARIOS = ("big", "small", "medium", "queue10k")
ALL_TOOLS = ("afetch", "aria2c", "curl", "wget")
ARIA2_COMMON = (
    "--allow-overwrite=true",
    "--auto-file-renaming=false",
    "--file-allocation=none",
    "--console-log-level=warn",
    "--summary-interval=0",
    "-q",
)
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


def _data_complete(data: DataSet) -> bool:
    checks = [(data.big, BIG_SIZE)]
    checks += [(data.small(i), SMALL_SIZE) for i in range(SMALL_COUNT)]
    checks += [(data.medium(i), MEDIUM_SIZE) for i in range(MEDIUM_COUNT)]
    return all(p.is_file() and p.stat().st_size == size for p, size in checks)


def ensure_data(root: Path) -> DataSet:
    """Create the test files once; reuse them when the manifest says they are complete."""
    manifest = root / "manifest.json"
    if manifest.is_file():
        meta = json.loads(manifest.read_text())
        data = DataSet(root, meta.get("big_sha256", ""))
        if meta.get("version") == DATA_VERSION and _data_complete(data):
            print(f"Reusing test data in {root}")
            return data
    print(f"Creating test data in {root} ...", flush=True)
    t0 = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    sha = _write_big(root / "big.bin")
    data = DataSet(root, sha)
    _write_many(root / "small", [data.small(i).name for i in range(SMALL_COUNT)], SMALL_SIZE)
    _write_many(root / "medium", [data.medium(i).name for i in range(MEDIUM_COUNT)], MEDIUM_SIZE)
    manifest.write_text(json.dumps({"version": DATA_VERSION, "big_sha256": sha}))
    print(f"  done in {time.perf_counter() - t0:.1f} s")
    return data


def warm_page_cache(data: DataSet) -> None:
    """Read every source file once so that all tools see the same (cached) source."""
    for path in sorted(data.root.rglob("*.bin")):
        with path.open("rb") as f:
            while f.read(BIG_CHUNK):
                pass


def build_scenarios(data: DataSet) -> dict[str, Scenario]:
    small = tuple(
        FileSpec(f"/small/{data.small(i).name}", data.small(i).name, data.small(i))
        for i in range(SMALL_COUNT)
    )
    medium = tuple(
        FileSpec(f"/medium/{data.medium(i).name}", data.medium(i).name, data.medium(i))
        for i in range(MEDIUM_COUNT)
    )
    # /q/<n>/q<n>.bin is mapped by the server onto one 16 KiB file: 10,000 distinct URLs
    # with distinct output names, without 10,000 files on disk.
    queue = tuple(
        FileSpec(f"/q/{n}/q{n:05d}.bin", f"q{n:05d}.bin", data.queue_source)
        for n in range(QUEUE_COUNT)
    )
    return {
        "big": Scenario(
            "big", "1 file x 1 GiB", (FileSpec("/big.bin", "big.bin", data.big),), BIG_SIZE
        ),
        "small": Scenario("small", f"{SMALL_COUNT} x 16 KiB", small, SMALL_COUNT * SMALL_SIZE),
        "medium": Scenario("medium", f"{MEDIUM_COUNT} x 1 MiB", medium, MEDIUM_COUNT * MEDIUM_SIZE),
        "queue10k": Scenario(
            "queue10k", f"{QUEUE_COUNT} x 16 KiB queued", queue, QUEUE_COUNT * SMALL_SIZE
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


def find_tools(afetch_cmd: str, wanted: list[str]) -> dict[str, Tool]:
    tools: dict[str, Tool] = {}
    for name in wanted:
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


def single_command(tool: Tool, url: str, out_dir: Path, out_name: str) -> list[str]:
    target = str(out_dir / out_name)
    match tool.name:
        case "afetch":
            return [*tool.argv, "get", "-d", str(out_dir), url]
        case "curl":
            return [*tool.argv, "-s", "-f", "-o", target, url]
        case "aria2c":
            return [*tool.argv, "-x16", "-s16", *ARIA2_COMMON, "-d", str(out_dir), url]
        case "wget":
            return [*tool.argv, "-q", "-O", target, url]
    raise ValueError(tool.name)


def list_command(tool: Tool, lists: Lists, out_dir: Path) -> list[str]:
    jobs = f"-j{PARALLEL}"
    match tool.name:
        case "afetch":
            per_host = ["--max-per-host", str(PARALLEL)]
            return [*tool.argv, "get", jobs, *per_host, "-d", str(out_dir), "-i", str(lists.urls)]
        case "curl":
            parallel = ["--parallel", "--parallel-max", str(PARALLEL)]
            return [*tool.argv, "-s", "-f", *parallel, "-K", str(lists.curl_config)]
        case "aria2c":
            return [*tool.argv, jobs, *ARIA2_COMMON, "-i", str(lists.urls), "-d", str(out_dir)]
        case "wget":
            return [*tool.argv, "-q", "-i", str(lists.urls), "-P", str(out_dir)]
    raise ValueError(tool.name)


# --------------------------------------------------------------------------- measuring


@dataclass
class RunResult:
    wall_s: float
    maxrss_kib: int
    ok: bool
    error: str = ""  # one line, for the tables
    output_tail: str = ""  # the end of the tool's stdout/stderr, kept for --json


@dataclass
class Measurement:
    tool: str
    scenario: str
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
    f.write(f"{wall} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


@dataclass
class ProcResult:
    wall_s: float
    maxrss_kib: int
    exit_code: int
    output_tail: str
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
        wall, rss, code = report.read_text().split()
    return ProcResult(float(wall), int(rss), int(code), tail)


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
    res = run_timed(cmd, out_dir.parent, timeout)
    if res.timed_out:
        error = f"timed out after {timeout:.0f} s"
    elif res.exit_code != 0:
        last_line = res.output_tail.splitlines()[-1] if res.output_tail else "(no output)"
        error = f"exit code {res.exit_code}: {last_line}"
    else:
        error = verify(scenario, out_dir, data)
    shutil.rmtree(out_dir, ignore_errors=True)
    return RunResult(res.wall_s, res.maxrss_kib, not error, error, res.output_tail)


def command_for(
    tool: Tool, scenario: Scenario, base: str, lists: Lists, out_dir: Path
) -> list[str]:
    if scenario.is_single:
        spec = scenario.files[0]
        return single_command(tool, base + spec.url_path, out_dir, spec.out_name)
    return list_command(tool, lists, out_dir)


@dataclass
class RunContext:
    data: DataSet
    base_url: str
    out_dir: Path
    list_dir: Path
    timeout: float


def measure(
    tool: Tool,
    scenario: Scenario,
    cmd: list[str],
    runs: int,
    ctx: RunContext,
) -> Measurement:
    m = Measurement(tool.name, scenario.name, cmd)
    for i in range(runs):
        r = measure_once(cmd, scenario, ctx.out_dir, ctx.data, ctx.timeout)
        m.runs.append(r)
        status = "ok" if r.ok else f"FAILED: {r.error}"
        print(
            f"  {tool.name:<7} {scenario.name:<9} run {i + 1}/{runs}: "
            f"{r.wall_s:7.2f} s  {r.maxrss_kib / KIB:7.1f} MiB  {status}",
            flush=True,
        )
        if not r.ok:
            break  # a failing tool is not timed again
    return m


def run_scenario(
    scenario: Scenario, tools: dict[str, Tool], runs: int, ctx: RunContext
) -> list[Measurement]:
    print(f"\n[{scenario.name}] {scenario.description}", flush=True)
    lists = write_lists(scenario, ctx.base_url, ctx.list_dir, ctx.out_dir)
    results: list[Measurement] = []
    for tool in tools.values():
        cmd = command_for(tool, scenario, ctx.base_url, lists, ctx.out_dir)
        if not tool.available:
            results.append(Measurement(tool.name, scenario.name, cmd, skipped=tool.note))
            print(f"  {tool.name:<7} skipped: {tool.note}")
            continue
        results.append(measure(tool, scenario, cmd, runs, ctx))
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


def print_header(info: dict[str, str]) -> None:
    print("afetch benchmark")
    print("=" * 78)
    for key, value in info.items():
        print(f"{key:>9}: {value}")
    notes = [
        "source files are in the page cache (one warm-up read before timing)",
        "wall time includes process start-up; peak RSS is ru_maxrss from os.wait4",
        f"peak RSS values at the launcher floor ({info['rss floor']}) are upper bounds",
        f"list scenarios run {PARALLEL} downloads at once, all on one host: afetch gets",
        f"  --max-per-host {PARALLEL} (its default per-host cap is 4); aria2c -j{PARALLEL}"
        " is not per-host limited either",
        "wget fetches lists sequentially (a reference only)",
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


def print_results(results: list[Measurement], scenarios: dict[str, Scenario]) -> None:
    print("\nResults (median wall time, max peak RSS over runs)")
    cols = f"{'runs':>4} {'median s':>9} {'MB/s':>8} {'peak RSS':>10}"
    print(f"{'scenario':<9} {'tool':<7} {cols}  status")
    for m in results:
        head = f"{m.scenario:<9} {m.tool:<7}"
        if m.skipped:
            print(f"{head} {'':>4} {'':>9} {'':>8} {'':>10}  skipped: {m.skipped}")
        elif not m.ok:
            print(f"{head} {len(m.runs):>4} {'':>9} {'':>8} {'':>10}  FAILED: {m.error}")
        else:
            rate = scenarios[m.scenario].total_bytes / m.median_s / 1e6
            rss = f"{m.peak_rss_kib / KIB:.1f} MiB"
            print(f"{head} {len(m.runs):>4} {m.median_s:>9.2f} {rate:>8.0f} {rss:>10}  ok")
    print_ratios(results)


def print_ratios(results: list[Measurement]) -> None:
    by_key = {(m.scenario, m.tool): m for m in results}
    print("\nRatios (below 1.00x means afetch is faster / smaller)")
    cols = f"{'time a/aria2c':>14} {'RSS a/aria2c':>13} {'time a/curl':>12} {'RSS a/curl':>11}"
    print(f"{'scenario':<9} {cols}")
    for scenario in dict.fromkeys(m.scenario for m in results):
        afetch = by_key.get((scenario, "afetch"))
        aria2c = by_key.get((scenario, "aria2c"))
        curl = by_key.get((scenario, "curl"))
        print(
            f"{scenario:<9} {fmt_ratio(afetch, aria2c, 'median_s'):>14}"
            f" {fmt_ratio(afetch, aria2c, 'peak_rss_kib'):>13}"
            f" {fmt_ratio(afetch, curl, 'median_s'):>12}"
            f" {fmt_ratio(afetch, curl, 'peak_rss_kib'):>11}"
        )
    afetch_rows = [m for m in results if m.tool == "afetch"]
    if not afetch_rows or all(m.skipped for m in afetch_rows):
        print("(afetch was not measured: install it, or pass --afetch 'python -m afetch_tui')")
    elif any(not m.ok for m in afetch_rows):
        print("(afetch FAILED in some scenarios; see the status column above)")


def write_json(path: Path, info: dict[str, str], results: list[Measurement]) -> None:
    rows = []
    for m in results:
        row = asdict(m)
        row["ok"] = m.ok
        if m.ok:
            row["median_s"] = m.median_s
            row["peak_rss_kib"] = m.peak_rss_kib
        rows.append(row)
    path.write_text(json.dumps({"machine": info, "results": rows}, indent=2))
    print(f"\nRaw results written to {path}")


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
    p = argparse.ArgumentParser(description="Benchmark afetch against curl, aria2c and wget.")
    p.add_argument("--runs", type=int, default=3, help="runs per tool and scenario (default 3)")
    p.add_argument(
        "--scenarios",
        type=csv_choice(ALL_SCENARIOS),
        default=list(ALL_SCENARIOS),
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
    p.add_argument("--afetch", default="afetch", help="afetch command, e.g. 'python -m afetch_tui'")
    p.add_argument(
        "--server", choices=("auto", "nginx", "aiohttp"), default="auto", help="HTTP server"
    )
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per run (default 300)")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
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
    tools = find_tools(args.afetch, args.tools)
    server = choose_server(args.server)
    if server == "aiohttp" and args.server == "auto":
        print("NOTE: nginx is not installed; falling back to an aiohttp static server.")
    out_root = pick_out_root(args.out_dir, workdir)
    out_root.mkdir(parents=True, exist_ok=True)
    info = machine_info(tools, "nginx (1 worker, sendfile)" if server == "nginx" else "aiohttp")
    info["output"] = f"{out_root} ({fs_type(out_root)})"
    print_header(info)

    data = ensure_data(workdir / "data")
    scenarios = build_scenarios(data)
    print("Warming the page cache ...", flush=True)
    warm_page_cache(data)

    results: list[Measurement] = []
    out_dir = out_root / "current"
    try:
        with serve(server, data, workdir) as base:
            print(f"Serving {data.root} at {base} ({server})")
            ctx = RunContext(data, base, out_dir, workdir / "lists", args.timeout)
            for name in args.scenarios:
                results += run_scenario(scenarios[name], tools, args.runs, ctx)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            out_root.rmdir()  # only when empty: never a user's files

    print_results(results, scenarios)
    if args.json:
        write_json(args.json, info, results)
    return 0 if all(m.ok or m.skipped for m in results) else 1


if __name__ == "__main__":
    sys.exit(main())
