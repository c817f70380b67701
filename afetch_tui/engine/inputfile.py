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

from collections.abc import Iterable
from dataclasses import dataclass, field

from afetch_tui.engine.errors import InputError
from afetch_tui.engine.urls import validate_url

SUPPORTED_OPTIONS = frozenset({"out", "dir", "header", "max-download-limit"})
IGNORED_OPTIONS = frozenset({"gid", "split", "max-connection-per-server", "continue", "pause"})


@dataclass(slots=True)
class InputEntry:
    url: str
    line: int
    out: str | None = None
    dir: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    limit_rate: str | None = None


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` → ``("Name", "value")``, or `InputError`."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name or any(ch in text for ch in "\r\n") or " " in name:
        raise InputError(f"bad header {text!r}: use 'Name: value'")
    return name, value.strip()


def parse_input(lines: Iterable[str], *, source: str = "input") -> list[InputEntry]:
    """Parse an input file; every problem raises `InputError` naming the line."""
    entries: list[InputEntry] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
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
        entry.headers[name] = header_value
    elif key == "max-download-limit":
        entry.limit_rate = value
    elif key not in IGNORED_OPTIONS:
        raise InputError(f"{where}: unsupported option {key!r}")


def format_entries(entries: Iterable[InputEntry]) -> str:
    """Write entries back out in aria2's format."""
    out: list[str] = []
    for entry in entries:
        out.append(entry.url)
        if entry.out:
            out.append(f"  out={entry.out}")
        if entry.dir:
            out.append(f"  dir={entry.dir}")
        out.extend(f"  header={name}: {value}" for name, value in entry.headers.items())
        if entry.limit_rate:
            out.append(f"  max-download-limit={entry.limit_rate}")
    return "\n".join(out) + ("\n" if out else "")
