"""The command-line verbs that talk to the running afetch: add, ls, pause ... limit, watch.

They load no aiohttp (nor the engine's manager): a hand-off costs Python's start-up, asyncio
and one round trip.

Each takes the parsed arguments and returns the exit code: 0 when all went through, 1 when
anything was refused or no afetch is running, 2 for usage errors (found before sending).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

from afetch_tui import format as fmt
from afetch_tui.control import codec, wire
from afetch_tui.control.client import Connection
from afetch_tui.control.ops import AddItem
from afetch_tui.control.paths import ControlError, socket_path
from afetch_tui.engine import (
    DownloadSnapshot,
    Event,
    InputError,
    LimitsChanged,
    State,
    StateChanged,
    StoreError,
    default_path,
    inert,
    json_line,
    parse_size,
)
from afetch_tui.usage import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError

Verb = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]
EACH = {"pause": "paused", "resume": "resumed", "retry": "retried", "cancel": "cancelled"}
EACH["remove"] = "removed"


def state_path(args: argparse.Namespace) -> Path:
    return Path(args.state).expanduser().absolute() if args.state else default_path()


def run(command: str, args: argparse.Namespace) -> int:
    """Run one verb; its errors are one line each, never a traceback."""
    verb: Verb = _VERBS.get(command, _each)
    args.command = command
    try:
        return asyncio.run(verb(args))
    except UsageError as exc:
        print(f"afetch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ControlError, InputError, StoreError) as exc:
        print(f"afetch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:  # `watch` ends this way
        return EXIT_OK


async def _running(args: argparse.Namespace) -> Connection:
    state = state_path(args)
    connection = await Connection.find(state)
    if connection is None:
        raise ControlError(
            f"no afetch is running for {state}; start one with 'afetch serve' (or 'afetch')"
        )
    return connection


# -- hand-off ------------------------------------------------------------------------------


def add_items(args: argparse.Namespace, entries: list[Any] | None = None) -> list[AddItem]:
    """What ``afetch add`` / ``afetch URL...`` asked for, as items for the running afetch.

    URLs are not checked here: the running afetch checks each and says which it refused.
    """
    directory = os.path.abspath(os.path.expanduser(args.dir)) if args.dir else None
    name = getattr(args, "output", None)
    headers = dict(getattr(args, "headers", None) or {})
    paused = getattr(args, "paused", False)
    connections = args.connections
    if connections is not None:
        from afetch_tui.engine import InputError, check_connections  # only now: loads aiohttp

        try:
            check_connections(connections)
        except InputError as exc:
            raise UsageError(f"-x {exc.rule}") from None
    items = [AddItem(url, directory, name, headers, paused, None, connections) for url in args.urls]
    for entry in entries or ():
        items.append(
            AddItem(
                entry.url,
                _subdirectory(directory, entry.dir),
                entry.out,
                {**headers, **entry.headers},
                paused,
                parse_size(entry.limit_rate) if entry.limit_rate else None,
                connections,
            )
        )
    if name is not None and len(items) != 1:
        raise UsageError("-o/--output names one file, but several URLs were given")
    return items


def _subdirectory(directory: str | None, name: str | None) -> str | None:
    """An input file's ``dir=`` is under ``-d``, else under this command's working
    directory (as for ``afetch get``): sent absolute, since the running afetch refuses a
    relative directory (it has a working directory of its own)."""
    if not name:
        return directory
    return os.path.join(directory, name) if directory else os.path.abspath(name)


async def hand_off(connection: Connection, items: list[AddItem], source: str) -> int:
    """Queue ``items`` in the running afetch; print what it refused and how many it took."""
    if not items:
        raise UsageError("no URLs given")
    queued, refused, listed = 0, [], 0
    for batch in _batches([item.to_json() for item in items]):
        result = await connection.request("add", items=batch, source=source, skip_listed=True)
        queued += len(result["ids"])
        refused += result["refused"]
        listed += len(result.get("listed", ()))
    for each in refused:
        print(f"afetch: refused {inert(each['url'])}: {inert(each['error'])}", file=sys.stderr)
    left_out = f"; {listed} already in its list, not queued again" if listed else ""
    print(f"queued {queued} in the running afetch (pid {connection.pid}){left_out}", flush=True)
    return EXIT_FAILED if refused else EXIT_OK


def _batches(items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Items in requests that stay well under the server's line limit (one, most often)."""
    batch: list[dict[str, Any]] = []
    size = 0
    for item in items:
        length = len(wire.encode(item))
        if batch and size + length > wire.MAX_REQUEST // 2:
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += length
    yield batch


def _input_file(path: str | None) -> list[Any]:
    if not path:
        return []
    from afetch_tui.config import read_input_file  # the engine too: only when there is one

    return read_input_file(path)


async def _add(args: argparse.Namespace) -> int:
    entries = _input_file(args.input_file)
    items = add_items(args, entries)  # usage errors before connecting
    async with await _running(args) as connection:
        return await hand_off(connection, items, "afetch add")


# -- reading -------------------------------------------------------------------------------


async def _ls(args: argparse.Namespace) -> int:
    state = state_path(args)
    connection = await Connection.find(state)
    if connection is not None:
        async with connection:
            downloads = [codec.decode_download(d) for d in await connection.request("list")]
    else:
        downloads = _stored(state)
    for snap in downloads:
        if args.json:
            data = codec.encode_download(snap)
            del data["log"]
            print(json_line(data))
        else:
            print(_row(snap))
    return EXIT_OK


def _stored(state: Path) -> list[DownloadSnapshot]:
    """The queue as the state file has it, read without its lock (nothing runs it)."""
    from afetch_tui.engine import read_records
    from afetch_tui.engine.journal import from_record

    if not state.exists():
        return []
    return [from_record(record).snapshot() for record in read_records(state)]


def _row(snap: DownloadSnapshot) -> str:
    if snap.total:
        progress = f"{snap.done / snap.total:4.0%} of {fmt.size(snap.total)}"
    else:
        progress = fmt.size(snap.done)
    speed = fmt.rate(snap.speed_now) if snap.state.is_running else ""
    name = inert(snap.name or snap.url)
    error = f"  ({inert(snap.error)})" if snap.error and snap.state is State.FAILED else ""
    return f"{snap.id:>5}  {snap.state.value:<11} {progress:>16} {speed:>12}  {name}{error}"


# -- commands ------------------------------------------------------------------------------


async def _each(args: argparse.Namespace) -> int:
    if bool(args.ids) == bool(args.all):
        raise UsageError(f"give download ids or --all (see 'afetch {args.command} --help')")
    target: dict[str, Any] = {"all": True} if args.all else {"ids": args.ids}
    if getattr(args, "delete_file", False):
        target["delete_file"] = True
    async with await _running(args) as connection:
        result = await connection.request(args.command, **target)
    for error in result["errors"]:
        print(f"afetch: {error['id']}: {inert(error['error'])}", file=sys.stderr)
    print(f"{EACH[args.command]} {len(result['done'])}")
    return EXIT_FAILED if result["errors"] else EXIT_OK


def _rate(text: str, what: str) -> float | None:
    """``2M``, ``500K`` ... ; ``0`` is unlimited."""
    return parse_size(text, what=what)


async def _limit(args: argparse.Namespace) -> int:
    if args.host is not None and args.rate is None:
        raise UsageError("--host needs --rate (0 for unlimited)")
    changes: dict[str, Any] = {}
    if args.host is None and args.rate is not None:
        changes["rate"] = _rate(args.rate, "--rate")
    if args.max_concurrent is not None:
        changes["max_concurrent"] = args.max_concurrent
    if args.max_per_host is not None:
        changes["max_per_host"] = args.max_per_host
    async with await _running(args) as connection:
        if args.host is not None:
            rate = _rate(args.rate, "--rate")
            await connection.request("set_host_limit", host=args.host, rate=rate)
            print(f"{inert(args.host)}: {fmt.rate(rate) if rate else 'unlimited'}")
        if changes or args.host is None:
            if changes:
                limits = await connection.request("set_limits", changes=changes)
            else:
                limits = (await connection.request("snapshot"))["limits"]
            print(_limits_line(codec.decode_limits(limits)))
    return EXIT_OK


def _limits_line(limits: Any) -> str:
    def rate(value: float | None) -> str:
        return fmt.rate(value) if value else "unlimited"

    return (
        f"rate {rate(limits.rate)}, per host {rate(limits.rate_per_host)}, "
        f"{limits.max_concurrent} at once, {limits.max_per_host} per host"
    )


async def _watch(args: argparse.Namespace) -> int:
    """Every event of the running afetch until interrupted (or until it quits: exit 1)."""
    connection = await _running(args)

    def show(event: Event) -> None:
        if args.json:
            print(json_line(event.to_json()), flush=True)
        elif isinstance(event, StateChanged):
            error = f": {inert(event.error)}" if event.error else ""
            print(f"{event.id:>5}  {event.state.value}{error}", flush=True)
        elif isinstance(event, LimitsChanged):
            print(f"limits: {_limits_line(event.limits)}", flush=True)

    try:
        connection.on_event = show
        await connection.request("subscribe")
        await connection.lost.wait()
    finally:
        await connection.close()
    print(f"afetch: {connection.lost_reason}", file=sys.stderr)
    return EXIT_FAILED


_VERBS: dict[str, Verb] = {
    "add": _add,
    "ls": _ls,
    "limit": _limit,
    "watch": _watch,
}


def socket_exists(args: argparse.Namespace) -> bool:
    """Cheap check before any asyncio: could an afetch be running for this state file?"""
    return socket_path(state_path(args)).exists()


# -- `afetch [URL...]` when an afetch already runs -----------------------------------------

_NOT_HANDED_OFF = {
    "retries": 5,
    "timeout": 30.0,
    "proxy": None,
    "overwrite": False,
    "no_fsync": False,
    "min_split_size": "20M",
}
"""Options that shape a manager when it starts; one that runs already keeps its own."""


OWNER_WAIT = 30.0
"""Seconds a dashboard that lost the race for the state file waits for the winner to
listen (it restores and queues before it does)."""


def to_starting_owner(args: argparse.Namespace, pid: int | None) -> int | None:
    """Another afetch (``pid``) won the state file as this one started: once it listens,
    hand it the URLs or attach, as `to_running`. None if it does not listen within
    `OWNER_WAIT` seconds, or ends first."""
    state = state_path(args)
    who = f"afetch (pid {pid})" if pid else "another afetch"
    print(f"afetch: {who} is starting on {state}; waiting for it to listen", file=sys.stderr)
    deadline = time.monotonic() + OWNER_WAIT
    while time.monotonic() < deadline:
        if socket_exists(args):  # a crashed owner's socket too, until the new one replaces it
            code = to_running(args)
            if code is not None:
                return code
        if pid is not None and not _alive(pid):
            return None
        time.sleep(0.05)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process of that pid
        return True
    return True


def to_running(args: argparse.Namespace) -> int | None:
    """Hand the URLs to the afetch that owns the state file, or attach the dashboard to it.

    None when no afetch runs for it (then this process becomes the one).
    """
    try:
        if not socket_exists(args):
            return None
    except ControlError:  # no usable runtime dir: nothing can listen there (the dashboard says so)
        return None
    try:
        return asyncio.run(_to_running(args))
    except UsageError as exc:
        print(f"afetch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ControlError, InputError) as exc:
        print(f"afetch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_OK


async def _to_running(args: argparse.Namespace) -> int | None:
    from afetch_tui.engine import parse_header

    connection = await Connection.find(state_path(args))
    if connection is None:
        return None
    if not args.urls and not args.input_file:
        from afetch_tui.control.attach import run_attached

        return await run_attached(connection)
    async with connection:
        args.headers = dict(parse_header(h) for h in args.header)
        entries = _input_file(args.input_file)
        ignored = [
            "--" + key.replace("_", "-")
            for key, default in _NOT_HANDED_OFF.items()
            if getattr(args, key) != default
        ]
        if ignored:
            print(
                f"afetch: {', '.join(ignored)} not applied: {connection.owner} keeps its own",
                file=sys.stderr,
            )
        code = await hand_off(connection, add_items(args, entries), "afetch")
        changes = _limit_changes(args)
        if changes:
            await connection.request("set_limits", changes=changes)
        return code


def _limit_changes(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if args.max_concurrent is not None:
        changes["max_concurrent"] = args.max_concurrent
    if args.max_per_host is not None:
        changes["max_per_host"] = args.max_per_host
    if args.limit_rate:
        changes["rate"] = _rate(args.limit_rate, "--limit-rate")
    if args.limit_rate_per_host:
        changes["rate_per_host"] = _rate(args.limit_rate_per_host, "--limit-rate-per-host")
    if args.host_request_rate is not None:
        changes["host_request_rate"] = args.host_request_rate
    return changes
