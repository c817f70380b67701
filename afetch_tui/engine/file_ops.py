"""Blocking file operations that keep data safe; the manager runs them in a thread.

A name is claimed by creating ``<name>.part`` exclusively (O_EXCL), so two downloads,
even in two processes, can never write the same ``.part``; a finished file is published
with a hard link, which fails rather than replace a file that appeared meanwhile.

``overwrite`` replaces only a plain finished file: never a ``.part`` (any download's,
in this process or another: a final name ending in ``.part`` is never put in place of
an existing file), never a name reserved by another download of this run (nor that
name's ``.part``), never a directory (that is an error, said before anything is written).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import stat
from collections.abc import Container
from pathlib import Path

from afetch_tui.engine.name_rules import PART_SUFFIX, unique_name

_EXCLUSIVE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


class Taken:
    """The names a claim must not use: a manager's live set of held names (only read here,
    from a thread: one lookup is atomic), less the claimer's own, plus those the claim
    refused on the way. Copying the held set for every claim made 100,000 downloads
    quadratic once finished downloads kept their names."""

    __slots__ = ("_held", "_own", "_refused")

    def __init__(self, held: Container[str] = (), own: str | None = None) -> None:
        self._held = held
        self._own = own
        self._refused: set[str] = set()

    def __contains__(self, name: object) -> bool:
        return name in self._refused or (name != self._own and name in self._held)

    def refuse(self, name: str) -> None:
        self._refused.add(name)


def part_of(directory: Path, name: str) -> Path:
    return directory / (name + PART_SUFFIX)


def may_replace(directory: Path, name: str, taken: Container[str]) -> bool:
    """Whether ``overwrite`` may put a finished file in place of ``directory/name``."""
    if name in taken or name.endswith(PART_SUFFIX):
        # A name like ``x.part`` may be another download's ``.part`` at any moment (one
        # created in a thread after this check): it is published with a hard link, which
        # fails rather than replaces, never with ``os.replace``.
        return False
    return not (directory / name).is_dir()


def _refuse_directory(directory: Path, name: str) -> None:
    target = directory / name
    if target.is_dir() and not target.is_symlink():
        raise IsADirectoryError(
            errno.EISDIR,
            "a directory of that name is in the way (--overwrite replaces only files)",
            str(target),
        )


def claim(
    directory: Path,
    candidate: str,
    taken: Container[str],
    *,
    overwrite: bool = False,
    data: bytes | None = None,
    fsync: bool = False,
) -> str:
    """Pick a free name like ``candidate``, create its ``.part`` (with ``data``); return it.

    The ``.part`` is always created exclusively (O_EXCL): ``overwrite`` lets a finished
    file of that name be replaced, never a ``.part`` another download is still writing.
    """
    taken = Taken(taken)
    made = False
    if overwrite:
        directory.mkdir(parents=True, exist_ok=True)
        made = True
        _refuse_directory(directory, candidate)
        overwrite = may_replace(directory, candidate, taken)
    while True:
        name = unique_name(directory, candidate, taken=taken, overwrite=overwrite)
        part = os.path.join(directory, name + PART_SUFFIX)  # str paths: ~1/3 of a claim's cost
        try:
            fd = os.open(part, _EXCLUSIVE, 0o644)
        except FileExistsError:
            taken.refuse(name)
            continue
        except FileNotFoundError:
            if made:
                raise
            directory.mkdir(parents=True, exist_ok=True)  # only when missing (rare): retry
            made = True
            continue
        try:
            try:
                _write_all(fd, data)
                if data and fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:  # a full disk: leave no empty .part to shift the next run's name
            with contextlib.suppress(OSError):
                os.unlink(part)
            raise OSError(exc.errno, exc.strerror, name) from exc
        return name


def _write_all(fd: int, data: bytes | None) -> None:
    view = memoryview(data) if data else None
    while view:
        view = view[os.write(fd, view) :]


def publish(directory: Path, name: str, taken: Container[str], overwrite: bool) -> str:
    """Rename ``name.part`` to ``name``, or to the next free name; return the name used."""
    part = os.path.join(directory, name + PART_SUFFIX)
    if overwrite and may_replace(directory, name, taken):
        os.replace(part, directory / name)
        return name
    candidate = name
    refused = Taken(taken)
    while True:
        target = os.path.join(directory, candidate)
        try:
            os.link(part, target)
        except FileExistsError:
            refused.refuse(candidate)
            candidate = unique_name(directory, name, taken=refused)
            continue
        except OSError:  # no hard links on this file system: check, then rename
            if os.path.exists(target):
                refused.refuse(candidate)
                candidate = unique_name(directory, name, taken=refused)
                continue
            os.replace(part, target)
            return candidate
        os.unlink(part)
        return candidate


def settle_publish(directory: Path, name: str) -> str | None:
    """Finish a `publish` that a crash cut short, before ``name.part`` is written again.

    Between its two steps (link, then unlink) the finished file has two names, and the
    state file may still say the download runs: writing the ``.part`` again would change
    the published file. So a ``.part`` with another link is never written: if the link is
    a file of ``directory`` (the final name, or the next free one publish fell back to),
    the ``.part`` is unlinked and that name returned: the download is complete. A
    ``.part`` linked only to a file elsewhere is unlinked too (None: the download then
    finds its ``.part`` gone and starts over). None also when there is nothing to settle.
    """
    part = part_of(directory, name)
    try:
        info = os.lstat(part)
    except FileNotFoundError:
        return None
    if info.st_nlink < 2 or not stat.S_ISREG(info.st_mode):
        return None
    published = None
    with os.scandir(directory) as entries:
        for candidate in itertools.chain([name], (entry.name for entry in entries)):
            if candidate == part.name:
                continue
            try:
                other = os.lstat(directory / candidate)
            except OSError:
                continue
            if (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino):
                published = candidate
                break
    part.unlink()
    return published


def save_whole(
    directory: Path,
    candidate: str,
    taken: Container[str],
    data: bytes,
    *,
    overwrite: bool,
    fsync: bool,
) -> str:
    """A small download in one go: claim a name, write, flush, publish; return the name."""
    name = claim(directory, candidate, taken, overwrite=overwrite, data=data, fsync=fsync)
    return publish(directory, name, taken, overwrite)


def raise_open_file_limit() -> int | None:
    """Raise the soft limit on open files to the hard one; return the soft limit now.

    Each running download holds a socket and a file (more with ``-x``): a default soft
    limit of 1024 is too few for ``-j 1500``. None where there is no such limit.
    """
    try:
        import resource
    except ImportError:  # not on this platform
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft
    with contextlib.suppress(ValueError, OSError):  # some systems cap below the hard limit
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def size_or_none(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def sync(path: Path) -> None:
    """Flush a file's bytes to the disk (fsync), through a descriptor of its own."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
