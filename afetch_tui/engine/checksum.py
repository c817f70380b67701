"""Checksums: parsing what the user gives, hashing while the bytes stream, verifying at the end.

A download with an expected checksum carries a `StreamHasher`. The transfer feeds it every
batch it writes, in file order; each batch is hashed in a worker thread while the loop goes
on (hashlib releases the GIL for large buffers), and the next batch first waits for the
previous one, so at most one batch per download is in flight. A download resumed from a
``.part`` first hashes the bytes already on disk, in a thread. Whenever the fed bytes stop
following each other (a write that failed half-way, out-of-order ranges), the streaming hash
is dropped and the whole file is hashed after the download instead.

A mismatch fails the download with both digests, keeps the ``.part`` and asks the next
attempt to start from zero.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

from afetch_tui.engine.errors import InputError

ALGORITHMS: dict[str, int] = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
"""Supported algorithms and the length of their hex digests."""
_BY_LENGTH = {length: algo for algo, length in ALGORITHMS.items()}
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_GNU_LINE = re.compile(r"^(\\?)([0-9a-fA-F]+) [ *](.+)$")
_BSD_LINE = re.compile(r"^([A-Za-z0-9-]+) ?\((.+)\) ?= ?([0-9a-fA-F]+)$")
READ_SIZE = 1024 * 1024

Checksum = tuple[str, str]
"""(algorithm, lowercase hex digest)."""


def normalise_algorithm(name: str) -> str:
    algo = name.strip().lower().replace("-", "")
    if algo not in ALGORITHMS:
        raise InputError(
            f"unsupported checksum algorithm {name.strip()!r} (use {', '.join(ALGORITHMS)})"
        )
    return algo


def checked(algo: str, digest: str) -> Checksum:
    """``(algo, digest)`` validated and normalised, or `InputError` saying what is wrong."""
    algo = normalise_algorithm(algo)
    digest = digest.strip().lower()
    if not _HEX.match(digest) or len(digest) != ALGORITHMS[algo]:
        raise InputError(
            f"a {algo} checksum is {ALGORITHMS[algo]} hex digits, not {digest[:140]!r}"
        )
    return algo, digest


def parse_checksum(spec: str) -> Checksum:
    """``"sha256=HEX"`` (also ``sha-256=HEX``, ``sha256:HEX``) → ``("sha256", "hex")``."""
    algo, sep, digest = spec.partition("=")
    if not sep:
        algo, sep, digest = spec.partition(":")
    if not sep:
        raise InputError(f"--checksum wants ALGO=HEX, e.g. sha256=9f86d0…, not {spec!r}")
    return checked(algo, digest)


def format_checksum(value: Checksum | None) -> str | None:
    return f"{value[0]}={value[1]}" if value else None


def parse_checksums(lines: Iterable[str], *, source: str = "checksums") -> dict[str, Checksum]:
    """A ``sha256sum``-style file (``HEX  name``) or a BSD one (``SHA256 (name) = HEX``).

    Returns file name → checksum; names are reduced to their last path component, since
    downloads are matched by their file name. The algorithm of a ``HEX  name`` line comes
    from the length of the digest.
    """
    table: dict[str, Checksum] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if bsd := _BSD_LINE.match(line.strip()):
            algo_name, name, digest = bsd.groups()
            try:
                value = checked(algo_name, digest)
            except InputError as exc:
                raise InputError(f"{source}, line {number}: {exc}") from None
        elif gnu := _GNU_LINE.match(line):
            escaped, digest, name = gnu.groups()
            if escaped:  # GNU escapes names holding a backslash or a newline
                name = name.replace("\\\\", "\0").replace("\\n", "\n").replace("\0", "\\")
            algo = _BY_LENGTH.get(len(digest))
            if algo is None:
                raise InputError(
                    f"{source}, line {number}: a digest of {len(digest)} hex digits "
                    "is none of md5, sha1, sha256, sha512"
                )
            value = (algo, digest.lower())
        else:
            raise InputError(
                f"{source}, line {number}: not a checksum line ('HEX  name' or "
                f"'SHA256 (name) = HEX'): {line[:80]!r}"
            )
        table[name.replace("\\", "/").rsplit("/", 1)[-1]] = value
    if not table:
        raise InputError(f"{source} holds no checksums")
    return table


def read_checksums(path: str) -> dict[str, Checksum]:
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as file:
            return parse_checksums(file.read().split("\n"), source=path)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def hash_file(path: Path, algo: str, limit: int | None = None) -> Any:
    """The hashlib object over the first ``limit`` bytes of ``path`` (all if None). Blocking."""
    digest = hashlib.new(algo)
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    left = limit
    with open(path, "rb", buffering=0) as file:
        while left is None or left > 0:
            want = READ_SIZE if left is None else min(READ_SIZE, left)
            got = file.readinto(view[:want])
            if not got:
                break
            digest.update(view[:got])
            if left is not None:
                left -= got
    if left:
        raise FileNotFoundError(f"{path.name} is shorter than {limit} bytes")
    return digest


def _update(digest: Any, batch: list[bytes]) -> None:
    for chunk in batch:
        digest.update(chunk)


class StreamHasher:
    """Hashes a download's bytes as they are written; a no-op until `use` names an algorithm."""

    __slots__ = ("_digest", "_pending", "algo", "fed", "valid")

    def __init__(self) -> None:
        self.algo: str | None = None
        self._digest: Any = None
        self.fed = 0
        """Bytes from the start of the file handed to the hash so far."""
        self.valid = False
        """False once the fed bytes stopped following each other: hash the file after."""
        self._pending: asyncio.Future[None] | None = None

    def use(self, algo: str | None) -> None:
        if algo != self.algo:
            self.algo = algo
            self.reset()

    def reset(self, digest: Any = None, fed: int = 0) -> None:
        """Start over (or from ``digest`` covering the first ``fed`` bytes)."""
        if digest is None and self.algo is not None:
            digest = hashlib.new(self.algo)
        self._digest = digest
        self.fed = fed
        self.valid = True

    def invalidate(self) -> None:
        self.valid = False

    async def settle(self) -> None:
        """Wait for the batch in flight (a cancellation leaves it to finish on its own)."""
        if self._pending is not None:
            import asyncio  # here: the checksum parsing serves the command line (no asyncio)

            await asyncio.shield(self._pending)
            self._pending = None

    async def feed(self, offset: int, batch: list[bytes]) -> None:
        """Hash ``batch``, about to be written at ``offset``, if it follows what was fed."""
        if self.algo is None:
            return
        await self.settle()
        if offset == 0 and (self.fed or not self.valid):
            self.reset()
        if not self.valid or offset != self.fed:
            self.valid = False
            return
        self.fed += sum(len(chunk) for chunk in batch)
        import asyncio

        loop = asyncio.get_running_loop()
        self._pending = loop.run_in_executor(None, _update, self._digest, batch)

    def hexdigest(self) -> str:
        digest: str = self._digest.hexdigest()
        return digest
