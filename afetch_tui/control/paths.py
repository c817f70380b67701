"""Where the control socket of a state file lives: the user's runtime dir, 0700, ours only."""

from __future__ import annotations

import hashlib
import os
import stat
import warnings
from pathlib import Path

import platformdirs

from afetch_tui.engine import AfetchError


class ControlError(AfetchError):
    """The control socket cannot be used: a bad runtime dir, a refused or broken peer."""


def runtime_dir() -> Path:
    """``$XDG_RUNTIME_DIR/afetch`` (platformdirs' fallback when it is unset)."""
    with warnings.catch_warnings():  # "XDG_RUNTIME_DIR is not set": the fallback is fine
        warnings.simplefilter("ignore")
        try:
            return Path(platformdirs.user_runtime_dir("afetch", appauthor=False))
        except PermissionError as exc:  # the fallback in /tmp is someone else's
            raise ControlError(str(exc)) from None


def socket_path(state: Path) -> Path:
    """The socket for one state file (resolved, so two spellings of a path share it)."""
    digest = hashlib.sha256(str(state.resolve()).encode()).hexdigest()[:16]
    return runtime_dir() / f"{digest}.sock"


def private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) if needed and check that only this user can enter it.

    A directory someone else owns, or others may enter, is refused rather than used: a
    socket there could be replaced under us.
    """
    try:
        if not path.parent.exists():  # the runtime dir itself: private too, or it is not used
            path.parent.mkdir(mode=0o700, parents=True)
        path.mkdir(mode=0o700, exist_ok=True)
        info = path.lstat()
    except OSError as exc:
        raise ControlError(f"cannot create {path}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise ControlError(f"{path} is not a directory")
    if info.st_uid != os.getuid():
        raise ControlError(f"{path} belongs to another user (uid {info.st_uid})")
    parent = path.parent.lstat()
    shared = parent.st_mode & 0o022 and not parent.st_mode & stat.S_ISVTX
    if parent.st_uid not in (0, os.getuid()) or shared:
        raise ControlError(f"{path.parent} may be changed by another user")
    if info.st_mode & 0o077:
        try:
            os.chmod(path, 0o700)
        except OSError as exc:
            raise ControlError(f"cannot make {path} private: {exc.strerror or exc}") from None
    return path
