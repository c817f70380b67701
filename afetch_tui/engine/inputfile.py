"""Input files: plain URL lists and aria2's input-file format.

aria2's format is a URL line followed by indented ``key=value`` option lines::

    https://example.com/a.iso
      out=debian.iso
      dir=/srv/isos
      header=Authorization: Bearer x

Blank lines and lines starting with ``#`` are ignored. A URL line may hold several
tab-separated mirror URLs; afetch takes the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from afetch_tui.engine.display import shown_header
from afetch_tui.engine.errors import InputError
from afetch_tui.engine.urls import validate_url

IGNORED_OPTIONS = frozenset({"gid", "split", "max-connection-per-server", "continue", "pause"})
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})
"""What an entry without ``header=`` lines holds: one for all (a dict each is 64 bytes)."""


@dataclass(slots=True)
class InputEntry:
    url: str
    line: int
    out: str | None = None
    dir: str | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: _NO_HEADERS)
    limit_rate: str | None = None


_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` → ``("Name", "value")``, or `InputError`.

    The name must be an RFC 9110 token and the value may hold no control character but
    tab (no CR, LF, ESC, DEL...): what aiohttp would refuse at request time is refused here.
    """
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name or not set(name) <= _TOKEN:
        words = text.split(None, 1) or [""]
        shown = shown_header(name, value.strip()) if sep else words[0] + " …" * (len(words) > 1)
        raise InputError(f"bad header '{shown}': use 'Name: value'")
    bad = next((ch for ch in value if (ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7F), None)
    if bad is not None:
        raise InputError(f"bad header {name}: its value holds the control character {bad!r}")
    return name, value.strip()


def parse_input(lines: Iterable[str], *, source: str = "input") -> list[InputEntry]:
    """Parse an input file; every problem raises `InputError` naming the line."""
    entries: list[InputEntry] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if number == 1:
            line = line.removeprefix("\ufeff")  # a UTF-8 byte order mark (Windows editors)
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{source} line {number}"
        if line[0] in " \t":
            if not entries:
                raise InputError(f"{where}: option line before any URL")
            _apply_option(entries[-1], stripped, where)
            continue
        url = stripped.split("\t")[0].strip()
        try:
            entries.append(InputEntry(validate_url(url), number))
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
    return entries


def _apply_option(entry: InputEntry, text: str, where: str) -> None:
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep:
        raise InputError(f"{where}: expected key=value, got {text!r}")
    if key == "out":
        entry.out = value
    elif key == "dir":
        entry.dir = value
    elif key == "header":
        try:
            name, header_value = parse_header(value)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        entry.headers = {**entry.headers, name: header_value}
    elif key == "max-download-limit":
        entry.limit_rate = value
    elif key not in IGNORED_OPTIONS:
        raise InputError(f"{where}: unsupported option {key!r}")


def unwritable(entry: InputEntry) -> str | None:
    """Why ``entry`` cannot be written in aria2's format, if it cannot.

    The format has no escapes: a line break in a value would end it and start another
    (a directory named ``x\n  header=...`` would inject an option), so such a value
    cannot be carried at all.
    """
    fields = [("URL", entry.url), ("file name", entry.out), ("directory", entry.dir)]
    fields += [(f"header {name}", f"{name}: {value}") for name, value in entry.headers.items()]
    fields.append(("rate limit", entry.limit_rate))
    for label, value in fields:
        if value is not None and ("\n" in value or "\r" in value):
            return f"its {label} holds a line break, which aria2's input format cannot carry"
    return None


def format_entries(entries: Iterable[InputEntry]) -> str:
    """Write entries back out in aria2's format (each must pass `unwritable`)."""
    out: list[str] = []
    for entry in entries:
        problem = unwritable(entry)
        if problem is not None:
            raise InputError(f"cannot write {entry.url!r}: {problem}")
        out.append(entry.url)
        if entry.out:
            out.append(f"  out={entry.out}")
        if entry.dir:
            out.append(f"  dir={entry.dir}")
        out.extend(f"  header={name}: {value}" for name, value in entry.headers.items())
        if entry.limit_rate:
            out.append(f"  max-download-limit={entry.limit_rate}")
    return "\n".join(out) + ("\n" if out else "")
