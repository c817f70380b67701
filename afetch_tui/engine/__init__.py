"""The UI-free download engine. Nothing here may import Textual or Rich.

Front ends (the dashboard, ``afetch get``, the control socket, the configuration) import
what is listed in ``__all__`` from here, not from the submodules. Each name is loaded from
its module on first use, so ``from afetch_tui.engine import InputError`` costs only the
errors module: the socket commands (``afetch add``, ``ls``) never load aiohttp.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from afetch_tui.engine.api import Manager
    from afetch_tui.engine.checksum import Checksum, parse_checksum
    from afetch_tui.engine.client import Client
    from afetch_tui.engine.display import inert, json_line
    from afetch_tui.engine.errors import (
        AfetchError,
        DownloadError,
        InputError,
        PageError,
        StoreBusy,
        StoreError,
    )
    from afetch_tui.engine.events import (
        Added,
        DownloadSnapshot,
        Event,
        HandedOff,
        HookFinished,
        HostSnapshot,
        HostUpdate,
        Limits,
        LimitsChanged,
        LogEntry,
        Logged,
        Progress,
        QueueSummary,
        RegionInfo,
        Removed,
        Reordered,
        Resync,
        State,
        StateChanged,
        StoreProblem,
        Updated,
    )
    from afetch_tui.engine.hook_command import parse_command
    from afetch_tui.engine.inputfile import (
        InputEntry,
        format_entries,
        parse_header,
        parse_input,
        unwritable,
    )
    from afetch_tui.engine.journal import take_up_under
    from afetch_tui.engine.limits import MIN_REQUEST_RATE, parse_size
    from afetch_tui.engine.link_match import MAX_PAGE_BYTES, compile_match
    from afetch_tui.engine.links import Link
    from afetch_tui.engine.manager import DownloadManager
    from afetch_tui.engine.name_rules import PART_SUFFIX
    from afetch_tui.engine.options import ManagerOptions
    from afetch_tui.engine.order import QueueOrder
    from afetch_tui.engine.records import Record
    from afetch_tui.engine.spec import (
        MAX_CONNECTIONS,
        Defaults,
        DownloadSpec,
        check_connections,
        check_directory,
    )
    from afetch_tui.engine.store import Store, default_path, headless_path, read_records
    from afetch_tui.engine.subscription import Subscription
    from afetch_tui.engine.urls import host_of, validate_url
    from afetch_tui.engine.waiting import waiting_reason

_MODULE_OF = {
    "Manager": "api",
    "take_up_under": "journal",
    "Checksum": "checksum",
    "parse_checksum": "checksum",
    "Client": "client",
    "inert": "display",
    "json_line": "display",
    **dict.fromkeys(
        ("AfetchError", "DownloadError", "InputError", "PageError", "StoreBusy", "StoreError"),
        "errors",
    ),
    **dict.fromkeys(
        (
            "Added",
            "DownloadSnapshot",
            "Event",
            "HandedOff",
            "HookFinished",
            "HostSnapshot",
            "HostUpdate",
            "Limits",
            "LimitsChanged",
            "LogEntry",
            "Logged",
            "Progress",
            "QueueSummary",
            "RegionInfo",
            "Removed",
            "Reordered",
            "Resync",
            "State",
            "StateChanged",
            "StoreProblem",
            "Updated",
        ),
        "events",
    ),
    "MAX_PAGE_BYTES": "link_match",
    "compile_match": "link_match",
    "parse_command": "hook_command",
    **dict.fromkeys(
        ("InputEntry", "format_entries", "parse_header", "parse_input", "unwritable"), "inputfile"
    ),
    "MIN_REQUEST_RATE": "limits",
    "parse_size": "limits",
    "Link": "links",
    "DownloadManager": "manager",
    "PART_SUFFIX": "name_rules",
    "ManagerOptions": "options",
    "QueueOrder": "order",
    "Record": "records",
    **dict.fromkeys(
        ("MAX_CONNECTIONS", "Defaults", "DownloadSpec", "check_connections", "check_directory"),
        "spec",
    ),
    **dict.fromkeys(("Store", "default_path", "headless_path", "read_records"), "store"),
    "Subscription": "subscription",
    "host_of": "urls",
    "validate_url": "urls",
    "waiting_reason": "waiting",
}

__all__ = [
    "MAX_CONNECTIONS",
    "MAX_PAGE_BYTES",
    "MIN_REQUEST_RATE",
    "PART_SUFFIX",
    "Added",
    "AfetchError",
    "Checksum",
    "Client",
    "Defaults",
    "DownloadError",
    "DownloadManager",
    "DownloadSnapshot",
    "DownloadSpec",
    "Event",
    "HandedOff",
    "HookFinished",
    "HostSnapshot",
    "HostUpdate",
    "InputEntry",
    "InputError",
    "Limits",
    "LimitsChanged",
    "Link",
    "LogEntry",
    "Logged",
    "Manager",
    "ManagerOptions",
    "PageError",
    "Progress",
    "QueueOrder",
    "QueueSummary",
    "Record",
    "RegionInfo",
    "Removed",
    "Reordered",
    "Resync",
    "State",
    "StateChanged",
    "Store",
    "StoreBusy",
    "StoreError",
    "StoreProblem",
    "Subscription",
    "Updated",
    "check_connections",
    "check_directory",
    "compile_match",
    "default_path",
    "format_entries",
    "headless_path",
    "host_of",
    "inert",
    "json_line",
    "parse_checksum",
    "parse_command",
    "parse_header",
    "parse_input",
    "parse_size",
    "read_records",
    "take_up_under",
    "unwritable",
    "validate_url",
    "waiting_reason",
]


def __getattr__(name: str) -> object:
    """Load a public name from its module on first use (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
