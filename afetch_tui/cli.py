"""Command line: ``afetch [URL...]`` opens the dashboard, ``afetch get URL...`` runs headless,
``afetch serve`` runs the manager alone, and ``add``, ``ls``, ``pause`` ... ``watch`` talk to
whichever of those is running.

No path imports Textual until the dashboard is actually opened.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from afetch_tui import __version__
from afetch_tui.usage import EXIT_USAGE, UsageError

if TYPE_CHECKING:
    from afetch_tui.config import Config


def positive_float(text: str) -> float:
    """A finite number above zero (``inf`` and ``nan`` would break the loop's timers)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


FLAG_OF_SETTING = {
    "max_concurrent": "-j",
    "max_per_host": "--max-per-host",
    "rate": "--limit-rate",
    "rate_per_host": "--limit-rate-per-host",
    "host_request_rate": "--host-request-rate",
    "connections": "-x",
    "retries": "--retries",
    "timeout": "--timeout",
}
"""The flag that sets each checked setting: its `InputError` is said in the flag's name."""


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("urls", nargs="*", metavar="URL", help="http:// or https:// URLs")
    parser.add_argument("-d", "--dir", help="destination directory (default: .)")
    parser.add_argument("-i", "--input-file", metavar="FILE", help="URLs from FILE (- = stdin)")
    parser.add_argument("-j", "--max-concurrent", type=int, metavar="N", help="default: 5")
    parser.add_argument("--max-per-host", type=int, metavar="N", help="default: 4")
    parser.add_argument(
        "-x", "--connections", type=int, metavar="N", help="connections per file (1-16; default 1)"
    )
    parser.add_argument(
        "-k", "--min-split-size", default="20M", metavar="SIZE", help="split only files this big"
    )
    parser.add_argument("--limit-rate", metavar="RATE", help="global cap, e.g. 2M, 500K")
    parser.add_argument("--limit-rate-per-host", metavar="RATE", help="cap for each host")
    parser.add_argument(
        "--host-request-rate", type=positive_float, metavar="N", help="requests/s per host"
    )
    parser.add_argument("--retries", type=int, default=5, metavar="N")
    parser.add_argument("--timeout", type=positive_float, default=30.0, metavar="SECONDS")
    parser.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.add_argument("--proxy", metavar="URL", help="HTTP proxy (else HTTP(S)_PROXY)")
    parser.add_argument("--state", metavar="PATH", help="state file (default: user data dir)")
    parser.add_argument(
        "--no-fsync", action="store_true", help="skip fsync of finished files (faster, less safe)"
    )


def get_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="afetch get", description="Download URLs without the dashboard.")
    _add_common(parser)
    parser.add_argument("-o", "--output", metavar="NAME", help="file name (one URL only)")
    parser.add_argument("--json", action="store_true", help="one JSON event per line on stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    _add_page_options(parser)
    _add_after_download(parser)
    return parser


def _add_page_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("links from a page")
    group.add_argument(
        "--from-page",
        action="append",
        default=[],
        metavar="URL",
        help="queue the links of this HTML page (repeatable)",
    )
    group.add_argument(
        "--match",
        metavar="PATTERN",
        help="keep links whose file name or URL fits a glob, or re:REGEX",
    )
    hosts = group.add_mutually_exclusive_group()
    hosts.add_argument("--same-host", action="store_true", help="only links on the page's own host")
    hosts.add_argument("--other-hosts", action="store_true", help="only links to other hosts")
    group.add_argument(
        "--max-page-size", default="5M", metavar="SIZE", help="read at most this much of a page"
    )


def _add_after_download(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("after the download")
    group.add_argument(
        "--checksum", metavar="ALGO=HEX", help="md5, sha1, sha256 or sha512 digest (one URL)"
    )
    group.add_argument(
        "--checksums", metavar="FILE", help="a SHA256SUMS-style file, matched by file name"
    )
    group.add_argument(
        "--on-complete", metavar="CMD", help="run CMD with each completed file's path appended"
    )
    group.add_argument(
        "--on-complete-timeout",
        type=positive_float,
        default=60.0,
        metavar="SECONDS",
        help="default: 60",
    )


def export_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="afetch export",
        description="Write the queue as an aria2 input file (for 'afetch -i' or aria2c -i).",
    )
    parser.add_argument("file", nargs="?", default="-", help="where to write (default: stdout)")
    parser.add_argument("--state", metavar="PATH", help="state file (default: user data dir)")
    parser.add_argument("--all", action="store_true", help="include completed downloads")
    return parser


CONTROL_VERBS = ("add", "ls", "pause", "resume", "retry", "cancel", "remove", "limit", "watch")
"""Subcommands that talk to the running afetch (``afetch serve`` or a dashboard)."""


def serve_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="afetch serve",
        description="Run the downloads without a UI, in the foreground, for 'afetch' to attach "
        "to and 'afetch add/ls/pause/watch' to steer. One line per finished download.",
    )
    _add_common(parser)
    return parser


def control_parser(verb: str) -> argparse.ArgumentParser:
    """The parser of one of `CONTROL_VERBS`."""
    parser = _Parser(prog=f"afetch {verb}", description=_CONTROL_HELP[verb])
    parser.add_argument("--state", metavar="PATH", help="state file (default: user data dir)")
    if verb == "add":
        parser.add_argument("urls", nargs="*", metavar="URL", help="http:// or https:// URLs")
        parser.add_argument("-i", "--input-file", metavar="FILE", help="URLs from FILE (- = stdin)")
        parser.add_argument(
            "-d", "--dir", help="destination directory (default: the running afetch's)"
        )
        parser.add_argument("-o", "--output", metavar="NAME", help="file name (one URL only)")
        parser.add_argument("-x", "--connections", type=int, metavar="N", help="connections (1-16)")
        parser.add_argument("--paused", action="store_true", help="queue them paused")
    elif verb in ("ls", "watch"):
        parser.add_argument("--json", action="store_true", help="the 'afetch get --json' schema")
    elif verb == "limit":
        parser.add_argument("--rate", metavar="RATE", help="bandwidth cap, e.g. 2M (0: none)")
        parser.add_argument("--host", metavar="HOST", help="set --rate for this host only")
        parser.add_argument("-j", "--max-concurrent", type=int, metavar="N")
        parser.add_argument("--max-per-host", type=int, metavar="N")
    else:
        parser.add_argument("ids", nargs="*", type=int, metavar="ID", help="download ids (ls)")
        parser.add_argument("--all", action="store_true", help="every download")
        if verb == "remove":
            parser.add_argument("--delete-file", action="store_true", help="delete the files too")
    return parser


_CONTROL_HELP = {
    "add": "Queue URLs in the running afetch.",
    "ls": "List the queue (from the running afetch, else from the state file).",
    "pause": "Pause downloads in the running afetch.",
    "resume": "Resume paused downloads in the running afetch.",
    "retry": "Retry failed or cancelled downloads in the running afetch.",
    "cancel": "Cancel downloads (their partial files are deleted) in the running afetch.",
    "remove": "Remove downloads from the running afetch's queue.",
    "limit": "Show or change the running afetch's limits.",
    "watch": "Print the running afetch's events until interrupted.",
}


def dashboard_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="afetch",
        description="A terminal download manager. 'afetch get --help' for headless use, "
        "'afetch export --help' to write the queue out, 'afetch serve --help' to run "
        "without a UI; 'afetch add|ls|pause|resume|retry|cancel|remove|limit|watch' "
        "steer the afetch that runs.",
    )
    parser.add_argument("--version", action="version", version=f"afetch {__version__}")
    _add_common(parser)
    return parser


def run() -> NoReturn:
    """The console script and ``python -m afetch_tui``: `main`, and after ``afetch get``
    out at once. Such a run has closed its downloads, state file and threads when `main`
    returns; what the interpreter's teardown adds (unloading aiohttp and the engine,
    50-150 ms) only holds the shell back, and in the latency benchmark it was most of the
    time from the last answer to the exit."""
    argv = sys.argv[1:]
    code = main(argv)
    if argv[:1] != ["get"]:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader gone (| head), a closed one
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse first, import later: ``--help``, ``--version`` and bad options load no engine."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "export":
        try:
            args = export_parser().parse_args(argv[1:])
            from afetch_tui.export import run_export

            return run_export(args)
        except UsageError as exc:
            print(f"afetch: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    verb = argv[0] if argv else None
    try:
        if verb in CONTROL_VERBS:
            args = control_parser(verb).parse_args(argv[1:])
        elif verb == "get":
            config = _config(get_parser().parse_args(argv[1:]), need_urls=True)
        elif verb == "serve":
            config = _config(serve_parser().parse_args(argv[1:]), need_urls=False)
        else:
            args = dashboard_parser().parse_args(argv)
            handed_off = _to_running(args)
            if handed_off is not None:
                return handed_off
            config = _config(args, need_urls=False)
    except UsageError as exc:
        print(f"afetch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if verb in CONTROL_VERBS:
        from afetch_tui.control.commands import run

        return run(verb, args)
    if verb == "get":
        from afetch_tui.headless import run_headless

        return run_headless(config)
    if verb == "serve":
        from afetch_tui.control.serve import run_serve

        return run_serve(config)
    from afetch_tui.control.commands import to_starting_owner
    from afetch_tui.control.serve import listen
    from afetch_tui.dashboard_runner import open_dashboard

    return open_dashboard(config, listen=listen, on_busy=lambda pid: to_starting_owner(args, pid))


def _config(args: argparse.Namespace, *, need_urls: bool) -> Config:
    """The checked run; imported only now, once the command line has parsed."""
    from afetch_tui.config import build_config
    from afetch_tui.engine import InputError

    try:
        return build_config(args, need_urls=need_urls)
    except InputError as exc:
        flag = FLAG_OF_SETTING.get(exc.setting or "")
        raise UsageError(f"{flag} {exc.rule}" if flag else str(exc)) from None


def _to_running(args: argparse.Namespace) -> int | None:
    """If an afetch already owns the state file: hand it the URLs, or attach to it."""
    from afetch_tui.control.commands import to_running

    return to_running(args)
